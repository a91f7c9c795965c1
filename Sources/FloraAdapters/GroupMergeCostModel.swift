// When fLoRA's per-group merge pays (DESIGN.md section 1, "fLoRA per-group merge"): a group of
// T tokens of one rank-r adapter costs T·r rows of the row expansion, or one merge of the weight
// (about r rows of work plus one pass that dequantizes and writes W') and T rows of the fp32
// product with the merged weight. The constants are measured on the weight itself, the first
// time the bank meets each module (`GroupMergeCosts.measure`), because the balance depends on
// what no constant committed to the repository knows: the weight's format, whether its products
// run the int8 kernels, the shape's cache behaviour, and the CPU.
//
// A merged weight kept from step to step (MergedWeightCache.swift) costs no merge, but each step
// still reads all of W' for its few rows, from memory rather than cache when many are kept: that
// pass is measured on panels far larger than the last-level cache.

import FloraTensor
import Foundation

/// How the adapter bank treats groups of tokens that share one fLoRA adapter.
public enum GroupMergePolicy: String, Sendable, CaseIterable {
    /// Merge when the measured costs say it pays (and the group has at least two tokens).
    case measured
    /// Always the row expansion (the path before the merge existed; benchmarks compare against it).
    case never
    /// Merge every group of at least two tokens (tests).
    case always

    /// `.measured`, unless the environment variable `FLORA_GROUP_MERGE` says `never` or `always`.
    public static var processDefault: GroupMergePolicy {
        guard let value = getenv("FLORA_GROUP_MERGE") else { return .measured }
        return GroupMergePolicy(rawValue: String(cString: value).lowercased()) ?? .measured
    }
}

/// Measured costs of one weight's two paths, in seconds.
public struct GroupMergeCosts: Sendable, Equatable {
    /// One row of the row-expansion product with the weight as it is stored (int8, quantized or fp32).
    public var expandedRow: Double
    /// One row of the fp32 product with the merged panels.
    public var mergedRow: Double
    /// One product of a single row with merged panels that are not in any cache: what a kept W'
    /// costs a step beyond its rows.
    public var mergedPass: Double
    /// Forming the merged panels: the part that does not depend on the rank (dequantize, write).
    public var mergeFixed: Double
    /// Forming the merged panels: each unit of rank (one rank-1 update of all n·k weights).
    public var mergePerRank: Double

    public init(expandedRow: Double, mergedRow: Double, mergeFixed: Double, mergePerRank: Double, mergedPass: Double = 0) {
        self.expandedRow = expandedRow
        self.mergedRow = mergedRow
        self.mergedPass = mergedPass
        self.mergeFixed = mergeFixed
        self.mergePerRank = mergePerRank
    }

    /// Whether a group of `tokens` tokens of a rank-`rank` adapter is cheaper merged:
    /// `T·r·expandedRow > mergeFixed + r·mergePerRank + T·mergedRow`. A single token never is:
    /// forming W' alone costs the r rank-1 updates that its r expanded rows would.
    public func prefersMerge(tokens: Int, rank: Int) -> Bool {
        guard tokens >= 2, rank >= 2 else { return false }
        let expansion = Double(tokens * rank) * expandedRow
        let merged = mergeFixed + Double(rank) * mergePerRank + Double(tokens) * mergedRow
        return expansion > merged
    }

    /// Whether a group of `tokens` tokens of a rank-`rank` adapter whose W' is already formed is
    /// cheaper through it than expanded: `T·r·expandedRow > passContention·mergedPass + T·mergedRow`.
    /// For a decoding sequence (T = 1) this says whether keeping its W' pays from the next step on.
    public func prefersKept(tokens: Int, rank: Int) -> Bool {
        guard tokens >= 1, rank >= 2 else { return false }
        return Double(tokens * rank) * expandedRow > Self.passContention * mergedPass + Double(tokens) * mergedRow
    }

    /// What a pass over a kept W' costs in a serving step, in calibration passes. The calibration
    /// streams one weight at a time on an idle machine; a decode step streams every sequence's
    /// kept weights, each a product too small to keep both cores busy, and forms and first
    /// touches the weights of sequences that just arrived. Measured with `flora bench latency
    /// --rate 8` on SmolLM2 (docs/benchmarks.md): at rank 16, where the bare figure kept q's W'
    /// (16 rows, 100 µs, against a 58 µs pass), keeping lost to the expansion (1.65× against 1.45×
    /// the base model's seconds per token); at rank 64 it won (2.50× against 3.48×).
    static let passContention = 2.0

