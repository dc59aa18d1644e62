namespace Cairn.Mvcc;

/// <summary>
/// Go 1.19's <c>sort.Sort</c> (pattern-defeating quicksort), reimplemented step for step so that
/// the order it leaves equal elements in is the same as Go's. etcd sorts Range results with
/// <c>sort.Sort</c>, which is not stable: among more than 12 results, ties come out in an order
/// that only this exact algorithm reproduces. The Debian etcd 3.4.23 that Cairn is checked against
/// was built with go1.19.8 (<c>etcd --version</c>); Go before 1.19 used a different quicksort, and
/// later Go changed the pattern-breaking random generator, so this is the 1.19 variant.
/// </summary>
/// <remarks>
/// Works in place on a span with a struct comparer (no allocation, no boxing). Only
/// <c>Compare(x, y) &lt; 0</c> is used: it plays the part of Go's <c>Less</c>. Every comparison and
/// swap happens in the same sequence as in Go, which is what makes the permutation of ties equal;
/// a "simplification" that keeps the result sorted but moves equal elements differently breaks the
/// etcd differential tests. Recursion goes into the smaller side only, so the depth is at most
/// log2(n), and the fallback to heapsort bounds the work by O(n log n).
/// </remarks>
public static class GoSort
{
    // Below this length pdqsort insertion-sorts (stable), which is why short results keep key order.
    private const int MaxInsertion = 12;

    // choosePivot: from this length on, the pivot is Tukey's ninther instead of a median of three.
    private const int ShortestNinther = 50;

    // choosePivot: median-of-three on three medians-of-three makes at most 12 swaps; all 12 means
    // the range looked strictly decreasing.
    private const int MaxSwaps = 4 * 3;

    // partialInsertionSort: how many out-of-order adjacent pairs it fixes before giving up, and
    // the length under which it does not fix any.
    private const int MaxSteps = 5;
    private const int ShortestShifting = 50;

    private enum SortedHint
    {
        Unknown,
        Increasing,
        Decreasing,
    }

    /// <summary>
    /// Sorts <paramref name="data"/> as Go 1.19's <c>sort.Sort</c> does with <c>Less(i, j)</c> being
    /// <c>comparer.Compare(data[i], data[j]) &lt; 0</c>. For Go's <c>sort.Reverse</c>, pass a comparer
    /// whose Compare swaps its arguments.
    /// </summary>
    public static void Sort<T, TComparer>(Span<T> data, TComparer comparer)
        where TComparer : IComparer<T>
    {
        int n = data.Length;
        if (n <= 1)
        {
            return;
        }
        // Number of bad pivots allowed before heapsort: bits.Len(n).
        int limit = 32 - int.LeadingZeroCount(n);
        PdqSort(data, comparer, 0, n, limit);
    }

    private static bool Less<T, TComparer>(Span<T> data, TComparer comparer, int i, int j)
        where TComparer : IComparer<T> =>
        comparer.Compare(data[i], data[j]) < 0;

    private static void Swap<T>(Span<T> data, int i, int j) => (data[i], data[j]) = (data[j], data[i]);

    private static void InsertionSort<T, TComparer>(Span<T> data, TComparer cmp, int a, int b)
        where TComparer : IComparer<T>
    {
        for (int i = a + 1; i < b; i++)
        {
            for (int j = i; j > a && Less(data, cmp, j, j - 1); j--)
            {
                Swap(data, j, j - 1);
            }
        }
    }

    /// <summary>Restores the max-heap property below <paramref name="lo"/> in the heap data[first..first+hi).</summary>
    private static void SiftDown<T, TComparer>(Span<T> data, TComparer cmp, int lo, int hi, int first)
        where TComparer : IComparer<T>
    {
        int root = lo;
        while (true)
        {
            int child = 2 * root + 1;
            if (child >= hi)
            {
                return;
            }
            if (child + 1 < hi && Less(data, cmp, first + child, first + child + 1))
            {
                child++;
            }
            if (!Less(data, cmp, first + root, first + child))
            {
                return;
            }
            Swap(data, first + root, first + child);
            root = child;
        }
    }

    private static void HeapSort<T, TComparer>(Span<T> data, TComparer cmp, int a, int b)
        where TComparer : IComparer<T>
    {
        int first = a;
        int hi = b - a;
        for (int i = (hi - 1) / 2; i >= 0; i--)
        {
            SiftDown(data, cmp, i, hi, first);
        }
        for (int i = hi - 1; i >= 0; i--)
        {
            Swap(data, first, first + i);
            SiftDown(data, cmp, 0, i, first);
        }
    }

