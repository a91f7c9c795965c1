// Grouped-query causal attention over whole segments (no KV cache), forward and backward, as
// matrix products per (segment, head) on FloraTensor's kernels. The forward keeps only each
// row's log-sum-exp; the backward recomputes the probabilities from it (as FlashAttention does)
// rather than storing `[heads, L, L]` per segment. The semantics, as plain loops, are those of
// `CausalAttentionReference`; the products cover the whole `L × L` square (the masked half is
// zeroed), still several times faster than the reference's dot products.

import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class CausalAttention {
    public var heads: Int { items.heads }
    public var kvHeads: Int { items.kvHeads }
    public var headDim: Int { items.headDim }
    private let items: AttentionItems
    private let scratch = ScratchBuffer<Float>()  // [workers, floatsPerWorker(longest segment)]

    public var scale: Float { items.scale }

    /// `scale` multiplies the scores `q · k`: `1/√headDim` unless the model says otherwise
    /// (GPTBigCode with `scale_attn_weights: false` leaves them unscaled).
    public init(heads: Int, kvHeads: Int, headDim: Int, scale: Float? = nil) {
        items = AttentionItems(heads: heads, kvHeads: kvHeads, headDim: headDim, scale: scale ?? 1 / Float(headDim).squareRoot())
    }

    private func floatsPerWorker(_ longest: Int) -> Int { 11 * longest * headDim + 3 * longest * longest }

    /// `CausalAttentionReference.forward`: per segment, head h and token t,
    /// `out[t, h] = Σ_{j ≤ t} softmax_j(scale · q[t, h] · k[j, kvh]) v[j, kvh]`, `lse[t, h]` the
    /// log of the softmax's denominator. `q`, `out`: `[T, heads·d]`; `k`, `v`: `[T, kvHeads·d]`; `lse`: `[T, heads]`.
    public func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, segments: [Range<Int>],
        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>
    ) {
        let longest = segments.map(\.count).max() ?? 0
        let per = floatsPerWorker(longest)
        let base = SendablePointer(scratch.reserve(ParallelRegion.coreCount * per))
        let p = (q: SendablePointer(q), k: SendablePointer(k), v: SendablePointer(v), out: SendablePointer(out), lse: SendablePointer(lse))
        let work = segments.reduce(0) { $0 + $1.count * $1.count } * heads * headDim * 4
        let me = items
        ParallelRegion.forEachItem(items: segments.count * heads, flops: work) { item, worker in
            me.forwardItem(
                segment: segments[item / me.heads], head: item % me.heads, q: p.q.pointer, k: p.k.pointer, v: p.v.pointer,
                out: p.out.pointer, lse: p.lse.pointer, scratch: base.pointer + worker * per)
        }
    }


    /// `CausalAttentionReference.backward`: dq, dk and dv (overwritten) from `dOut`. With
    /// `P[i, j] = e^(scale · q_i·k_j − lse_i)` (0 for j > i) and `D_i = dOut_i · out_i`:
    /// `dS = scale · P ∘ (dOut Vᵀ − D)`, `dQ = dS K`, `dK = Σ_heads dSᵀ Q`, `dV = Σ_heads Pᵀ dOut`.
    /// Work is split by (segment, kv head): the query heads that share a kv head add into its dk
    /// and dv on one thread.
    public func backward(
        dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafePointer<Float>, lse: UnsafePointer<Float>, segments: [Range<Int>],
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let longest = segments.map(\.count).max() ?? 0
        let per = floatsPerWorker(longest)
        let base = SendablePointer(scratch.reserve(ParallelRegion.coreCount * per))
        let p = (dOut: SendablePointer(dOut), q: SendablePointer(q), k: SendablePointer(k), v: SendablePointer(v),
                 out: SendablePointer(out), lse: SendablePointer(lse), dq: SendablePointer(dq), dk: SendablePointer(dk),
                 dv: SendablePointer(dv))
        let work = segments.reduce(0) { $0 + $1.count * $1.count } * heads * headDim * 10
        let me = items
        ParallelRegion.forEachItem(items: segments.count * kvHeads, flops: work) { item, worker in
            me.backwardItem(
                segment: segments[item / me.kvHeads], kvHead: item % me.kvHeads, dOut: p.dOut.pointer, q: p.q.pointer, k: p.k.pointer,
                v: p.v.pointer, out: p.out.pointer, lse: p.lse.pointer, dq: p.dq.pointer, dk: p.dk.pointer, dv: p.dv.pointer,
                scratch: base.pointer + worker * per)
        }
    }
}

