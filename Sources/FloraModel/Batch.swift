// The input of one forward pass: tokens of several sequences, each at its own positions
// (prefill chunks and single decode tokens mixed), over the paged KV cache.

/// One sequence's view of the KV cache for this step.
public struct BatchSequence: Sendable, Equatable {
    /// Physical KV blocks holding positions `[i·blockSize, (i+1)·blockSize)` of the sequence.
    public var blockTable: [Int32]
    public init(blockTable: [Int32]) { self.blockTable = blockTable }
}

/// Tokens of many sequences in one forward. Token `t` of sequence `sequenceOfToken[t]` sits at
/// `positions[t]` and attends to positions `0...positions[t]` of its own sequence, so a
/// sequence's earlier positions must be in the cache already or in this batch.
public struct Batch: Sendable {
    public var tokens: [Int32]            // [T]
    public var positions: [Int32]         // [T]
    public var sequenceOfToken: [Int32]   // [T], index into `sequences`
    public var adapterSlots: [Int32]      // [T], -1: no adapter
    public var sequences: [BatchSequence]
    /// Tokens whose next-token logits are wanted (usually each sequence's last token).
    public var logitTokens: [Int32]

    public init(
        tokens: [Int32] = [], positions: [Int32] = [], sequenceOfToken: [Int32] = [], adapterSlots: [Int32]? = nil,
        sequences: [BatchSequence] = [], logitTokens: [Int32] = []
    ) {
        self.tokens = tokens
        self.positions = positions
        self.sequenceOfToken = sequenceOfToken
        self.adapterSlots = adapterSlots ?? Array(repeating: -1, count: tokens.count)
        self.sequences = sequences
        self.logitTokens = logitTokens
    }

    public var tokenCount: Int { tokens.count }

    /// Adds `tokens` of one sequence starting at `position`, with that sequence's block table;
    /// asks for the logits of its last token when `wantLogits`.
    public mutating func append(
        sequenceTokens: [Int32], startPosition: Int, blockTable: [Int32], adapterSlot: Int32 = -1, wantLogits: Bool = true
    ) {
        let sequence = Int32(sequences.count)
        sequences.append(BatchSequence(blockTable: blockTable))
        for (i, token) in sequenceTokens.enumerated() {
            tokens.append(token)
            positions.append(Int32(startPosition + i))
            sequenceOfToken.append(sequence)
            adapterSlots.append(adapterSlot)
        }
        if wantLogits, !sequenceTokens.isEmpty { logitTokens.append(Int32(tokens.count - 1)) }
    }

    /// Checks that every index is in range and every position has a block, so that the forward
    /// never reads or writes outside its buffers.
    public func validate(vocabularySize: Int, blockSize: Int, blockCount: Int) throws {
        let t = tokens.count
        guard positions.count == t, sequenceOfToken.count == t, adapterSlots.count == t else {
            throw ModelError.invalidBatch("per-token arrays differ in length (tokens \(t), positions \(positions.count), sequences \(sequenceOfToken.count), adapter slots \(adapterSlots.count))")
        }
        for i in 0..<t {
            guard tokens[i] >= 0, Int(tokens[i]) < vocabularySize else {
                throw ModelError.invalidBatch("token \(i) has id \(tokens[i]), outside the vocabulary of \(vocabularySize)")
            }
            let s = Int(sequenceOfToken[i])
            guard s >= 0, s < sequences.count else {
                throw ModelError.invalidBatch("token \(i) names sequence \(s) of \(sequences.count)")
            }
            let position = Int(positions[i])
            let table = sequences[s].blockTable
            guard position >= 0, position / blockSize < table.count else {
                throw ModelError.invalidBatch("token \(i) at position \(position) has no KV block (block table holds \(table.count))")
            }
        }
        for table in sequences.map(\.blockTable) {
            for block in table where block < 0 || Int(block) >= blockCount {
                throw ModelError.invalidBatch("block \(block) is outside the KV pool of \(blockCount) blocks")
            }
        }
        for row in logitTokens where row < 0 || Int(row) >= t {
            throw ModelError.invalidBatch("logit row \(row) is outside the batch of \(t) tokens")
        }
    }
}
