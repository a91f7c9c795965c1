// The adapted linear layer of the training pass (DESIGN.md section 1), forward keeping what its
// backward needs, and backward with gradients for the adapter weights only. One expanded product
// with the frozen W serves every token of the minibatch, whatever adapter each token trains.

import FloraAdapters
import FloraTensor

/// How one adapter group of tokens meets one (layer, module).
struct GroupModule {
    let tokens: Range<Int>
    let adapter: TrainableAdapter?
    /// nil: the group's adapter (if any) leaves this module unchanged.
    let module: TrainableModule?
    /// The group's first row in the expanded product (token t, rank row j: `firstRow + (t − start)·r + j`).
    let firstRow: Int
    /// LoRA and DoRA: the group's first entry in the `A x` buffer (`[tokens, r]`).
    let firstLoRA: Int

    var rowsPerToken: Int { module?.kind == .flora ? module!.rank : 1 }
    var kind: AdapterKind? { module?.kind }
    /// One row per token that reads x unscaled (no adapter, LoRA, DoRA, RoAd, IA3 on the
    /// output): the forward's plain product serves it.
    var readsPlainInput: Bool {
        guard let module else { return true }
        return module.kind != .flora && !(module.kind == .ia3 && module.feedForward)
    }
    /// One row per token whose output gradient is dy unscaled (no adapter, LoRA, IA3 on the
    /// input): the backward's product can read dy itself.
    var takesPlainGradient: Bool {
        guard let module else { return true }
        return module.kind == .lora || module.kind == .ia3 && module.feedForward
    }
    /// LoRA and DoRA: the group keeps `A x` in the capture.
    var hasLoRAFactors: Bool { module?.kind.hasLoRAFactors ?? false }

    func first(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p + module!.first.lowerBound }
    func second(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p + module!.second.lowerBound }
    func magnitude(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> { p + module!.magnitude.lowerBound }
}

/// What the forward of one (layer, module) leaves for its backward.
final class LinearCapture {
    let z = ScratchBuffer<Float>()   // [E, n]: W · (input scale ∘ x) for every expanded row
    let u = ScratchBuffer<Float>()   // LoRA and DoRA: A x of every such token, `[tokens, r]` per group
    var layout: [GroupModule] = []
    var rows = 0
}

/// Forward and backward of adapted linear layers over one minibatch's token groups.
final class TrainingLinear {
    let adapters: [TrainableAdapter]
    private let expansion = RowExpansionScratch()
    private let gradientRows = ScratchBuffer<Float>()       // [E, n]: rows of dy, scaled per expanded row
    private let inputGradientRows = ScratchBuffer<Float>()  // [E, k]: those rows · W
    private let loraV = ScratchBuffer<Float>()              // [tokens of one LoRA group, r]: Bᵀ dy
    let factorScratch = ScratchBuffer<Float>()              // [2, n]: one group's DoRA m/n and 1/n, or RoAd f and s
    let outputRow = ScratchBuffer<Float>()                  // [n]: one token's DoRA W x + s·B A x, or RoAd's W x + b
    let roadFactorGradients = ScratchBuffer<Float>()        // [2, n]: one RoAd group's gradients of f and s

    init(adapters: [TrainableAdapter]) { self.adapters = adapters }

    func layout(layer: Int, module: TargetModule, groups: [(adapter: Int, tokens: Range<Int>)]) -> (layout: [GroupModule], rows: Int) {
        var result: [GroupModule] = []
        var rows = 0, lora = 0
        for (index, tokens) in groups {
            let adapter = index >= 0 ? adapters[index] : nil
            let m = adapter?.module(layer: layer, module)
            let group = GroupModule(tokens: tokens, adapter: adapter, module: m, firstRow: rows, firstLoRA: lora)
            rows += tokens.count * group.rowsPerToken
            if group.hasLoRAFactors { lora += tokens.count * m!.rank }
            result.append(group)
        }
        return (result, rows)
    }

