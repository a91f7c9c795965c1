// Encoding, stage by stage as Hugging Face `tokenizers` runs them: added tokens are found in the
// raw text first; each piece of text between them is normalized, passed through Metaspace, cut
// by the pre-tokenizer, and each resulting piece is encoded by the model.

extension Tokenizer {
    /// Token ids of `text`.
    /// - Parameters:
    ///   - parseSpecialTokens: recognise special tokens (`<|im_start|>` …) written in the text;
    ///     when false they are encoded as the plain text they are.
    ///   - addSpecialTokens: put `bosTokenId` first when the model asks for it (`addBOS`) and the
    ///     text does not already start with it, and `eosTokenId` last when it asks for that (`addEOS`).
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
                encodeText(classified, range, into: &ids, scratch: &scratch)
            }
        }
        if addSpecialTokens, addBOS, let bos = bosTokenId, ids.first != bos { ids.insert(bos, at: 0) }
        if addSpecialTokens, addEOS, let eos = eosTokenId { ids.append(eos) }
        return ids
    }

    /// One piece of text between added tokens.
    private func encodeText(_ text: ClassifiedText, _ range: Range<Int>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        guard !normalizer.isEmpty || metaspace != nil else {
            // The text as written: the pre-tokenizer works on it in place.
            preTokenizer.forEachPiece(text, range) { piece in encoder.encode(text.scalars[piece], into: &ids, scratch: &scratch) }
            return
        }
        var normalized = normalizer.apply(text.scalars[range])
        if let metaspace {
            metaspace.apply(&normalized, startsInput: range.lowerBound == 0)
            metaspace.forEachPiece(normalized) { piece in encodePieces(normalized, piece, into: &ids, scratch: &scratch) }
        } else {
            encodePieces(normalized, normalized.indices, into: &ids, scratch: &scratch)
        }
    }

    /// Pre-tokenizes `scalars[range]` and encodes every piece.
    private func encodePieces(_ scalars: [Unicode.Scalar], _ range: Range<Int>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        if range.isEmpty { return }
        if preTokenizer.steps.isEmpty {
            encoder.encode(scalars[range], into: &ids, scratch: &scratch)
            return
        }
        let classified = ClassifiedText(Array(scalars[range]))
        preTokenizer.forEachPiece(classified, 0..<classified.scalars.count) { piece in
            encoder.encode(classified.scalars[piece], into: &ids, scratch: &scratch)
        }
    }
}