    /// <summary>Sorts data[a..b); <paramref name="limit"/> counts the unbalanced partitions still allowed.</summary>
    private static void PdqSort<T, TComparer>(Span<T> data, TComparer cmp, int a, int b, int limit)
        where TComparer : IComparer<T>
    {
        bool wasBalanced = true;
        bool wasPartitioned = true;
        while (true)
        {
            int length = b - a;
            if (length <= MaxInsertion)
            {
                InsertionSort(data, cmp, a, b);
                return;
            }
            if (limit == 0)
            {
                HeapSort(data, cmp, a, b);
                return;
            }
            if (!wasBalanced)
            {
                BreakPatterns(data, a, b);
                limit--;
            }

            var (pivot, hint) = ChoosePivot(data, cmp, a, b);
            if (hint == SortedHint.Decreasing)
            {
                ReverseRange(data, a, b);
                // The pivot was pivot-a after the start; after reversing it is as far before the end.
                pivot = (b - 1) - (pivot - a);
                hint = SortedHint.Increasing;
            }

            if (wasBalanced && wasPartitioned && hint == SortedHint.Increasing && PartialInsertionSort(data, cmp, a, b))
            {
                return;
            }

            // data[a-1] is the pivot of an earlier partition and nothing here is below it; if the
            // new pivot equals it, take all the elements equal to it off the front in one pass.
            if (a > 0 && !Less(data, cmp, a - 1, pivot))
            {
                a = PartitionEqual(data, cmp, a, b, pivot);
                continue;
            }

            var (mid, alreadyPartitioned) = Partition(data, cmp, a, b, pivot);
            wasPartitioned = alreadyPartitioned;

            int leftLen = mid - a;
            int rightLen = b - mid;
            int balanceThreshold = length / 8;
            if (leftLen < rightLen)
            {
                wasBalanced = leftLen >= balanceThreshold;
                PdqSort(data, cmp, a, mid, limit);
                a = mid + 1;
            }
            else
            {
                wasBalanced = rightLen >= balanceThreshold;
                PdqSort(data, cmp, mid + 1, b, limit);
                b = mid;
            }
        }
    }

    /// <summary>
    /// One quicksort partition around data[pivot]: afterwards everything before the returned index
    /// is less than the pivot and everything after is not. Also says whether nothing had to move.
    /// </summary>
    private static (int NewPivot, bool AlreadyPartitioned) Partition<T, TComparer>(Span<T> data, TComparer cmp, int a, int b, int pivot)
        where TComparer : IComparer<T>
    {
        Swap(data, a, pivot);
        int i = a + 1;
        int j = b - 1;
        // Go writes the first round out before its loop to learn whether it swapped anything;
        // the same comparisons and swaps happen here with a flag instead.
        bool alreadyPartitioned = true;
        while (true)
        {
            while (i <= j && Less(data, cmp, i, a))
            {
                i++;
            }
            while (i <= j && !Less(data, cmp, j, a))
            {
                j--;
            }
            if (i > j)
            {
                Swap(data, j, a);
                return (j, alreadyPartitioned);
            }
            Swap(data, i, j);
            i++;
            j--;
            alreadyPartitioned = false;
        }
    }

    /// <summary>
    /// Splits data[a..b), which holds nothing less than data[pivot], into the elements equal to the
    /// pivot followed by the greater ones; returns where the greater ones start.
    /// </summary>
    private static int PartitionEqual<T, TComparer>(Span<T> data, TComparer cmp, int a, int b, int pivot)
        where TComparer : IComparer<T>
    {
        Swap(data, a, pivot);
        int i = a + 1;
        int j = b - 1;
        while (true)
        {
            while (i <= j && !Less(data, cmp, a, i))
            {
                i++;
            }
            while (i <= j && Less(data, cmp, a, j))
            {
                j--;
            }
            if (i > j)
            {
                break;
            }
            Swap(data, i, j);
            i++;
            j--;
        }
        return i;
    }

