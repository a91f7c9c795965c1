// Encoding: added tokens first, then per plain-text segment normalization, pre-tokenization,
// the piece's UTF-8 bytes as one-byte tokens, and merges.

import Foundation

extension Tokenizer {
    /// Token ids of `text`.
    /// - Parameters:
    ///   - parseSpecialTokens: recognise special tokens (`<|im_start|>` …) written in the text;
    ///     when false they are encoded as the plain text they are.
    ///   - addSpecialTokens: put `bosTokenId` first when the model asks for it (`addBOS`) and the
    ///     text does not already start with it.
    public func encode(_ text: String, parseSpecialTokens: Bool = true, addSpecialTokens: Bool = false) -> [TokenID] {
        var ids: [TokenID] = []
        ids.reserveCapacity(text.utf8.count / 3 + 1)
        let classified = ClassifiedText(text)
        var scratch = EncodeScratch()
        addedTokenMatcher.split(classified, parseSpecial: parseSpecialTokens) { segment in
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                if normalization == .nfc {
                    var view = String.UnicodeScalarView()
                    view.append(contentsOf: classified.scalars[range])
                    let normalized = ClassifiedText(String(view).precomposedStringWithCanonicalMapping)
                    encodePlain(normalized, 0..<normalized.scalars.count, into: &ids, scratch: &scratch)
                } else {
                    encodePlain(classified, range, into: &ids, scratch: &scratch)
                }
            }
        }
        if addSpecialTokens, addBOS, let bos = bosTokenId, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }

    private func encodePlain(_ text: ClassifiedText, _ range: Range<Int>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        preTokenizer.forEachPiece(text, range) { piece in
            encodePiece(text.scalars[piece], into: &ids, scratch: &scratch)
        }
    }

    private func encodePiece(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        scratch.bytes.removeAll(keepingCapacity: true)
        for scalar in scalars { appendUTF8(scalar, to: &scratch.bytes) }
        if ignoreMerges, let id = wholePieces[scratch.bytes] {
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

    @inline(__always)
    private func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
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

/// Buffers one encode call reuses for every piece.
struct EncodeScratch {
    var bytes: [UInt8] = []
    var word: [Int32] = []
    var bpe = BPEScratch()
}