    /// `y[t] = adapted(W) x[t] + b` for every token (the formulas of `AdapterBank.linear`), keeping
    /// in `capture` the per-row products `z = W (s ∘ x)` and LoRA's and DoRA's `A x`. `x` `[T, k]`, `y` `[T, n]`.
    func forward(
        layer: Int, module: TargetModule, weight w: PackedMatrix, bias: Tensor?, x: UnsafePointer<Float>,
        groups: [(adapter: Int, tokens: Range<Int>)], tokens: Int, into y: UnsafeMutablePointer<Float>, capture: LinearCapture
    ) {
        let n = w.outputs, k = w.inputs
        let (layout, rows) = self.layout(layer: layer, module: module, groups: groups)
        capture.layout = layout
        capture.rows = rows
        if layout.allSatisfy({ $0.module == nil }) {  // nothing adapted here: the backward needs no z
            MatMul.multiply(x, rows: tokens, w, into: y)
            if let bias {
                for t in 0..<tokens { Elementwise.add(bias.pointer, into: y + t * n, count: n) }
            }
            return
        }
        let z = capture.z.reserve(rows * n)
        if layout.allSatisfy(\.readsPlainInput) {
            MatMul.multiply(x, rows: tokens, w, into: z)  // one row per token, unscaled
        } else {
            expansion.reserve(rows)
            var e = 0
            for g in layout {
                let p = g.adapter?.parameters.pointer
                for t in g.tokens {
                    for j in 0..<g.rowsPerToken {
                        expansion.inputRow[e] = Int32(t)
                        switch (g.kind, g.module?.feedForward) {
                        case (.flora, _): expansion.inputScale[e] = UnsafePointer(g.first(p!) + j * k)
                        case (.ia3, true): expansion.inputScale[e] = UnsafePointer(g.first(p!))
                        default: expansion.inputScale[e] = nil
                        }
                        expansion.outputRow[e] = Int32(e)
                        expansion.outputScale[e] = nil
                        expansion.factor[e] = 1
                        e += 1
                    }
                }
            }
            z.update(repeating: 0, count: rows * n)
            MatMul.multiplyExpanded(x, expansion.expansion(count: rows), w, into: z)
        }

        let u = capture.u.reserve(layout.reduce(0) { $0 + ($1.hasLoRAFactors ? $1.tokens.count * $1.module!.rank : 0) })
        for g in layout {
            let p = g.adapter?.parameters.pointer
            let factors = outputFactors(g, outputs: n)  // DoRA: m/n, 1/n; RoAd: f, s
            for t in g.tokens {
                let target = y + t * n
                let local = t - g.tokens.lowerBound
                let rowBase = z + (g.firstRow + local * g.rowsPerToken) * n
                switch g.kind {
                case .flora:
                    let m = g.module!, bT = g.second(p!)
                    target.update(repeating: 0, count: n)
                    for j in 0..<m.rank { TrainingKernels.addProduct(bT + j * n, rowBase + j * n, alpha: m.scale, into: target, count: n) }
                    if let bias { Elementwise.add(bias.pointer, into: target, count: n) }
                case .ia3 where !g.module!.feedForward:
                    target.update(from: rowBase, count: n)
                    if let bias { Elementwise.add(bias.pointer, into: target, count: n) }
                    Elementwise.multiply(target, by: g.first(p!), count: n)
                case .lora, .dora:
                    // LoRA: W x + s·B A x + b; DoRA: (m/n) ∘ (W x + s·B A x) + b, the bias not scaled.
                    let m = g.module!, a = g.first(p!), bT = g.second(p!)
                    target.update(from: rowBase, count: n)
                    let ut = u + g.firstLoRA + local * m.rank
                    for j in 0..<m.rank {
                        ut[j] = Elementwise.dot(a + j * k, x + t * k, count: k)
                        Elementwise.addScaled(bT + j * n, alpha: m.scale * ut[j], into: target, count: n)
                    }
                    if let factors { Elementwise.multiply(target, by: factors, count: n) }
                    if let bias { Elementwise.add(bias.pointer, into: target, count: n) }
                case .road:
                    target.update(from: rowBase, count: n)
                    if let bias { Elementwise.add(bias.pointer, into: target, count: n) }
                    RoadRotation.apply(first: factors!, second: factors! + n, groupSize: g.module!.groupSize, outputs: n, to: target)
                default:  // no adapter here, or IA3 on the input (already applied)
                    target.update(from: rowBase, count: n)
                    if let bias { Elementwise.add(bias.pointer, into: target, count: n) }
                }
            }
        }
    }

