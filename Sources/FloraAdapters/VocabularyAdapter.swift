// What an adapter does outside the transformer blocks (issue 16): to the token embedding and to
// the LM head, as PEFT's LoRA (peft/tuners/lora/layer.py: Embedding, Linear) and its
// `modules_to_save` full copies define it. With a tied head PEFT adapts the two separately: a
// LoRA or a copy of the embedding leaves the head's product as it was, and one of the head
// leaves the embedding; Flora keeps them apart the same way.

import FloraTensor

/// The two modules outside the transformer blocks an adapter may change.
public enum VocabularyModule: String, Sendable, CaseIterable, Codable {
    /// Llama's `model.embed_tokens`, GPTBigCode's `transformer.wte`.
    case embedding = "embed_tokens"
    case head = "lm_head"

    /// The module's path in a Hugging Face model of these shapes, as PEFT matches selectors against it.
    public func modulePath(in shapes: AdapterTargetShapes) -> String {
        switch self {
        case .embedding: shapes.has(.cAttn) ? "transformer.wte" : "model.embed_tokens"
        case .head: "lm_head"
        }
    }
}

/// LoRA on the token embedding (PEFT semantics): the embedding of token `t` becomes
/// `E[t, :] + s · Σ_j A[j, t] · B[:, j]`, with `A: [r, vocab]`, `B: [hidden, r]` and
/// `s = alpha / r` (`alpha / sqrt(r)` with rsLoRA).
public struct EmbeddingLoRA: Sendable {
    public let rank: Int
    public let vocabularySize: Int
    public let hiddenSize: Int
    public let scale: Float
    /// Aᵀ, `[vocab, rank]`: a token's column of A as one contiguous row.
    let aTransposed: Tensor
    /// Bᵀ, `[rank, hidden]`: the rows the delta adds.
    let bTransposed: Tensor

    /// - Parameters: `a` is PEFT's `lora_embedding_A` `[rank, vocab]`, `b` its `lora_embedding_B` `[hidden, rank]`.
    public init(rank: Int, vocabularySize: Int, hiddenSize: Int, a: [Float], b: [Float], alpha: Float, useRSLoRA: Bool) throws {
        guard rank > 0, vocabularySize > 0, hiddenSize > 0 else {
            throw AdapterError.invalidArgument(
                what: "embedding LoRA dimensions", expected: "positive rank, vocabulary and hidden size",
                found: "rank \(rank), vocabulary \(vocabularySize), hidden \(hiddenSize)")
        }
        guard a.count == rank * vocabularySize, b.count == hiddenSize * rank else {
            throw AdapterError.invalidArgument(
                what: "embedding LoRA factors", expected: "A [\(rank), \(vocabularySize)] and B [\(hiddenSize), \(rank)]",
                found: "\(a.count) and \(b.count) values")
        }
        guard alpha.isFinite else {
            throw AdapterError.invalidArgument(what: "LoRA alpha", expected: "a finite number", found: "\(alpha)")
        }
        self.rank = rank
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        scale = useRSLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
        aTransposed = Tensor(shape: [vocabularySize, rank], values: transpose(a, rows: rank, columns: vocabularySize))
        bTransposed = Tensor(shape: [rank, hiddenSize], values: transpose(b, rows: hiddenSize, columns: rank))
    }

    /// `row += s · Σ_j A[j, token] · B[:, j]` for one token's `[hidden]` embedding row.
    @inline(__always)
    func addDelta(token: Int, into row: UnsafeMutablePointer<Float>) {
        let column = aTransposed.pointer + token * rank
        for j in 0..<rank {
            Elementwise.addScaled(bTransposed.pointer + j * hiddenSize, alpha: scale * column[j], into: row, count: hiddenSize)
        }
    }

    var byteCount: Int { (aTransposed.count + bTransposed.count) * MemoryLayout<Float>.stride }
}

/// What an adapter does to the token embedding.
public enum EmbeddingAdapter: Sendable {
    case lora(EmbeddingLoRA)
    /// A `modules_to_save` copy, `[vocab, hidden]`: the token's row replaces the base embedding.
    case table(Tensor)

    var byteCount: Int {
        switch self {
        case .lora(let f): f.byteCount
        case .table(let t): t.count * MemoryLayout<Float>.stride
        }
    }
}

