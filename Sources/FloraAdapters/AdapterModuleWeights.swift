// The tensors one adapter holds for one (layer, module), laid out for the batched kernels.
// Semantics: DESIGN.md section 1 (fLoRA, LoRA with PEFT's scale, IA3 with PEFT's feed-forward rule).

import FloraTensor

/// fLoRA factors of one linear layer: `y = (1/r) Σ_j B[:, j] ∘ (W (A[j, :] ∘ x))`.
public struct FloraFactors: Sendable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    /// A, `[rank, inputs]`: row j scales the input of the token's expanded row j.
    public let a: Tensor
    /// Bᵀ, `[rank, outputs]`: row j is `B[:, j]`, kept contiguous because it scales expanded row j's output.
    public let bTransposed: Tensor

    /// - Parameters: `a` is `[rank, inputs]`, `b` is PEFT's `[outputs, rank]` (both row-major).
    public init(rank: Int, inputs: Int, outputs: Int, a: [Float], b: [Float]) throws {
        try checkFactorShapes("fLoRA", rank: rank, inputs: inputs, outputs: outputs, a: a.count, b: b.count)
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        self.a = Tensor(shape: [rank, inputs], values: a)
        self.bTransposed = Tensor(shape: [rank, outputs], values: transpose(b, rows: outputs, columns: rank))
    }

    /// B in PEFT's layout, `[outputs, rank]`.
    public func b() -> [Float] { transpose(bTransposed.toArray(), rows: rank, columns: outputs) }

    var byteCount: Int { (a.count + bTransposed.count) * MemoryLayout<Float>.stride }
}

/// LoRA factors of one linear layer (PEFT semantics): `y = W x + scale · B (A x)`, with
/// `scale = alpha / rank`, or `alpha / sqrt(rank)` under rsLoRA.
public struct LoRAFactors: Sendable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    public let alpha: Float
    public let useRSLoRA: Bool
    /// `alpha / rank`, or `alpha / sqrt(rank)` with rsLoRA.
    public let scale: Float
    /// A, `[rank, inputs]`.
    public let a: Tensor
    /// Bᵀ, `[rank, outputs]`: the gather-bmm kernel adds `u[j] · Bᵀ[j, :]` as contiguous rows.
    public let bTransposed: Tensor
    /// A as a weight of `rank` outputs: the segmented kernel's shrink product `U = X Aᵀ`.
    public let shrink: PackedMatrix
    /// B as a weight of `outputs` outputs and `rank` inputs: the segmented kernel's expand product `Y += s · U Bᵀ`.
    public let expand: PackedMatrix

    /// - Parameters: `a` is `[rank, inputs]`, `b` is PEFT's `[outputs, rank]` (both row-major).
    public init(rank: Int, inputs: Int, outputs: Int, a: [Float], b: [Float], alpha: Float, useRSLoRA: Bool) throws {
        try checkFactorShapes("LoRA", rank: rank, inputs: inputs, outputs: outputs, a: a.count, b: b.count)
        guard alpha.isFinite else {
            throw AdapterError.invalidArgument(what: "LoRA alpha", expected: "a finite number", found: "\(alpha)")
        }
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        self.alpha = alpha
        self.useRSLoRA = useRSLoRA
        scale = useRSLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
        let aTensor = Tensor(shape: [rank, inputs], values: a)
        let bTensor = Tensor(shape: [outputs, rank], values: b)
        self.a = aTensor
        bTransposed = Tensor(shape: [rank, outputs], values: transpose(b, rows: outputs, columns: rank))
        shrink = PackedMatrix(aTensor)
        expand = PackedMatrix(bTensor)
    }

    /// B in PEFT's layout, `[outputs, rank]`.
    public func b() -> [Float] { transpose(bTransposed.toArray(), rows: rank, columns: outputs) }

    // A and Bᵀ, plus the two packed copies (at least as large as the factors they pack).
    var byteCount: Int { 2 * (a.count + bTransposed.count) * MemoryLayout<Float>.stride }
}

/// IA3 vector of one linear layer (PEFT semantics): a feed-forward module scales its input,
/// `y = W (l ∘ x) + b`; any other module scales its output, `y = l ∘ (W x + b)`.
public struct IA3Vector: Sendable {
    public let inputs: Int
    public let outputs: Int
    /// Whether the module is one of PEFT's `feedforward_modules`.
    public let feedForward: Bool
    /// `l`: `[inputs]` when feed-forward, else `[outputs]`.
    public let l: Tensor

    public init(inputs: Int, outputs: Int, feedForward: Bool, l: [Float]) throws {
        let expected = feedForward ? inputs : outputs
        guard inputs > 0, outputs > 0, l.count == expected else {
            throw AdapterError.invalidArgument(
                what: "IA3 vector", expected: "\(expected) values (\(feedForward ? "inputs" : "outputs") of the layer)",
                found: "\(l.count)")
        }
        self.inputs = inputs
        self.outputs = outputs
        self.feedForward = feedForward
        self.l = Tensor(shape: [expected], values: l)
    }

    var byteCount: Int { l.count * MemoryLayout<Float>.stride }
}

/// What one adapter does to one (layer, module).
public enum AdapterModuleWeights: Sendable {
    case flora(FloraFactors)
    case lora(LoRAFactors)
    case ia3(IA3Vector)
    case dora(DoRAFactors)
    case road(RoadRotation)

    public var kind: AdapterKind {
        switch self {
        case .flora: .flora
        case .lora: .lora
        case .ia3: .ia3
        case .dora: .dora
        case .road: .road
        }
    }

    /// The factors' rank (1 for an IA3 vector or a RoAd rotation: one expanded row).
    public var rank: Int {
        switch self {
        case .flora(let f): f.rank
        case .lora(let f): f.rank
        case .dora(let f): f.lora.rank
        case .ia3, .road: 1
        }
    }

    public var inputs: Int {
        switch self {
        case .flora(let f): f.inputs
        case .lora(let f): f.inputs
        case .ia3(let v): v.inputs
        case .dora(let f): f.lora.inputs
        case .road(let r): r.inputs
        }
    }

    public var outputs: Int {
        switch self {
        case .flora(let f): f.outputs
        case .lora(let f): f.outputs
        case .ia3(let v): v.outputs
        case .dora(let f): f.lora.outputs
        case .road(let r): r.outputs
        }
    }

    var byteCount: Int {
        switch self {
        case .flora(let f): f.byteCount
        case .lora(let f): f.byteCount
        case .ia3(let v): v.byteCount
        case .dora(let f): f.byteCount
        case .road(let r): r.byteCount
        }
    }
}

private func checkFactorShapes(_ kind: String, rank: Int, inputs: Int, outputs: Int, a: Int, b: Int) throws {
    guard rank > 0, inputs > 0, outputs > 0 else {
        throw AdapterError.invalidArgument(
            what: "\(kind) dimensions", expected: "positive rank, inputs and outputs",
            found: "rank \(rank), inputs \(inputs), outputs \(outputs)")
    }
    guard a == rank * inputs else {
        throw AdapterError.invalidArgument(what: "\(kind) A", expected: "[\(rank), \(inputs)] = \(rank * inputs) values", found: "\(a)")
    }
    guard b == outputs * rank else {
        throw AdapterError.invalidArgument(what: "\(kind) B", expected: "[\(outputs), \(rank)] = \(outputs * rank) values", found: "\(b)")
    }
}

/// Row-major `[rows, columns]` → `[columns, rows]`.
func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    for r in 0..<rows {
        for c in 0..<columns { result[c * rows + r] = values[r * columns + c] }
    }
    return result
}
