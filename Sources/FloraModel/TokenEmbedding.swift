// The token embeddings and the LM head, which tied models share. Quantized embeddings stay in
// their blocks and are looked up one row per token: no fp32 table of vocab × hidden floats.

import FloraTensor

public struct TokenEmbedding: Sendable {
    /// `[vocab, hidden]`; nil when the rows stay quantized in `packed`.
    let dense: Tensor?
    /// The rows kept in their quantized blocks (the LM head itself when tied); nil when `dense` holds them.
    let packed: PackedMatrix?

    /// Reads the embeddings `embeddingName` and the head: `headName` unless `tied` or absent, else
    /// the embeddings themselves.
    static func load(
        _ weights: some WeightSource, embeddingName: String, headName: String, tied: Bool, vocabularySize: Int, hiddenSize: Int
    ) throws -> (embedding: TokenEmbedding, head: PackedMatrix) {
        let packed = try weights.packedLinear(embeddingName)
        if let packed, packed.outputs != vocabularySize || packed.inputs != hiddenSize {
            throw ModelError.wrongShape(
                source: weights.sourceName, name: embeddingName, expected: [vocabularySize, hiddenSize], found: [packed.outputs, packed.inputs])
        }
        let dense = packed == nil ? try weights.tensor(embeddingName, shape: [vocabularySize, hiddenSize]) : nil
        let head: PackedMatrix
        if !tied && weights.contains(headName) {
            head = try weights.linear(headName, outputs: vocabularySize, inputs: hiddenSize)
        } else if let packed {
            head = packed
        } else {
            head = try weights.linear(embeddingName, outputs: vocabularySize, inputs: hiddenSize, unpacked: dense)
        }
        return (TokenEmbedding(dense: dense, packed: packed), head)
    }

    /// Writes row `token`, `[hidden]`, at `target`.
    @inline(__always)
    func copyRow(_ token: Int, into target: UnsafeMutablePointer<Float>) {
        if let dense {
            target.update(from: dense.pointer + token * dense.shape[1], count: dense.shape[1])
        } else {
            packed!.copyRow(token, into: target)
        }
    }

    /// The whole table, `[vocab, hidden]`, in fp32: built when the rows are quantized (call it once).
    var unpacked: Tensor { dense ?? packed!.unpacked() }
}