    /// <summary>
    /// Fixes up to <see cref="MaxSteps"/> out-of-order neighbours of an almost sorted range; true when
    /// the range ends up sorted.
    /// </summary>
    private static bool PartialInsertionSort<T, TComparer>(Span<T> data, TComparer cmp, int a, int b)
        where TComparer : IComparer<T>
    {
        int i = a + 1;
        for (int step = 0; step < MaxSteps; step++)
        {
            while (i < b && !Less(data, cmp, i, i - 1))
            {
                i++;
            }
            if (i == b)
            {
                return true;
            }
            if (b - a < ShortestShifting)
            {
                return false;
            }
            Swap(data, i, i - 1);

            // Shift the smaller one to the left. Go's loop runs down to index 1, not a+1; it stops
            // at a anyway (data[a-1] is never greater), but the bound is kept as Go has it.
            if (i - a >= 2)
            {
                for (int j = i - 1; j >= 1; j--)
                {
                    if (!Less(data, cmp, j, j - 1))
                    {
                        break;
                    }
                    Swap(data, j, j - 1);
                }
            }
            // Shift the greater one to the right.
            if (b - i >= 2)
            {
                for (int j = i + 1; j < b; j++)
                {
                    if (!Less(data, cmp, j, j - 1))
                    {
                        break;
                    }
                    Swap(data, j, j - 1);
                }
            }
        }
        return false;
    }

    /// <summary>
    /// Swaps three elements around the middle with pseudo-random others, after an unbalanced
    /// partition. The generator is Go 1.19's xorshift (shifts 13, 17, 5 on 64 bits) seeded with the
    /// range length, so the "random" swaps are the same on every run and in every process.
    /// </summary>
    private static void BreakPatterns<T>(Span<T> data, int a, int b)
    {
        int length = b - a;
        if (length < 8)
        {
            return;
        }
        ulong random = (ulong)length;
        // nextPowerOfTwo(length) = 1 << bits.Len(length): always above length.
        ulong modulus = 1UL << (32 - int.LeadingZeroCount(length));
        int middle = a + (length / 4) * 2;
        for (int idx = middle - 1; idx <= middle + 1; idx++)
        {
            random ^= random << 13;
            random ^= random >> 17;
            random ^= random << 5;
            int other = (int)(random & (modulus - 1));
            if (other >= length)
            {
                other -= length;
            }
            Swap(data, idx, a + other);
        }
    }

    /// <summary>
    /// Picks the pivot of data[a..b): the element at a quarter-way point for short ranges, the
    /// median of three quarter points from 8 elements, and Tukey's ninther (median of the medians
    /// of each quarter point and its neighbours) from 50. The number of swaps the medians needed
    /// hints whether the range looks sorted (none) or reversed (all).
    /// </summary>
    private static (int Pivot, SortedHint Hint) ChoosePivot<T, TComparer>(Span<T> data, TComparer cmp, int a, int b)
        where TComparer : IComparer<T>
    {
        int l = b - a;
        int swaps = 0;
        int i = a + l / 4 * 1;
        int j = a + l / 4 * 2;
        int k = a + l / 4 * 3;
        if (l >= 8)
        {
            if (l >= ShortestNinther)
            {
                i = Median(data, cmp, i - 1, i, i + 1, ref swaps);
                j = Median(data, cmp, j - 1, j, j + 1, ref swaps);
                k = Median(data, cmp, k - 1, k, k + 1, ref swaps);
            }
            j = Median(data, cmp, i, j, k, ref swaps);
        }
        return swaps switch
        {
            0 => (j, SortedHint.Increasing),
            MaxSwaps => (j, SortedHint.Decreasing),
            _ => (j, SortedHint.Unknown),
        };
    }

    /// <summary>The index among a, b, c whose element is the median; counts the reorderings it needed.</summary>
    private static int Median<T, TComparer>(Span<T> data, TComparer cmp, int a, int b, int c, ref int swaps)
        where TComparer : IComparer<T>
    {
        (a, b) = Order2(data, cmp, a, b, ref swaps);
        (b, c) = Order2(data, cmp, b, c, ref swaps);
        (_, b) = Order2(data, cmp, a, b, ref swaps);
        return b;
    }

    /// <summary>(x, y) = (a, b) or (b, a) such that data[x] &lt;= data[y]; compares only, never moves.</summary>
    private static (int, int) Order2<T, TComparer>(Span<T> data, TComparer cmp, int a, int b, ref int swaps)
        where TComparer : IComparer<T>
    {
        if (Less(data, cmp, b, a))
        {
            swaps++;
            return (b, a);
        }
        return (a, b);
    }

    private static void ReverseRange<T>(Span<T> data, int a, int b)
    {
        int i = a;
        int j = b - 1;
        while (i < j)
        {
            Swap(data, i, j);
            i++;
            j--;
        }
    }
}
