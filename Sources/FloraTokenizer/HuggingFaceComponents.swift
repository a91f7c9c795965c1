// tokenizer.json's normalizer, pre-tokenizer, decoder and post-processor, translated into
// Flora's stages; a configuration Flora does not implement is refused, naming the field, what was
// found and what Flora reads (never approximated).

enum HFComponents {
    /// The normalizer: NFC, Prepend and Replace (literal pattern), alone or in a Sequence.
    static func normalizer(_ component: HFComponent?) throws -> Normalizer {
        guard let component else { return .none }
        let parts = component.type == "Sequence" ? (component.normalizers ?? []) : [component]
        return Normalizer(steps: try parts.map { part in
            switch part.type {
            case "NFC":
                return .nfc
            case "Prepend":
                guard let prefix = part.prepend else { throw TokenizerError.missing(field: "normalizer Prepend.prepend") }
                return .prepend(prefix)
            case "Replace":
                guard let pattern = part.pattern?.String, !pattern.isEmpty, let content = part.content else {
                    throw TokenizerError.unsupported(item: "normalizer Replace", found: "pattern \(part.pattern?.Regex.map { "Regex \($0)" } ?? "missing")",
                                                     supported: "Replace with a String pattern")
                }
                return .replace(pattern, with: content)
            default:
                throw TokenizerError.unsupported(item: "normalizer", found: part.type, supported: "NFC, Prepend, Replace (String pattern), Sequence of them")
            }
        })
    }

    /// The pre-tokenizer of a byte-level vocabulary: ByteLevel must be among its steps.
    static func byteLevelPreTokenizer(_ component: HFComponent?) throws -> PreTokenizer {
        guard let component else {
            throw TokenizerError.unsupported(item: "pre_tokenizer", found: "none", supported: "a ByteLevel pre-tokenizer for byte-level BPE")
        }
        var steps: [PreTokenizer.Step] = []
        var sawByteLevel = false
        for part in flatten(component) {
            if part.type == "ByteLevel" {
                if part.add_prefix_space == true {
                    throw TokenizerError.unsupported(item: "pre_tokenizer ByteLevel.add_prefix_space", found: "true", supported: "false")
                }
                sawByteLevel = true
                if part.use_regex ?? true { steps.append(.pattern(.gpt2)) }
            } else {
                steps.append(try splitStep(part))
            }
        }
        guard sawByteLevel else {
            throw TokenizerError.unsupported(item: "pre_tokenizer", found: "no ByteLevel step", supported: "ByteLevel (byte-level BPE)")
        }
        return PreTokenizer(steps: steps)
    }

    /// The pre-tokenizer of a SentencePiece-style vocabulary: none, Metaspace alone, or Digits and
    /// Split steps.
    static func sentencePiecePreTokenizer(_ component: HFComponent?) throws -> (PreTokenizer, Metaspace?) {
        guard let component else { return (PreTokenizer(steps: []), nil) }
        let parts = flatten(component)
        if let metaspacePart = parts.first(where: { $0.type == "Metaspace" }) {
            guard parts.count == 1 else {
                throw TokenizerError.unsupported(item: "pre_tokenizer", found: parts.map(\.type).joined(separator: ", "),
                                                 supported: "Metaspace alone, or Digits/Split steps")
            }
            return (PreTokenizer(steps: []), try metaspace(metaspacePart, field: "pre_tokenizer"))
        }
        if let byteLevel = parts.first(where: { $0.type == "ByteLevel" }) {
            throw TokenizerError.unsupported(item: "pre_tokenizer", found: byteLevel.type, supported: "ByteLevel only with a byte-level BPE vocabulary")
        }
        return (PreTokenizer(steps: try parts.map(splitStep)), nil)
    }

    private static func flatten(_ component: HFComponent) -> [HFComponent] {
        component.type == "Sequence" ? (component.pretokenizers ?? []).flatMap(flatten) : [component]
    }

    private static func splitStep(_ part: HFComponent) throws -> PreTokenizer.Step {
        switch part.type {
        case "Digits":
            return .digits(individually: part.individual_digits ?? false)
        case "Split":
            guard let regex = part.pattern?.Regex else {
                throw TokenizerError.unsupported(item: "pre_tokenizer Split", found: "a String pattern", supported: "Split on a known regex")
            }
            guard let pattern = SplitPattern(regex: regex) else {
                throw TokenizerError.unsupported(item: "pre_tokenizer Split regex", found: regex,
                                                 supported: SplitPattern.allCases.map { "\($0.rawValue): \($0.regex)" }.joined(separator: "; "))
            }
            guard (part.behavior ?? "Isolated") == "Isolated", part.invert != true else {
                throw TokenizerError.unsupported(item: "pre_tokenizer Split", found: "behavior \(part.behavior ?? "?"), invert \(part.invert ?? false)",
                                                 supported: "behavior Isolated, invert false")
            }
            return .pattern(pattern)
        default:
            throw TokenizerError.unsupported(item: "pre_tokenizer", found: part.type,
                                             supported: "Digits and Split steps, with ByteLevel (byte-level BPE), or Metaspace alone")
        }
    }

