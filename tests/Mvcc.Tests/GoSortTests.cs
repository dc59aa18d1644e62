using Etcdserverpb;
using static Cairn.Mvcc.Tests.TestUtil;
using SortOrder = Etcdserverpb.RangeRequest.Types.SortOrder;
using SortTarget = Etcdserverpb.RangeRequest.Types.SortTarget;

namespace Cairn.Mvcc.Tests;

/// <summary>
/// The order of sort ties in Range, pinned to what the real etcd 3.4.23 (built with go1.19.8, so
/// sorting with Go's pdqsort) answered for the same writes. Expected orders list the key suffixes;
/// they were taken with <c>etcdctl get --prefix P --keys-only --sort-by=T [--order=DESCEND] [--limit=N]</c>
/// (the order-NONE case through the JSON gateway, as etcdctl always sends an order with --sort-by).
/// </summary>
public sealed class GoSortTests
{
    /// <summary>a/01..a/20 in one txn, values cycling b, a, c: 20 results, 3 values, every mod and create equal.</summary>
    private static KvStore Cycle20()
    {
        var s = new KvStore();
        s.Txn(Puts(Enumerable.Range(1, 20).Select(i => ($"a/{i:00}", "bac"[(i - 1) % 3].ToString()))));
        return s;
    }

    /// <summary>b/00..b/59 (the ninther path: 50 or more), value (7i mod 3), written ten keys per txn.</summary>
    private static KvStore Sixty()
    {
        var s = new KvStore();
        for (int g = 0; g < 6; g++)
        {
            s.Txn(Puts(Enumerable.Range(g * 10, 10).Select(i => ($"b/{i:00}", (i * 7 % 3).ToString()))));
        }
        return s;
    }

    /// <summary>
    /// d/000..d/199, value (i² + 3i) mod 5, fifty keys per txn; then every seventh key rewritten with
    /// "9" in one more txn (versions 1 and 2, mod revisions in five groups).
    /// </summary>
    private static KvStore TwoHundred()
    {
        var s = new KvStore();
        for (int g = 0; g < 4; g++)
        {
            s.Txn(Puts(Enumerable.Range(g * 50, 50).Select(i => ($"d/{i:000}", ((i * i + 3 * i) % 5).ToString()))));
        }
        s.Txn(Puts(Enumerable.Range(0, 200).Where(i => i % 7 == 0).Select(i => ($"d/{i:000}", "9"))));
        return s;
    }

    [Theory]
    [InlineData(SortTarget.Value, SortOrder.Ascend, 0, "08 02 20 17 05 14 11 16 10 07 13 01 04 19 09 12 06 15 18 03")]
    [InlineData(SortTarget.Value, SortOrder.Descend, 0, "09 18 03 15 12 06 16 04 07 10 19 01 13 14 08 05 17 02 11 20")]
    // All equal: pdqsort sees an already sorted range and leaves it alone.
    [InlineData(SortTarget.Mod, SortOrder.Ascend, 0, "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20")]
    [InlineData(SortTarget.Create, SortOrder.Descend, 0, "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20")]
    [InlineData(SortTarget.Version, SortOrder.Ascend, 5, "01 02 03 04 05")]
    public void TwentyKeysThreeValues(SortTarget target, SortOrder order, long limit, string expected) =>
        Assert.Equal(expected, Sorted(Cycle20(), "a/", target, order, limit));

    [Theory]
    [InlineData(SortTarget.Value, SortOrder.Ascend, 0,
        "21 57 54 03 51 48 06 45 42 09 39 36 12 33 00 15 30 27 18 24 31 10 22 58 19 25 01 55 28 52 16 04 49 13 34 46 07 37 43 40 " +
        "50 26 08 38 44 11 35 20 59 41 47 14 29 53 02 17 56 32 23 05")]
    [InlineData(SortTarget.Value, SortOrder.Descend, 0,
        "20 59 02 56 53 05 50 47 08 44 41 11 38 35 14 32 29 17 26 23 31 40 22 19 01 25 58 55 28 16 04 52 49 07 34 13 46 37 43 10 " +
        "39 15 42 12 09 45 36 33 48 21 06 51 00 30 54 27 03 57 18 24")]
    [InlineData(SortTarget.Mod, SortOrder.Ascend, 0,
        "00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 " +
        "40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59")]
    // The limit applies after sorting everything (etcd fetches all when an order is given).
    [InlineData(SortTarget.Mod, SortOrder.Descend, 7, "50 53 58 57 56 55 54")]
    public void SixtyKeysNintherPivot(SortTarget target, SortOrder order, long limit, string expected) =>
        Assert.Equal(expected, Sorted(Sixty(), "b/", target, order, limit));