/// One (segment, head) of the forward and one (segment, kv head) of the backward: shared,
/// read-only, by the workers of a parallel region, each with its own scratch.
private struct AttentionItems: Sendable {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let scale: Float

    var queryDim: Int { heads * headDim }
    var kvDim: Int { kvHeads * headDim }

    func forwardItem(
        segment: Range<Int>, head h: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let n = segment.count, d = headDim, kvh = h / (heads / kvHeads), first = segment.lowerBound
        let qh = scratch, kh = qh + n * d, vT = kh + n * d, oh = vT + n * d  // [n, d], [n, d], [d, n], [n, d]
        let s = oh + n * d                                                   // [n, n]
        gather(q, stride: queryDim, offset: h * d, first: first, count: n, into: qh)
        gather(k, stride: kvDim, offset: kvh * d, first: first, count: n, into: kh)
        gatherTransposed(v, stride: kvDim, offset: kvh * d, first: first, count: n, into: vT)
        MatMul.multiplyUnpacked(qh, rows: n, kh, outputs: n, inputs: d, into: s, parallelism: .serial)  // s[i, j] = q_i · k_j
        let scale = self.scale
        for i in 0..<n {
            let row = s + i * n
            var maximum = -Float.infinity
            for j in 0...i {
                row[j] *= scale
                maximum = max(maximum, row[j])
            }
            for j in 0...i { row[j] -= maximum }
            FastExp.expInPlace(row, count: i + 1)
            var sum: Float = 0
            for j in 0...i { sum += row[j] }
            let inverse = 1 / sum
            for j in 0...i { row[j] *= inverse }
            if i + 1 < n { (row + i + 1).update(repeating: 0, count: n - i - 1) }
            lse[(first + i) * heads + h] = maximum + logf(sum)
        }
        MatMul.multiplyUnpacked(s, rows: n, vT, outputs: d, inputs: n, into: oh, parallelism: .serial)  // oh = P · V
        scatter(oh, count: n, into: out, stride: queryDim, offset: h * d, first: first)
    }