/// What an adapter does to the LM head, `logits = W_head h`.
public enum HeadAdapter: Sendable {
    /// An ordinary LoRA with `hidden` inputs and `vocab` outputs: `logits += s · B (A h)`.
    case lora(LoRAFactors)
    /// A `modules_to_save` copy, `[vocab, hidden]` packed for the product: it replaces the head.
    case full(PackedMatrix)

    var byteCount: Int {
        switch self {
        case .lora(let f): f.byteCount
        case .full(let w): w.outputs * w.inputs * MemoryLayout<Float>.stride
        }
    }
}

extension AdapterWeights {
    /// The modules outside the blocks that the adapter changes, for listings and refusals.
    public var vocabularyModules: [VocabularyModule] {
        VocabularyModule.allCases.filter { $0 == .embedding ? embedding != nil : head != nil }
    }
}

/// Checks that `embedding` and `head` fit `shapes`; returns their bytes.
func checkVocabularyAdapters(
    name: String, embedding: EmbeddingAdapter?, head: HeadAdapter?, shapes: AdapterTargetShapes
) throws -> Int {
    guard embedding != nil || head != nil else { return 0 }
    let (v, d) = (shapes.vocabularySize, shapes.hiddenSize)
    guard v > 0 else {
        throw AdapterError.shapeMismatch(
            adapter: name, expected: "a model whose vocabulary size is known (to adapt embed_tokens or lm_head)", found: "none given")
    }
    switch embedding {
    case .lora(let f) where f.vocabularySize != v || f.hiddenSize != d:
        throw AdapterError.shapeMismatch(adapter: name, expected: "embed_tokens LoRA for vocabulary \(v) × hidden \(d)",
                                         found: "vocabulary \(f.vocabularySize) × hidden \(f.hiddenSize)")
    case .table(let t) where t.shape != [v, d]:
        throw AdapterError.shapeMismatch(adapter: name, expected: "embed_tokens table [\(v), \(d)]", found: "\(t.shape)")
    default: break
    }
    switch head {
    case .lora(let f) where f.outputs != v || f.inputs != d:
        throw AdapterError.shapeMismatch(adapter: name, expected: "lm_head LoRA with \(d) inputs and \(v) outputs",
                                         found: "\(f.inputs) inputs and \(f.outputs) outputs")
    case .full(let w) where w.outputs != v || w.inputs != d:
        throw AdapterError.shapeMismatch(adapter: name, expected: "lm_head weight [\(v), \(d)]", found: "[\(w.outputs), \(w.inputs)]")
    default: break
    }
    return (embedding?.byteCount ?? 0) + (head?.byteCount ?? 0)
}

extension AdapterWeights {
    /// Refuses an adapter that changes the token embedding or the LM head, for a `purpose` (the
    /// trainer, the writer, mixtures) that handles the blocks' linear layers only: silently
    /// dropping those parts would train, save or mix another adapter than the one named.
    public func refuseVocabularyModules(for purpose: String) throws {
        let parts = vocabularyModules
        guard !parts.isEmpty else { return }
        throw AdapterError.invalidArgument(
            what: "adapter '\(name)' for \(purpose)", expected: "changes to the transformer blocks' linear layers only",
            found: "changes to \(parts.map(\.rawValue).joined(separator: " and ")) (embed_tokens/lm_head adapters can be served, not used for \(purpose))")
    }
}

extension AdapterWeights {
    /// The embedding and head parts in words, for listings: "embed_tokens: LoRA rank 4 on [258, 64]",
    /// "lm_head: full copy [49152, 576] (113 MB)".
    public var vocabularyPart: [String] {
        let (v, d) = (shapes.vocabularySize, shapes.hiddenSize)
        var parts: [String] = []
        switch embedding {
        case .lora(let f): parts.append("\(VocabularyModule.embedding.rawValue): LoRA rank \(f.rank) on [\(v), \(d)]")
        case .table: parts.append("\(VocabularyModule.embedding.rawValue): full copy [\(v), \(d)] (\(v * d * 4 / 1_000_000) MB)")
        case nil: break
        }
        switch head {
        case .lora(let f): parts.append("\(VocabularyModule.head.rawValue): LoRA rank \(f.rank) on [\(v), \(d)]")
        case .full: parts.append("\(VocabularyModule.head.rawValue): full copy [\(v), \(d)] (\(v * d * 4 / 1_000_000) MB)")
        case nil: break
        }
        return parts
    }
}
