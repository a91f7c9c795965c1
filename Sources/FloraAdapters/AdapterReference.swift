// The naive reference of the adapted linear layer: DESIGN.md section 1's formulas, token by
// token, as plain loops with double accumulation. Tests compare AdapterBank.linear (every path
// and LoRA kernel) against it.

public enum AdapterReference {
    /// For each token t, with `m = adapters[t]` (nil: the layer is unchanged for that token):
    ///
    ///     nil:              y[t] = W x[t] + b
    ///     fLoRA rank r:     y[t] = (1/r) Σ_j B[:, j] ∘ (W (A[j, :] ∘ x[t])) + b
    ///     LoRA:             y[t] = W x[t] + b + s · B (A x[t])
    ///     IA3 feed-forward: y[t] = W (l ∘ x[t]) + b
    ///     IA3 otherwise:    y[t] = l ∘ (W x[t] + b)
    ///     DoRA:             y[t] = (m/n) ∘ (W x[t] + s · B (A x[t])) + b   (m/n as DoRAFactors holds it)
    ///     RoAd:             z = W x[t] + b; in each group of size G, h = G/2, for i < h:
    ///                       y[g+i] = f[g+i] z[g+i] − s[g+i] z[g+h+i];  y[g+h+i] = f[g+h+i] z[g+h+i] + s[g+h+i] z[g+i]
    ///
    /// `weight` is `[outputs, inputs]` row-major, `bias` `[outputs]` or nil, `x` `[tokens, inputs]`,
    /// `y` `[tokens, outputs]` (overwritten).
    public static func linear(
        weight: UnsafePointer<Float>, outputs n: Int, inputs k: Int, bias: UnsafePointer<Float>?,
        input x: UnsafePointer<Float>, tokens: Int, adapters: [AdapterModuleWeights?],
        output y: UnsafeMutablePointer<Float>
    ) {
        precondition(adapters.count == tokens, "AdapterReference.linear: \(adapters.count) adapters for \(tokens) tokens")
        for t in 0..<tokens {
            let xt = x + t * k
            /// `W · (scale ∘ x[t])` at output o.
            func product(_ o: Int, _ scale: (Int) -> Double) -> Double {
                var sum = 0.0
                for p in 0..<k { sum += Double(weight[o * k + p]) * Double(xt[p]) * scale(p) }
                return sum
            }
            let b: (Int) -> Double = { o in bias.map { Double($0[o]) } ?? 0 }
            switch adapters[t] {
            case nil:
                for o in 0..<n { y[t * n + o] = Float(product(o) { _ in 1 } + b(o)) }
            case .flora(let f):
                let a = f.a.pointer, bT = f.bTransposed.pointer
                for o in 0..<n {
                    var sum = 0.0
                    for j in 0..<f.rank {
                        sum += Double(bT[j * n + o]) * product(o) { p in Double(a[j * k + p]) }
                    }
                    y[t * n + o] = Float(sum / Double(f.rank) + b(o))
                }
            case .lora(let f):
                let a = f.a.pointer, bT = f.bTransposed.pointer
                var u = [Double](repeating: 0, count: f.rank)  // A x[t]
                for j in 0..<f.rank {
                    for p in 0..<k { u[j] += Double(a[j * k + p]) * Double(xt[p]) }
                }
                for o in 0..<n {
                    var delta = 0.0
                    for j in 0..<f.rank { delta += Double(bT[j * n + o]) * u[j] }
                    y[t * n + o] = Float(product(o) { _ in 1 } + b(o) + Double(f.scale) * delta)
                }
            case .dora(let d):
                let f = d.lora, a = f.a.pointer, bT = f.bTransposed.pointer, scale = d.outputScale.pointer
                var u = [Double](repeating: 0, count: f.rank)
                for j in 0..<f.rank {
                    for p in 0..<k { u[j] += Double(a[j * k + p]) * Double(xt[p]) }
                }
                for o in 0..<n {
                    var delta = 0.0
                    for j in 0..<f.rank { delta += Double(bT[j * n + o]) * u[j] }
                    y[t * n + o] = Float(Double(scale[o]) * (product(o) { _ in 1 } + Double(f.scale) * delta) + b(o))
                }
            case .road(let r):
                let z = (0..<n).map { o in product(o) { _ in 1 } + b(o) }
                let f = r.first.pointer, s = r.second.pointer, h = r.groupSize / 2
                for o in 0..<n {
                    let firstHalf = o % r.groupSize < h
                    let partner = firstHalf ? o + h : o - h
                    let rotated = (firstHalf ? -1.0 : 1.0) * Double(s[o]) * z[partner]
                    y[t * n + o] = Float(Double(f[o]) * z[o] + rotated)
                }
            case .ia3(let v):
                let l = v.l.pointer
                for o in 0..<n {
                    if v.feedForward {
                        y[t * n + o] = Float(product(o) { p in Double(l[p]) } + b(o))
                    } else {
                        y[t * n + o] = Float(Double(l[o]) * (product(o) { _ in 1 } + b(o)))
                    }
                }
            }
        }
    }
}