    /// Rows of the calibration products: a prefill chunk's worth, so that per-row costs are
    /// those of the large groups the merge is for.
    static let calibrationRows = 64
    /// Ranks of the two calibration merges, whose difference gives the per-rank cost.
    static let calibrationRanks = (low: 4, high: 32)

    /// Bytes of merged panels the single-row pass streams through, so that it reads memory, not
    /// the last-level cache (32 MiB on the largest of this project's machines).
    static let coldPassBytes = 96 << 20

    /// Times both paths on `weight` (the median of `repeats` runs of each, after one warm-up):
    /// `calibrationRows` expanded rows, the same rows against merged panels, merges at two
    /// ranks, and single rows against copies of the panels that overflow the caches. Takes tens of
    /// milliseconds per weight; allocates its own inputs (once per module).
    public static func measure(_ weight: PackedMatrix, repeats: Int = 5) -> GroupMergeCosts {
        let k = weight.inputs, n = weight.outputs, rows = calibrationRows
        let (lowRank, highRank) = calibrationRanks
        var g = SeededGenerator(seed: 0x6d65_7267)
        let x = (0..<rows * k).map { _ in g.nextGaussian() }           // [rows, k]
        let a = (0..<highRank * k).map { _ in 1 + 0.1 * g.nextGaussian() }  // [highRank, k]
        let bT = (0..<highRank * n).map { _ in 1 + 0.1 * g.nextGaussian() } // [highRank, n]
        var y = [Float](repeating: 0, count: rows * n)                   // [rows, n]
        let panels = ScratchBuffer<Float>(capacity: MatMul.mergedPanelFloats(weight))
        let scratch = RowExpansionScratch()
        scratch.reserve(rows)
        for e in 0..<rows {
            scratch.inputRow[e] = Int32(e)
            scratch.outputRow[e] = Int32(e)
            scratch.outputScale[e] = nil
            scratch.factor[e] = 1
        }
        return x.withUnsafeBufferPointer { x in
            a.withUnsafeBufferPointer { a in
                bT.withUnsafeBufferPointer { bT in
                    y.withUnsafeMutableBufferPointer { y in
                        let x = x.baseAddress!, a = a.baseAddress!, bT = bT.baseAddress!, y = y.baseAddress!
                        for e in 0..<rows { scratch.inputScale[e] = a + (e % highRank) * k }
                        let expanded = median(repeats) { MatMul.multiplyExpanded(x, scratch.expansion(count: rows), weight, into: y) }
                        for e in 0..<rows { scratch.inputScale[e] = nil }
                        let merge = { (rank: Int) in
                            median(repeats) { MatMul.mergeFlora(weight, a: a, bT: bT, rank: rank, factor: 1, into: panels.pointer) }
                        }
                        let low = merge(lowRank), high = merge(highRank)
                        let mergedRows = median(repeats) {
                            MatMul.multiplyExpanded(
                                x, scratch.expansion(count: rows), mergedPanels: panels.pointer, outputs: n, inputs: k, into: y)
                        }
                        let perRank = max(0, (high - low) / Double(highRank - lowRank))
                        let pass = coldPass(x, panels: panels.pointer, weight: weight, scratch: scratch, y: y, repeats: repeats)
                        return GroupMergeCosts(
                            expandedRow: expanded / Double(rows), mergedRow: mergedRows / Double(rows),
                            mergeFixed: max(0, low - Double(lowRank) * perRank), mergePerRank: perRank, mergedPass: pass)
                    }
                }
            }
        }
    }

    /// Seconds of one single-row product against merged panels read from memory: the panels are
    /// copied until they fill `coldPassBytes`, and each timed run visits every copy once.
    private static func coldPass(
        _ x: UnsafePointer<Float>, panels: UnsafePointer<Float>, weight: PackedMatrix, scratch: RowExpansionScratch,
        y: UnsafeMutablePointer<Float>, repeats: Int
    ) -> Double {
        let floats = MatMul.mergedPanelFloats(weight)
        let copies = max(2, coldPassBytes / (floats * MemoryLayout<Float>.stride))
        let cold = ScratchBuffer<Float>(capacity: copies * floats)
        for c in 0..<copies { (cold.pointer + c * floats).update(from: panels, count: floats) }
        let one = scratch.expansion(count: 1)
        let all = median(repeats) {
            for c in 0..<copies {
                MatMul.multiplyExpanded(x, one, mergedPanels: cold.pointer + c * floats, outputs: weight.outputs, inputs: weight.inputs, into: y)
            }
        }
        return all / Double(copies)
    }

    /// Median seconds of `repeats` runs of `body`, after one unmeasured run.
    private static func median(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let elapsed = clock.measure(body)
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        times.sort()
        return times[times.count / 2]
    }
}
