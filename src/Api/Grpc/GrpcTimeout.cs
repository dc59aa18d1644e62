using System.Globalization;

namespace Cairn.Grpc;

/// <summary>
/// The <c>grpc-timeout</c> header: at most 8 ASCII digits followed by a unit
/// (H hours, M minutes, S seconds, m milliseconds, u microseconds, n nanoseconds).
/// </summary>
public static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    /// <summary>Parses a header value; false for anything the spec does not allow.</summary>
    public static bool TryParse(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9)
        {
            return false;
        }
        var digits = value.AsSpan(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long ticks;
        switch (value[^1])
        {
            case 'H': ticks = amount * TimeSpan.TicksPerHour; break;
            case 'M': ticks = amount * TimeSpan.TicksPerMinute; break;
            case 'S': ticks = amount * TimeSpan.TicksPerSecond; break;
            case 'm': ticks = amount * TimeSpan.TicksPerMillisecond; break;
            case 'u': ticks = amount * (TimeSpan.TicksPerMillisecond / 1000); break;
            // A tick is 100 ns: round up so a tiny timeout never becomes "no time at all" by accident.
            case 'n': ticks = (amount + 99) / 100; break;
            default: return false;
        }
        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>
    /// Encodes a timeout in the finest unit whose value fits in 8 digits (as grpc-go does), rounding
    /// up so the server never sees a shorter deadline than the caller asked for.
    /// </summary>
    public static string Format(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return "0n";
        }
        var ticks = timeout.Ticks;
        // (unit ticks, suffix) from finest to coarsest; nanoseconds are 1/100 tick.
        if (ticks <= MaxValue / 100)
        {
            return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        }
        ReadOnlySpan<long> units = [TimeSpan.TicksPerMillisecond / 1000, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute, TimeSpan.TicksPerHour];
        ReadOnlySpan<char> suffixes = ['u', 'm', 'S', 'M', 'H'];
        for (var i = 0; i < units.Length; i++)
        {
            var amount = (ticks + units[i] - 1) / units[i];
            if (amount <= MaxValue)
            {
                return amount.ToString(CultureInfo.InvariantCulture) + suffixes[i];
            }
        }
        return MaxValue.ToString(CultureInfo.InvariantCulture) + "H";
    }
}