    /// Metaspace's settings; older files say `add_prefix_space` instead of `prepend_scheme`.
    static func metaspace(_ part: HFComponent, field: String) throws -> Metaspace {
        let replacementText = part.replacement ?? "▁"
        var scalars = replacementText.unicodeScalars.makeIterator()
        guard let replacement = scalars.next(), scalars.next() == nil else {
            throw TokenizerError.invalid(field: "\(field) Metaspace.replacement", expected: "one character", found: "\"\(replacementText)\"")
        }
        let scheme: Metaspace.PrependScheme
        if let name = part.prepend_scheme {
            guard let parsed = Metaspace.PrependScheme(rawValue: name) else {
                throw TokenizerError.invalid(field: "\(field) Metaspace.prepend_scheme", expected: "always, first or never", found: "\"\(name)\"")
            }
            scheme = parsed
        } else {
            scheme = part.add_prefix_space == false ? .never : .always
        }
        return Metaspace(replacement: replacement, prependScheme: scheme, split: part.split ?? true)
    }

    /// The decoder of a byte-level vocabulary: ByteLevel (or none).
    static func byteLevelDecoder(_ component: HFComponent?) throws -> TokenDecoder {
        guard let component else { return .byteLevel }
        let kinds = component.type == "Sequence" ? (component.decoders ?? []).map(\.type) : [component.type]
        guard kinds.allSatisfy({ $0 == "ByteLevel" }) else {
            throw TokenizerError.unsupported(item: "decoder", found: kinds.joined(separator: ", "), supported: "ByteLevel for byte-level BPE")
        }
        return .byteLevel
    }

    /// The decoder of a SentencePiece-style vocabulary: Replace("▁" → " "), ByteFallback, Fuse and
    /// Strip(" ", n, 0) after Fuse (Llama, Mistral, Gemma), or Metaspace (with ByteFallback/Fuse).
    static func sentencePieceDecoder(_ component: HFComponent?) throws -> TokenDecoder {
        guard let component else {
            throw TokenizerError.unsupported(item: "decoder", found: "none (tokens joined with spaces)",
                                             supported: "Replace, ByteFallback, Fuse, Strip or Metaspace")
        }
        let parts = component.type == "Sequence" ? (component.decoders ?? []) : [component]
        var decoding = SentencePieceDecoding(replacement: nil, byteFallback: false, stripLeadingSpaces: 0)
        var fused = false
        for part in parts {
            switch part.type {
            case "Replace":
                guard let pattern = part.pattern?.String, pattern.unicodeScalars.count == 1, part.content == " ",
                      decoding.replacement == nil else {
                    throw TokenizerError.unsupported(item: "decoder Replace", found: "\(part.pattern?.String ?? part.pattern?.Regex ?? "?") → \(part.content ?? "?")",
                                                     supported: "one Replace of a single character by \" \"")
                }
                decoding.replacement = pattern.unicodeScalars.first
            case "ByteFallback":
                decoding.byteFallback = true
            case "Fuse":
                fused = true
            case "Strip":
                // Before Fuse, Strip works on every token; after it, on the whole text.
                guard part.content == " ", (part.stop ?? 0) == 0, fused else {
                    throw TokenizerError.unsupported(
                        item: "decoder Strip", found: "content \(part.content.map { "\"\($0)\"" } ?? "?"), start \(part.start ?? 0), stop \(part.stop ?? 0)\(fused ? "" : ", before Fuse")",
                        supported: "Strip of leading spaces after Fuse")
                }
                decoding.stripLeadingSpaces = part.start ?? 0
            case "Metaspace":
                let metaspace = try metaspace(part, field: "decoder")
                guard decoding.replacement == nil || decoding.replacement == metaspace.replacement else {
                    throw TokenizerError.unsupported(item: "decoder", found: "Replace and Metaspace with different characters", supported: "one of them")
                }
                decoding.replacement = metaspace.replacement
                decoding.dropReplacementInFirstToken = metaspace.prependScheme != .never
            default:
                throw TokenizerError.unsupported(item: "decoder", found: part.type, supported: "Replace, ByteFallback, Fuse, Strip, Metaspace")
            }
        }
        return .sentencePiece(decoding)
    }

    /// The special tokens a TemplateProcessing post-processor puts before and after a single sequence.
    static func templateSpecialTokens(_ component: HFComponent?) -> (first: String?, last: String?) {
        guard let component else { return (nil, nil) }
        if component.type == "Sequence" {
            let found = (component.processors ?? []).map(templateSpecialTokens)
            return (found.lazy.compactMap(\.first).first, found.lazy.compactMap(\.last).first)
        }
        guard component.type == "TemplateProcessing", let single = component.single,
              let sequence = single.firstIndex(where: { $0.Sequence != nil }) else { return (nil, nil) }
        return (single[..<sequence].last?.SpecialToken?.id, single[(sequence + 1)...].first?.SpecialToken?.id)
    }
}