    func backwardItem(
        segment: Range<Int>, kvHead kvh: Int, dOut: UnsafeMutablePointer<Float>, q: UnsafeMutablePointer<Float>,
        k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
        lse: UnsafeMutablePointer<Float>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
        dv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let n = segment.count, d = headDim, first = segment.lowerBound, nd = n * d
        let kh = scratch, vh = kh + nd, kT = vh + nd, dKh = kT + nd, dVh = dKh + nd     // [n, d], [n, d], [d, n], [n, d], [n, d]
        let qh = dVh + nd, dOh = qh + nd, oh = dOh + nd, qT = oh + nd, dOT = qT + nd      // [n, d] ×3, [d, n] ×2
        let product = dOT + nd                                                          // [n, d]
        let s = product + nd, dS = s + n * n, transposed = dS + n * n                  // [n, n] ×3
        gather(k, stride: kvDim, offset: kvh * d, first: first, count: n, into: kh)
        gather(v, stride: kvDim, offset: kvh * d, first: first, count: n, into: vh)
        gatherTransposed(k, stride: kvDim, offset: kvh * d, first: first, count: n, into: kT)
        dKh.update(repeating: 0, count: nd)
        dVh.update(repeating: 0, count: nd)
        let group = heads / kvHeads, scale = self.scale
        for h in (kvh * group)..<((kvh + 1) * group) {
            gather(q, stride: queryDim, offset: h * d, first: first, count: n, into: qh)
            gather(dOut, stride: queryDim, offset: h * d, first: first, count: n, into: dOh)
            gather(out, stride: queryDim, offset: h * d, first: first, count: n, into: oh)
            gatherTransposed(q, stride: queryDim, offset: h * d, first: first, count: n, into: qT)
            gatherTransposed(dOut, stride: queryDim, offset: h * d, first: first, count: n, into: dOT)
            MatMul.multiplyUnpacked(qh, rows: n, kh, outputs: n, inputs: d, into: s, parallelism: .serial)     // q_i · k_j
            MatMul.multiplyUnpacked(dOh, rows: n, vh, outputs: n, inputs: d, into: dS, parallelism: .serial)   // dP = dO · Vᵀ
            for i in 0..<n {
                let rowLSE = lse[(first + i) * heads + h]
                let delta = Elementwise.dot(dOh + i * d, oh + i * d, count: d)
                let pRow = s + i * n, dRow = dS + i * n
                for j in 0...i { pRow[j] = pRow[j] * scale - rowLSE }
                FastExp.expInPlace(pRow, count: i + 1)
                for j in 0...i { dRow[j] = pRow[j] * (dRow[j] - delta) * scale }
                if i + 1 < n {
                    (pRow + i + 1).update(repeating: 0, count: n - i - 1)
                    (dRow + i + 1).update(repeating: 0, count: n - i - 1)
                }
            }
            MatMul.multiplyUnpacked(dS, rows: n, kT, outputs: d, inputs: n, into: product, parallelism: .serial)  // dQ = dS · K
            scatter(product, count: n, into: dq, stride: queryDim, offset: h * d, first: first)
            transpose(dS, n, into: transposed)
            MatMul.multiplyUnpacked(transposed, rows: n, qT, outputs: d, inputs: n, into: product, parallelism: .serial)  // dSᵀ · Q
            Elementwise.add(product, into: dKh, count: nd)
            transpose(s, n, into: transposed)
            MatMul.multiplyUnpacked(transposed, rows: n, dOT, outputs: d, inputs: n, into: product, parallelism: .serial)  // Pᵀ · dO
            Elementwise.add(product, into: dVh, count: nd)
        }
        scatter(dKh, count: n, into: dk, stride: kvDim, offset: kvh * d, first: first)
        scatter(dVh, count: n, into: dv, stride: kvDim, offset: kvh * d, first: first)
    }

    /// Rows `first ..< first + count` of a head's `d` columns at `offset` → `[count, d]`.
    private func gather(
        _ x: UnsafeMutablePointer<Float>, stride: Int, offset: Int, first: Int, count: Int, into target: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<count { (target + i * headDim).update(from: x + (first + i) * stride + offset, count: headDim) }
    }

    /// The same rows transposed → `[d, count]`.
    private func gatherTransposed(
        _ x: UnsafeMutablePointer<Float>, stride: Int, offset: Int, first: Int, count: Int, into target: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<count {
            let row = x + (first + i) * stride + offset
            for c in 0..<headDim { target[c * count + i] = row[c] }
        }
    }

    private func scatter(
        _ source: UnsafeMutablePointer<Float>, count: Int, into x: UnsafeMutablePointer<Float>, stride: Int, offset: Int, first: Int
    ) {
        for i in 0..<count { (x + (first + i) * stride + offset).update(from: source + i * headDim, count: headDim) }
    }

    /// `[n, n]` → its transpose.
    private func transpose(_ m: UnsafeMutablePointer<Float>, _ n: Int, into t: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            for j in 0..<n { t[j * n + i] = m[i * n + j] }
        }
    }
}