    [Theory]
    [InlineData(SortOrder.Ascend)]
    [InlineData(SortOrder.Descend)]
    public void HundredEqualValuesKeepKeyOrder(SortOrder order)
    {
        var s = new KvStore();
        s.Txn(Puts(Enumerable.Range(0, 100).Select(i => ($"c/{i:000}", "x"))));
        string expected = string.Join(" ", Enumerable.Range(0, 100).Select(i => i.ToString("000")));
        Assert.Equal(expected, Sorted(s, "c/", SortTarget.Value, order, 0));
    }

    [Theory]
    [InlineData(SortTarget.Value, SortOrder.Ascend,
        "072 197 002 195 192 005 190 187 185 180 010 177 012 172 170 015 167 017 165 162 020 160 022 157 155 025 152 027 150 145 " +
        "030 142 032 137 135 132 130 037 127 125 040 122 120 117 115 045 110 047 107 102 050 100 052 097 095 055 092 057 090 087 " +
        "060 085 062 082 080 065 075 067 149 103 199 198 068 073 074 003 194 193 078 079 064 004 188 083 008 184 183 059 088 089 " +
        "058 009 179 093 094 054 178 053 174 099 173 069 013 033 104 169 018 048 108 109 164 163 019 113 114 044 159 043 118 158 " +
        "023 024 153 123 124 039 148 038 128 129 029 144 143 139 134 034 138 101 061 071 001 141 031 066 131 036 146 076 081 191 " +
        "006 151 026 041 186 121 156 136 086 116 181 096 011 111 046 106 166 016 176 051 171 014 049 105 098 175 168 112 161 056 " +
        "091 021 182 119 042 084 154 007 063 189 028 000 126 077 147 035 196 140 133 070")]
    [InlineData(SortTarget.Version, SortOrder.Descend,
        "042 007 014 021 028 035 196 189 182 175 168 161 154 147 140 133 126 119 112 105 000 098 091 084 077 070 063 056 049 100 " +
        "114 030 031 032 033 034 036 037 038 039 040 041 027 043 044 045 046 047 048 026 050 051 052 053 054 055 025 057 058 059 " +
        "060 061 062 024 064 065 066 067 068 069 023 071 072 073 074 075 076 022 078 079 080 081 082 083 020 085 086 087 088 089 " +
        "090 019 092 093 094 095 096 097 018 099 017 101 102 103 104 016 106 107 108 109 110 111 015 113 029 115 116 117 118 013 " +
        "120 121 122 123 124 125 012 127 128 129 130 131 132 011 134 135 136 137 138 139 010 141 142 143 144 145 146 009 148 149 " +
        "150 151 152 153 008 155 156 157 158 159 160 006 162 163 164 165 166 167 005 169 170 171 172 173 174 004 176 177 178 179 " +
        "180 181 003 183 184 185 186 187 188 002 190 191 192 193 194 195 001 197 198 199")]
    [InlineData(SortTarget.Mod, SortOrder.Ascend,
        "043 027 002 003 004 005 006 048 008 009 010 011 012 013 047 015 016 017 018 019 020 046 022 023 024 025 026 044 045 029 " +
        "001 031 032 033 034 030 036 037 038 039 040 041 093 085 062 053 096 097 099 092 050 061 052 089 054 055 090 064 058 059 " +
        "060 051 083 095 057 065 066 067 068 069 088 071 072 073 074 075 076 087 078 079 080 081 082 094 086 100 142 149 148 146 " +
        "145 144 143 141 139 138 137 136 135 134 132 101 102 103 104 131 106 107 108 109 110 111 130 113 114 115 116 117 118 129 " +
        "120 121 122 123 124 125 128 127 183 178 199 198 162 163 197 195 194 193 192 191 190 188 187 186 185 184 181 180 179 171 " +
        "150 151 152 153 177 155 156 157 158 159 160 176 164 174 173 165 166 167 172 169 170 063 168 000 133 175 161 154 077 070 " +
        "147 119 182 126 056 091 049 084 042 189 140 035 028 021 014 098 196 007 105 112")]
    [InlineData(SortTarget.Create, SortOrder.Descend,
        "150 199 198 197 196 195 194 193 192 191 190 189 188 187 186 185 184 183 182 181 180 179 178 177 176 175 174 173 172 171 " +
        "170 169 168 167 166 165 164 163 162 161 160 159 158 157 156 155 154 153 152 151 101 100 149 148 147 146 145 144 143 142 " +
        "141 140 139 138 137 136 135 134 133 132 131 130 129 128 127 126 125 124 123 122 121 120 119 118 117 116 115 114 113 112 " +
        "111 110 109 108 107 106 105 104 103 102 088 052 099 098 097 096 095 094 093 092 091 090 089 051 087 086 085 084 083 082 " +
        "081 080 079 078 077 076 075 074 073 072 071 070 069 068 067 066 065 064 063 062 061 060 059 058 057 056 055 054 053 050 " +
        "026 046 000 047 025 045 044 043 042 041 040 039 038 037 036 024 034 033 032 031 030 029 028 027 048 049 035 023 022 021 " +
        "020 019 018 017 016 015 014 013 012 011 010 009 008 007 006 005 004 003 002 001")]
    public void TwoHundredKeysEveryTarget(SortTarget target, SortOrder order, string expected) =>
        Assert.Equal(expected, Sorted(TwoHundred(), "d/", target, order, 0));

