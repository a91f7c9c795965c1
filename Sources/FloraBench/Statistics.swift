// Order statistics for benchmark figures: medians over repeats, latency percentiles.

public enum Statistics {
    /// The `q`-th percentile (0…100) with linear interpolation between the closest ranks
    /// (NumPy's default): sorted `v`, position `h = (n − 1)·q/100`, result
    /// `v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋ + 1] − v[⌊h⌋])`. NaN for an empty array.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        percentile(sorted: values.sorted(), q)
    }

    /// `percentile` of an array already sorted ascending.
    public static func percentile(sorted v: [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return .nan }
        let h = Double(v.count - 1) * min(100, max(0, q)) / 100
        let low = Int(h.rounded(.down))
        let high = min(low + 1, v.count - 1)
        return v[low] + (h - Double(low)) * (v[high] - v[low])
    }

    /// The 50th percentile: the middle value, or the mean of the two middle values.
    public static func median(_ values: [Double]) -> Double { percentile(values, 50) }

    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }
}

/// p50, p90 and p99 of a sample.
public struct Percentiles: Sendable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p99: Double

    public init(p50: Double, p90: Double, p99: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
    }

    public init(of values: [Double]) {
        let sorted = values.sorted()
        self.init(
            p50: Statistics.percentile(sorted: sorted, 50), p90: Statistics.percentile(sorted: sorted, 90),
            p99: Statistics.percentile(sorted: sorted, 99))
    }

    /// Each percentile's median over repeats.
    public static func median(of repeats: [Percentiles]) -> Percentiles {
        Percentiles(
            p50: Statistics.median(repeats.map(\.p50)), p90: Statistics.median(repeats.map(\.p90)),
            p99: Statistics.median(repeats.map(\.p99)))
    }
}