    /// Adds each adapter's gradient at (layer, module) into its `gradients` and, when `dx` is
    /// given, the input gradient into `dx` (`[T, k]`, accumulated: the caller zeroes it).
    /// `x` and `capture` are what `forward` saw and left; `dy` is `[T, n]`.
    ///
    ///     fLoRA:  dBᵀ[j] += (1/r) Σ_t dy[t] ∘ z[t, j];  g[t, j] = W ᵀ((1/r) Bᵀ[j] ∘ dy[t])
    ///             dA[j] += Σ_t x[t] ∘ g[t, j];          dx[t] += Σ_j A[j] ∘ g[t, j]
    ///     LoRA:   v = B ᵀ dy[t];  dBᵀ[j] += s Σ_t u[t, j] dy[t];  dA[j] += s Σ_t v[j] x[t]
    ///             dx[t] += Wᵀ dy[t] + s Σ_j v[j] A[j]
    ///     IA3 on the output: dl += Σ_t dy[t] ∘ (z[t] + b);  dx[t] += Wᵀ (l ∘ dy[t])
    ///     IA3 on the input:  g = Wᵀ dy[t];  dl += Σ_t x[t] ∘ g;  dx[t] += l ∘ g
    ///     DoRA:   e = (m/n) ∘ dy[t];  dm += Σ_t dy[t] ∘ (z[t] + s·B u[t]) / n;  then LoRA's formulas with e for dy
    ///             (n is a constant of the gradient, as PEFT's detached norm)
    ///     RoAd:   df += Σ_t dy[t] ∘ (z[t] + b);  ds += Σ_t dy[t] ∘ ±partner(z[t] + b);  dx[t] += Wᵀ Rᵀ dy[t],
    ///             and θ, α from f = α cos θ, s = α sin θ (RoadRotation's pairs and indices)
    func backward(
        weight w: PackedMatrix, transposed: PackedMatrix?, bias: Tensor?, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, tokens: Int,
        capture: LinearCapture, dx: UnsafeMutablePointer<Float>?
    ) {
        let n = w.outputs, k = w.inputs
        let layout = capture.layout, rows = capture.rows
        let z = capture.z.pointer, u = capture.u.pointer
        let gIn: UnsafePointer<Float>
        if layout.allSatisfy(\.takesPlainGradient) {
            gIn = dy
        } else {
            let rowsIn = gradientRows.reserve(rows * n)
            for g in layout {
                let p = g.adapter?.parameters.pointer, grad = g.adapter?.gradients.pointer
                let factors = outputFactors(g, outputs: n)
                if g.kind == .road { roadFactorGradients.reserve(2 * n).update(repeating: 0, count: 2 * n) }
                for t in g.tokens {
                    let local = t - g.tokens.lowerBound
                    let row = rowsIn + (g.firstRow + local * g.rowsPerToken) * n
                    let dyt = dy + t * n
                    switch g.kind {
                    case .flora:
                        let m = g.module!, bT = g.second(p!), dbT = g.second(grad!)
                        let zt = z + (g.firstRow + local * m.rank) * n
                        for j in 0..<m.rank {
                            TrainingKernels.multiply(bT + j * n, dyt, alpha: m.scale, into: row + j * n, count: n)
                            TrainingKernels.addProduct(dyt, zt + j * n, alpha: m.scale, into: dbT + j * n, count: n)
                        }
                    case .ia3 where !g.module!.feedForward:
                        let l = g.first(p!), dl = g.first(grad!)
                        TrainingKernels.multiply(l, dyt, into: row, count: n)
                        let zt = z + (g.firstRow + local) * n
                        TrainingKernels.addProduct(dyt, zt, into: dl, count: n)
                        if let bias { TrainingKernels.addProduct(dyt, bias.pointer, into: dl, count: n) }
                    case .dora:
                        doraRowGradient(
                            g, token: t, z: z + (g.firstRow + local) * n, u: u, dy: dyt, factors: factors!, outputs: n, into: row)
                    case .road:
                        roadRowGradient(g, z: z + (g.firstRow + local) * n, bias: bias, dy: dyt, factors: factors!, outputs: n, into: row)
                    default:
                        row.update(from: dyt, count: n)
                    }
                }
                if g.kind == .road { roadParameterGradients(g, outputs: n) }
            }
            gIn = UnsafePointer(rowsIn)
        }
        for g in layout where g.hasLoRAFactors { loraGradients(g, x: x, rows: gIn, u: u, inputs: k, outputs: n, dx: dx) }

        let needsProduct = dx != nil || layout.contains { $0.kind == .flora || $0.kind == .ia3 && $0.module!.feedForward }
        guard needsProduct else { return }
        let gOut = inputGradientRows.reserve(rows * k)
        FrozenProducts.inputGradient(gIn, rows: rows, w, transposed: transposed, into: gOut)
        for g in layout {
            let p = g.adapter?.parameters.pointer, grad = g.adapter?.gradients.pointer
            for t in g.tokens {
                let local = t - g.tokens.lowerBound
                let row = gOut + (g.firstRow + local * g.rowsPerToken) * k
                let xt = x + t * k
                switch g.kind {
                case .flora:
                    let m = g.module!, a = g.first(p!), dA = g.first(grad!)
                    for j in 0..<m.rank {
                        TrainingKernels.addProduct(xt, row + j * k, into: dA + j * k, count: k)
                        if let dx { TrainingKernels.addProduct(a + j * k, row + j * k, into: dx + t * k, count: k) }
                    }
                case .ia3 where g.module!.feedForward:
                    TrainingKernels.addProduct(xt, row, into: g.first(grad!), count: k)
                    if let dx { TrainingKernels.addProduct(g.first(p!), row, into: dx + t * k, count: k) }
                default:
                    if let dx { Elementwise.add(row, into: dx + t * k, count: k) }
                }
            }
        }
    }

