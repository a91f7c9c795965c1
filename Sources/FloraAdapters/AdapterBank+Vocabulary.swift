// The token embedding and LM head of a mixed batch (VocabularyAdapter.swift): each token's or
// logit row's own adapter, rows of other adapters and of the base model untouched.

import FloraTensor

extension AdapterBank {
    /// Adapts the embedding rows the model has looked up, as a plain loop:
    ///
    ///     for t in 0..<count where slots[t]'s adapter changes the embedding:
    ///         LoRA:  hidden[t] += s · Σ_j A[j, tokens[t]] · B[:, j]
    ///         copy:  hidden[t]  = table[tokens[t]]
    ///
    /// - Parameters: `tokens`, `slots`: `[count]`; `hidden`: `[count, hiddenSize]`, the base rows.
    public func adaptEmbeddings(
        tokens: UnsafePointer<Int32>, slots: UnsafePointer<AdapterSlot>, count: Int, hidden: UnsafeMutablePointer<Float>
    ) {
        let d = shapes.hiddenSize
        for t in 0..<count {
            let slot = Int(slots[t])
            guard slot >= 0, let embedding = resident[slot]?.embedding else { continue }
            let token = Int(tokens[t])
            switch embedding {
            case .lora(let f): f.addDelta(token: token, into: hidden + t * d)
            case .table(let table): (hidden + t * d).update(from: table.pointer + token * d, count: d)
            }
        }
    }

    /// Adapts the logits the base head computed, per adapter group of rows, as a plain loop:
    ///
    ///     for r in 0..<rows where the adapter of slots[logitTokens[r]] changes the head:
    ///         LoRA:  logits[r] += s · B (A h[r])
    ///         copy:  logits[r]  = W_saved h[r]
    ///
    /// One shrink and one expand product (LoRA) or one product (copy) per adapter, on its rows
    /// only, gathered and scattered by the expanded product's row indices; the saved head is
    /// read in place, never copied.
    ///
    /// - Parameters: `hidden`: `[rows, hiddenSize]`, the normed last hidden states; `logitTokens`:
    ///   `[rows]`, each row's token; `slots`: `[tokens]`; `logits`: `[rows, vocab]`.
    public func adaptHead(
        hidden: UnsafePointer<Float>, rows: Int, logitTokens: UnsafePointer<Int32>, slots: UnsafePointer<AdapterSlot>,
        logits: UnsafeMutablePointer<Float>
    ) {
        let v = shapes.vocabularySize
        func slot(_ r: Int) -> AdapterSlot { slots[Int(logitTokens[r])] }
        for r in 0..<rows {
            let s = slot(r)
            guard s >= 0, let head = resident[Int(s)]?.head else { continue }
            // The first row of each adapter gathers the group; rows are few (one per sequence).
            if (0..<r).contains(where: { slot($0) == s }) { continue }
            let members = headRows.reserve(rows)
            var count = 0
            for q in r..<rows where slot(q) == s {
                members[count] = Int32(q)
                count += 1
            }
            switch head {
            case .full(let weight):
                loraRows.reserve(count)
                let expansion = loraRows.expansion(count: count)
                expansion.inputScale.update(repeating: nil, count: count)
                expansion.outputScale.update(repeating: nil, count: count)
                for i in 0..<count {
                    (logits + Int(members[i]) * v).update(repeating: 0, count: v)
                    expansion.inputRow[i] = members[i]
                    expansion.outputRow[i] = members[i]
                    expansion.factor[i] = 1
                }
                MatMul.multiplyExpanded(hidden, expansion, weight, into: logits)
            case .lora(let f):
                addLoRADelta(f, rows: members, count: count, input: hidden, inputs: shapes.hiddenSize, output: logits)
            }
        }
    }

    /// Whether an occupied slot changes the embedding or the head (the model skips both passes when none does).
    public var adaptsVocabulary: Bool { resident.contains { $0?.embedding != nil || $0?.head != nil } }
}
