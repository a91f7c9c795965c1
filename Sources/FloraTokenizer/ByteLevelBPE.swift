// Byte-level BPE (GPT-2; Hugging Face BPE behind a ByteLevel pre-tokenizer; GGUF "gpt2"): a
// piece's UTF-8 bytes become the vocabulary's one-byte tokens, which then merge by rank.

struct ByteLevelBPE: Sendable {
    /// Id of the one-byte token of each byte (-1: none, only possible when `unknownTokenId` is set).
    let byteTokens: [TokenID]
    let merges: BPEMerges
    let unknownTokenId: TokenID?
    /// For `ignore_merges`: the normal tokens by the bytes they stand for.
    let wholePieces: [[UInt8]: TokenID]?

    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        scratch.bytes.removeAll(keepingCapacity: true)
        for scalar in scalars { UTF8Bytes.append(scalar, to: &scratch.bytes) }
        if let wholePieces, let id = wholePieces[scratch.bytes] {
            ids.append(id)
            return
        }
        scratch.word.removeAll(keepingCapacity: true)
        for byte in scratch.bytes {
            let id = byteTokens[Int(byte)]
            if id >= 0 {
                scratch.word.append(id)
            } else if let unknown = unknownTokenId {
                // Hugging Face fuses runs of unknown symbols into one.
                if scratch.word.last != unknown { scratch.word.append(unknown) }
            }
        }
        merges.merge(&scratch.word, scratch: &scratch.bpe)
        ids.append(contentsOf: scratch.word)
    }
}

/// Buffers one encode call reuses for every piece.
struct EncodeScratch {
    var bytes: [UInt8] = []
    var word: [TokenID] = []
    var bpe = BPEScratch()
    /// Characters without a symbol of their own in the piece being merged (SentencePiece BPE).
    var unknownScalars: [Unicode.Scalar] = []
}

enum UTF8Bytes {
    @inline(__always)
    static func append(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        let value = scalar.value
        switch value {
        case 0..<0x80:
            bytes.append(UInt8(value))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | value >> 6))
            bytes.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | value >> 12))
            bytes.append(UInt8(0x80 | value >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | value & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | value >> 18))
            bytes.append(UInt8(0x80 | value >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | value >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | value & 0x3F))
        }
    }
}