    /// The group's per-output factors, `[2, n]`: DoRA's m / n and 1 / n, RoAd's f and s; nil for other kinds.
    private func outputFactors(_ g: GroupModule, outputs n: Int) -> UnsafeMutablePointer<Float>? {
        switch g.kind {
        case .dora: doraFactors(g, outputs: n)
        case .road: roadFactors(g, outputs: n)
        default: nil
        }
    }

    /// LoRA's factor gradients of one group, and its low-rank part of dx. `rows` holds each
    /// token's output gradient at its expanded row (dy itself for LoRA, (m/n) ∘ dy for DoRA).
    private func loraGradients(
        _ g: GroupModule, x: UnsafePointer<Float>, rows: UnsafePointer<Float>, u: UnsafePointer<Float>, inputs k: Int, outputs n: Int,
        dx: UnsafeMutablePointer<Float>?
    ) {
        let m = g.module!, r = m.rank, s = m.scale
        let p = g.adapter!.parameters.pointer, grad = g.adapter!.gradients.pointer
        let a = g.first(p), bT = g.second(p), dA = g.first(grad), dbT = g.second(grad)
        let v = loraV.reserve(g.tokens.count * r)
        for t in g.tokens {
            let local = t - g.tokens.lowerBound
            let dyt = rows + (g.firstRow + local) * n, ut = u + g.firstLoRA + local * r, vt = v + local * r
            for j in 0..<r {
                vt[j] = Elementwise.dot(bT + j * n, dyt, count: n)
                Elementwise.addScaled(dyt, alpha: s * ut[j], into: dbT + j * n, count: n)
                Elementwise.addScaled(x + t * k, alpha: s * vt[j], into: dA + j * k, count: k)
                if let dx { Elementwise.addScaled(a + j * k, alpha: s * vt[j], into: dx + t * k, count: k) }
            }
        }
    }
}
