// The naive reference of CausalAttention: the same semantics as plain loops of dot products,
// one query row at a time. Tests compare the blocked version against it.

import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain-loop reference of `CausalAttention` (same parameters, same results up to rounding).
public struct CausalAttentionReference: Sendable {
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int

    public let scale: Float

    public init(heads: Int, kvHeads: Int, headDim: Int, scale: Float? = nil) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
    }

    var queryDim: Int { heads * headDim }
    var kvDim: Int { kvHeads * headDim }

    /// For every segment, head h (reading kv head `h / (heads / kvHeads)`) and token t of it:
    ///
    ///     s[j] = scale · q[t, h] · k[j, kvh]             for j in segment.start ... t
    ///     lse[t, h] = log Σ_j e^s[j];  out[t, h] = Σ_j e^(s[j] − lse) · v[j, kvh]
    ///
    /// `q`, `out`: `[T, heads·d]`; `k`, `v`: `[T, kvHeads·d]`; `lse`: `[T, heads]`.
    public func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, segments: [Range<Int>],
        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>
    ) {
        let (q, k, v, out, lse) = (SendablePointer(q), SendablePointer(k), SendablePointer(v), SendablePointer(out), SendablePointer(lse))
        let longest = segments.map(\.count).max() ?? 0
        let scratch = FloatBuffer(count: ParallelRegion.coreCount * longest)  // [workers, longest]
        let scores = SendablePointer(scratch.pointer)
        let items = segments.count * heads
        let work = segments.reduce(0) { $0 + $1.count * $1.count } * heads * headDim * 2
        let me = self
        ParallelRegion.forEachItem(items: items, flops: work) { item, worker in
            me.forwardItem(
                segment: segments[item / me.heads], head: item % me.heads, q: q.pointer, k: k.pointer, v: v.pointer,
                out: out.pointer, lse: lse.pointer, scores: scores.pointer + worker * longest)
        }
    }

    private func forwardItem(
        segment: Range<Int>, head h: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        let d = headDim, kvh = h / (heads / kvHeads), scale = self.scale
        for t in segment {
            let query = q + t * queryDim + h * d
            let length = t - segment.lowerBound + 1
            var maximum = -Float.infinity
            for j in 0..<length {
                let s = Elementwise.dot(query, k + (segment.lowerBound + j) * kvDim + kvh * d, count: d) * scale
                scores[j] = s
                maximum = max(maximum, s)
            }
            var sum: Float = 0
            for j in 0..<length {
                let e = expf(scores[j] - maximum)
                scores[j] = e
                sum += e
            }
            let target = out + t * queryDim + h * d
            target.update(repeating: 0, count: d)
            let inverse = 1 / sum
            for j in 0..<length {
                Elementwise.addScaled(v + (segment.lowerBound + j) * kvDim + kvh * d, alpha: scores[j] * inverse, into: target, count: d)
            }
            lse[t * heads + h] = maximum + logf(sum)
        }
    }

    /// Gradients of `forward` with respect to q, k and v (all overwritten). With `p[j] = e^(s[j] − lse)`:
    ///
    ///     dp[j] = dOut[t, h] · v[j];  D = dOut[t, h] · out[t, h];  ds[j] = p[j] (dp[j] − D)
    ///     dq[t, h] = scale · Σ_j ds[j] k[j];  dk[j] += scale · ds[j] q[t, h];  dv[j] += p[j] dOut[t, h]
    ///
    /// Work is split by (segment, kv head), so the query heads sharing a kv head, which all add
    /// into its dk and dv, run on one thread.
    public func backward(
        dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafePointer<Float>, lse: UnsafePointer<Float>, segments: [Range<Int>],
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let tokens = segments.last?.upperBound ?? 0
        dk.update(repeating: 0, count: tokens * kvDim)
        dv.update(repeating: 0, count: tokens * kvDim)
        let p = (dOut: SendablePointer(dOut), q: SendablePointer(q), k: SendablePointer(k), v: SendablePointer(v),
                 out: SendablePointer(out), lse: SendablePointer(lse), dq: SendablePointer(dq), dk: SendablePointer(dk),
                 dv: SendablePointer(dv))
        let items = segments.count * kvHeads
        let work = segments.reduce(0) { $0 + $1.count * $1.count } * heads * headDim * 4
        let me = self
        ParallelRegion.forEachItem(items: items, flops: work) { item, _ in
            let segment = segments[item / me.kvHeads], kvh = item % me.kvHeads
            let group = me.heads / me.kvHeads
            for h in (kvh * group)..<((kvh + 1) * group) {
                me.backwardItem(
                    segment: segment, head: h, dOut: p.dOut.pointer, q: p.q.pointer, k: p.k.pointer, v: p.v.pointer, out: p.out.pointer,
                    lse: p.lse.pointer, dq: p.dq.pointer, dk: p.dk.pointer, dv: p.dv.pointer)
            }
        }
    }

    private func backwardItem(
        segment: Range<Int>, head h: Int, dOut: UnsafeMutablePointer<Float>, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let d = headDim, kvh = h / (heads / kvHeads), scale = self.scale
        let first = segment.lowerBound
        for t in segment {
            let query = q + t * queryDim + h * d
            let gradient = dOut + t * queryDim + h * d
            let length = t - first + 1
            let rowLSE = lse[t * heads + h]
            let delta = Elementwise.dot(gradient, out + t * queryDim + h * d, count: d)
            let dQuery = dq + t * queryDim + h * d
            dQuery.update(repeating: 0, count: d)
            for j in 0..<length {
                let key = k + (first + j) * kvDim + kvh * d
                let value = v + (first + j) * kvDim + kvh * d
                let probability = expf(Elementwise.dot(query, key, count: d) * scale - rowLSE)
                let dScore = probability * (Elementwise.dot(gradient, value, count: d) - delta) * scale
                Elementwise.addScaled(key, alpha: dScore, into: dQuery, count: d)
                Elementwise.addScaled(query, alpha: dScore, into: dk + (first + j) * kvDim + kvh * d, count: d)
                Elementwise.addScaled(gradient, alpha: probability, into: dv + (first + j) * kvDim + kvh * d, count: d)
            }
        }
    }
}
