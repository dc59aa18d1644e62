using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cairn.Raft.Storage;

/// <summary>
/// The few file-system calls .NET does not expose: <c>fdatasync</c>, <c>fallocate</c> and fsync of a
/// directory. Each falls back to the portable equivalent where the call is missing (non-Linux), so
/// the storage code stays correct everywhere and is only faster on Linux.
/// </summary>
/// <remarks>
/// Why <c>fdatasync</c>: <see cref="RandomAccess.FlushToDisk"/> and <c>FileStream.Flush(true)</c>
/// call <c>fsync</c>, which also forces out inode metadata such as mtime. On a preallocated segment
/// nothing but data changes between syncs, and <c>fdatasync</c> may skip the metadata (the file size
/// is still flushed when it grew, so it stays correct without preallocation).
/// </remarks>
internal static partial class NativeFile
{
    private static readonly bool IsLinux = OperatingSystem.IsLinux();

    /// <summary>Forces the file's data (and size, if it changed) to stable storage.</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        if (IsLinux)
        {
            bool added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                int rc;
                do { rc = fdatasync((int)handle.DangerousGetHandle()); }
                while (rc != 0 && Marshal.GetLastPInvokeError() == EINTR);
                if (rc != 0) throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
            return;
        }
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>
    /// Reserves blocks for <c>[0, length)</c> and sets the file size to at least <paramref name="length"/>,
    /// so appends inside the range never allocate. Returns false where unsupported (caller decides).
    /// </summary>
    public static bool TryAllocate(SafeFileHandle handle, long length)
    {
        if (!IsLinux) return false;
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            int rc;
            do { rc = fallocate((int)handle.DangerousGetHandle(), 0, 0, length); }
            while (rc != 0 && Marshal.GetLastPInvokeError() == EINTR);
            return rc == 0;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Makes a create, rename or unlink inside <paramref name="directory"/> durable. Without it a crash
    /// can lose a freshly renamed file even though its contents were fsynced.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return; // NTFS journals directory entries; no handle API for it.
        // O_RDONLY opens a directory; O_DIRECTORY is left out because its value differs per architecture.
        int fd = open(directory, O_RDONLY | (IsLinux ? O_CLOEXEC_LINUX : 0));
        if (fd < 0) throw new IOException($"open({directory}) for fsync failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            int rc;
            do { rc = fsync(fd); }
            while (rc != 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (rc != 0) throw new IOException($"fsync({directory}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            _ = close(fd);
        }
    }

    private const int EINTR = 4;
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC_LINUX = 0x80000; // same on x64 and arm64

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
