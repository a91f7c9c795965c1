// The token embeddings and the LM head, which tied models share. A tied model keeps the table
// once, packed for the head's product, and looks embeddings up one row per token from the
// panels; quantized embeddings stay in their blocks likewise. Only an untied model's separate
// fp32 table stays dense (vocab × hidden floats: 113 MB for SmolLM2, 400 MB for StarCoder-1B).

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
        guard !tied && weights.contains(headName) else {
            let table = try weights.linear(embeddingName, outputs: vocabularySize, inputs: hiddenSize)
            return (TokenEmbedding(dense: nil, packed: table), table)
        }
        let head = try weights.linear(headName, outputs: vocabularySize, inputs: hiddenSize)
        if let packed = try weights.packedLinear(embeddingName) {
            guard packed.outputs == vocabularySize, packed.inputs == hiddenSize else {
                throw ModelError.wrongShape(
                    source: weights.sourceName, name: embeddingName, expected: [vocabularySize, hiddenSize], found: [packed.outputs, packed.inputs])
            }
            return (TokenEmbedding(dense: nil, packed: packed), head)
        }
        return (TokenEmbedding(dense: try weights.tensor(embeddingName, shape: [vocabularySize, hiddenSize]), packed: nil), head)
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