    [Fact]
    public void OrderNoneWithATargetSortsOnlyTheFirstLimitPlusOne()
    {
        // e/00..e/29 in one txn, values cycling b, a, c. Order NONE with target VALUE and limit 20:
        // etcd fetches 21 keys in key order, sorts those ascending, then cuts to 20.
        var s = new KvStore();
        s.Txn(Puts(Enumerable.Range(0, 30).Select(i => ($"e/{i:00}", "bac"[i % 3].ToString()))));
        Assert.Equal("07 01 19 16 04 13 10 15 00 09 06 18 12 03 14 08 05 17 11 02", Sorted(s, "e/", SortTarget.Value, SortOrder.None, 20));
        // With an explicit order all 30 are sorted first.
        Assert.Equal("10 01 28 25 04 22 19 07 16 13 21 06 12 09 27 15 03 24 18 00", Sorted(s, "e/", SortTarget.Value, SortOrder.Ascend, 20));
    }

    [Fact]
    public void SortsLikeArraySortWhenThereAreNoTies()
    {
        var random = new Random(7);
        foreach (int n in new[] { 0, 1, 2, 12, 13, 49, 50, 51, 200, 1000, 5000 })
        {
            var data = Enumerable.Range(0, n).Select(_ => random.Next()).Distinct().ToArray();
            var expected = (int[])data.Clone();
            Array.Sort(expected);
            GoSort.Sort(data.AsSpan(), Comparer<int>.Default);
            Assert.Equal(expected, data);
        }
    }

    [Fact]
    public void SortsPatternedInputsAndKeepsEveryElement()
    {
        // Sorted, reversed, organ-pipe, sawtooth and few-valued inputs drive the pattern paths
        // (reverse hint, partial insertion sort, breakPatterns, partitionEqual).
        foreach (int n in new[] { 13, 64, 257, 3000 })
        {
            var inputs = new[]
            {
                Enumerable.Range(0, n).ToArray(),
                Enumerable.Range(0, n).Reverse().ToArray(),
                Enumerable.Range(0, n).Select(i => Math.Min(i, n - i)).ToArray(),
                Enumerable.Range(0, n).Select(i => i % 17).ToArray(),
                Enumerable.Range(0, n).Select(i => i * 31 % 3).ToArray(),
            };
            foreach (var input in inputs)
            {
                // Pair each value with its index so that the result must be a permutation of the input.
                var data = input.Select((v, i) => (Value: v, Index: i)).ToArray();
                GoSort.Sort(data.AsSpan(), Comparer<(int Value, int Index)>.Create((x, y) => x.Value.CompareTo(y.Value)));
                Assert.Equal(input.OrderBy(v => v), data.Select(d => d.Value));
                Assert.Equal(Enumerable.Range(0, n), data.Select(d => d.Index).Order());
            }
        }
    }

    [Fact]
    public void SortingDoesNotAllocate()
    {
        var data = Enumerable.Range(0, 4096).Select(i => i * 7919 % 101).ToArray();
        GoSort.Sort(((int[])data.Clone()).AsSpan(), new IntOrder()); // JIT first
        long before = GC.GetAllocatedBytesForCurrentThread();
        GoSort.Sort(data.AsSpan(), new IntOrder());
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private readonly struct IntOrder : IComparer<int>
    {
        public int Compare(int x, int y) => x.CompareTo(y);
    }

    private static TxnRequest Puts(IEnumerable<(string Key, string Value)> puts)
    {
        var t = new TxnRequest();
        t.Success.AddRange(puts.Select(p => Op(PutReq(p.Key, p.Value))));
        return t;
    }

    /// <summary>The key suffixes (after <paramref name="prefix"/>) of a sorted, keys-only range over the prefix.</summary>
    private static string Sorted(KvStore s, string prefix, SortTarget target, SortOrder order, long limit)
    {
        string end = prefix[..^1] + (char)(prefix[^1] + 1);
        var r = s.Range(new RangeRequest { Key = B(prefix), RangeEnd = B(end), SortTarget = target, SortOrder = order, Limit = limit, KeysOnly = true });
        return string.Join(" ", r.Kvs.Select(kv => S(kv.Key)[prefix.Length..]));
    }
}
