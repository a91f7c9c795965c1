// Construction from Hugging Face files: tokenizer.json (the `tokenizers` library's
// serialization: model BPE, added_tokens, normalizer, pre_tokenizer, post_processor, decoder)
// and tokenizer_config.json (`transformers`: chat_template, bos/eos/pad/unk tokens, add_bos_token).

import Foundation

extension Tokenizer {
    /// - Parameter chatTemplate: overrides the config's template (e.g. from a chat_template.jinja file).
    public convenience init(tokenizerJSON: Data, tokenizerConfigJSON: Data?, chatTemplate: String? = nil) throws {
        let file: HFTokenizerFile
        do {
            file = try JSONDecoder().decode(HFTokenizerFile.self, from: tokenizerJSON)
        } catch {
            throw TokenizerError.invalid(field: "tokenizer.json", expected: "a Hugging Face tokenizer file", found: "\(error)")
        }
        var config: HFTokenizerConfig? = nil
        if let tokenizerConfigJSON {
            do {
                config = try JSONDecoder().decode(HFTokenizerConfig.self, from: tokenizerConfigJSON)
            } catch {
                throw TokenizerError.invalid(field: "tokenizer_config.json", expected: "a JSON object", found: "\(error)")
            }
        }
        try self.init(file.spec(config: config, chatTemplate: chatTemplate))
    }
}

struct HFTokenizerFile: Decodable {
    var added_tokens: [HFAddedToken]?
    var normalizer: HFComponent?
    var pre_tokenizer: HFComponent?
    var post_processor: HFComponent?
    var decoder: HFComponent?
    var model: HFModel

    func spec(config: HFTokenizerConfig?, chatTemplate: String?) throws -> TokenizerSpec {
        if let type = model.type, type != "BPE" {
            throw TokenizerError.unsupported(what: "tokenizer.json model.type \"\(type)\"", supported: "BPE")
        }
        for (field, value) in [("continuing_subword_prefix", model.continuing_subword_prefix), ("end_of_word_suffix", model.end_of_word_suffix)] {
            if let value, !value.isEmpty {
                throw TokenizerError.unsupported(what: "tokenizer.json model.\(field) \"\(value)\"", supported: "none (byte-level BPE)")
            }
        }
        guard let vocab = model.vocab else { throw TokenizerError.missing(field: "tokenizer.json model.vocab") }
        let added = added_tokens ?? []
        let maxId = Int(max(vocab.values.max() ?? -1, added.map(\.id).max() ?? -1))
        guard let minId = (Array(vocab.values) + added.map(\.id)).min(), minId >= 0, maxId < 1 << 24 else {
            throw TokenizerError.invalid(field: "tokenizer.json model.vocab", expected: "token ids in 0..<2^24", found: "ids \(vocab.values.min() ?? 0)…\(maxId)")
        }
        var tokens = [String](repeating: "", count: maxId + 1)
        for (token, id) in vocab { tokens[Int(id)] = token }
        for token in added { tokens[Int(token.id)] = token.content }

        let merges = (model.merges ?? []).map(\.text)
        let preTokenizer = try Self.preTokenizer(pre_tokenizer)
        try Self.checkDecoder(decoder)
        let normalization = try Self.normalization(normalizer)

        func id(of reference: HFTokenReference?, _ field: String) throws -> TokenID? {
            guard let content = reference?.content else { return nil }
            if let token = added.first(where: { $0.content == content }) { return token.id }
            if let id = vocab[content] { return id }
            throw TokenizerError.invalid(field: "tokenizer_config.json \(field)", expected: "a token of the vocabulary", found: "\"\(content)\"")
        }
        let templateBOS = Self.templateBOS(post_processor)
        let bos = try id(of: config?.bos_token, "bos_token") ?? templateBOS.flatMap { content in added.first { $0.content == content }?.id ?? vocab[content] }
        let unknown = try model.unk_token.map { content -> TokenID in
            guard let id = vocab[content] ?? added.first(where: { $0.content == content })?.id else {
                throw TokenizerError.invalid(field: "tokenizer.json model.unk_token", expected: "a token of the vocabulary", found: "\"\(content)\"")
            }
            return id
        } ?? (try id(of: config?.unk_token, "unk_token"))

        return TokenizerSpec(
            tokens: tokens,
            merges: merges,
            addedTokens: added.map {
                AddedToken(content: $0.content, id: $0.id, special: $0.special ?? false,
                           lstrip: $0.lstrip ?? false, rstrip: $0.rstrip ?? false, singleWord: $0.single_word ?? false)
            },
            preTokenizer: preTokenizer,
            normalization: normalization,
            ignoreMerges: model.ignore_merges ?? false,
            bosTokenId: bos,
            eosTokenId: try id(of: config?.eos_token, "eos_token"),
            padTokenId: try id(of: config?.pad_token, "pad_token"),
            unknownTokenId: unknown,
            addBOS: config?.add_bos_token ?? (templateBOS != nil),
            chatTemplate: chatTemplate ?? config?.chat_template?.defaultTemplate)
    }

    /// The steps of a pre-tokenizer; a ByteLevel step must be present, since the vocabulary is byte-level.
    static func preTokenizer(_ component: HFComponent?) throws -> PreTokenizer {
        var steps: [PreTokenizer.Step] = []
        var sawByteLevel = false
        func add(_ c: HFComponent) throws {
            switch c.type {
            case "Sequence":
                for inner in c.pretokenizers ?? [] { try add(inner) }
            case "ByteLevel":
                if c.add_prefix_space == true {
                    throw TokenizerError.unsupported(what: "tokenizer.json pre_tokenizer ByteLevel with add_prefix_space", supported: "add_prefix_space false")
                }
                sawByteLevel = true
                if c.use_regex ?? true { steps.append(.pattern(.gpt2)) }
            case "Digits":
                steps.append(.digits(individually: c.individual_digits ?? false))
            case "Split":
                guard let regex = c.pattern?.Regex else {
                    throw TokenizerError.unsupported(what: "tokenizer.json pre_tokenizer Split on a plain string", supported: "Split on a known regex")
                }
                guard let pattern = SplitPattern(regex: regex) else {
                    throw TokenizerError.unsupported(what: "tokenizer.json pre_tokenizer Split regex \(regex)",
                                                     supported: SplitPattern.allCases.map { "\($0.rawValue): \($0.regex)" }.joined(separator: "; "))
                }
                guard (c.behavior ?? "Isolated") == "Isolated", c.invert != true else {
                    throw TokenizerError.unsupported(what: "tokenizer.json pre_tokenizer Split behavior \(c.behavior ?? "?") invert \(c.invert ?? false)",
                                                     supported: "behavior Isolated, invert false")
                }
                steps.append(.pattern(pattern))
            default:
                throw TokenizerError.unsupported(what: "tokenizer.json pre_tokenizer \(c.type)", supported: "Sequence, ByteLevel, Digits, Split")
            }
        }
        guard let component else {
            throw TokenizerError.unsupported(what: "tokenizer.json without pre_tokenizer", supported: "byte-level BPE (a ByteLevel pre-tokenizer)")
        }
        try add(component)
        guard sawByteLevel else {
            throw TokenizerError.unsupported(what: "tokenizer.json pre_tokenizer without ByteLevel", supported: "byte-level BPE")
        }
        return PreTokenizer(steps: steps)
    }

    static func checkDecoder(_ component: HFComponent?) throws {
        guard let component else { return }
        let kinds = component.type == "Sequence" ? (component.decoders ?? []).map(\.type) : [component.type]
        guard kinds.allSatisfy({ $0 == "ByteLevel" }) else {
            throw TokenizerError.unsupported(what: "tokenizer.json decoder \(kinds.joined(separator: ", "))", supported: "ByteLevel")
        }
    }

    static func normalization(_ component: HFComponent?) throws -> Normalization {
        guard let component else { return .none }
        let kinds = component.type == "Sequence" ? (component.normalizers ?? []).map(\.type) : [component.type]
        if kinds.isEmpty { return .none }
        if kinds == ["NFC"] { return .nfc }
        throw TokenizerError.unsupported(what: "tokenizer.json normalizer \(kinds.joined(separator: ", "))", supported: "none, NFC")
    }

    /// The special token a TemplateProcessing post-processor puts before a single sequence.
    static func templateBOS(_ component: HFComponent?) -> String? {
        guard let component else { return nil }
        if component.type == "Sequence" {
            return (component.processors ?? []).lazy.compactMap { templateBOS($0) }.first
        }
        guard component.type == "TemplateProcessing", let first = component.single?.first else { return nil }
        return first.SpecialToken?.id
    }
}

struct HFModel: Decodable {
    var type: String?
    var vocab: [String: TokenID]?
    var merges: [HFMerge]?
    var unk_token: String?
    var ignore_merges: Bool?
    var continuing_subword_prefix: String?
    var end_of_word_suffix: String?
}

/// A merge, written "a b" (older files) or ["a", "b"] (newer ones).
struct HFMerge: Decodable {
    var text: String

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let pair = try? container.decode([String].self), pair.count == 2 {
            text = pair[0] + " " + pair[1]
        } else {
            text = try container.decode(String.self)
        }
    }
}

struct HFAddedToken: Decodable {
    var id: TokenID
    var content: String
    var single_word: Bool?
    var lstrip: Bool?
    var rstrip: Bool?
    var special: Bool?
}

/// Any normalizer, pre-tokenizer, post-processor or decoder: the fields Flora reads of each.
struct HFComponent: Decodable {
    struct Pattern: Decodable {
        var Regex: String?
        var String: String?
    }
    struct TemplatePiece: Decodable {
        struct Special: Decodable { var id: String }
        var SpecialToken: Special?
    }

    var type: String
    var pretokenizers: [HFComponent]?
    var normalizers: [HFComponent]?
    var decoders: [HFComponent]?
    var processors: [HFComponent]?
    var add_prefix_space: Bool?
    var use_regex: Bool?
    var individual_digits: Bool?
    var pattern: Pattern?
    var behavior: String?
    var invert: Bool?
    var single: [TemplatePiece]?
}

/// tokenizer_config.json: a token is a string or an AddedToken object; the chat template a
/// string or a list of named templates.
struct HFTokenizerConfig: Decodable {
    var bos_token: HFTokenReference?
    var eos_token: HFTokenReference?
    var pad_token: HFTokenReference?
    var unk_token: HFTokenReference?
    var add_bos_token: Bool?
    var chat_template: HFChatTemplate?
}

struct HFTokenReference: Decodable {
    var content: String?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { content = nil; return }
        if let text = try? container.decode(String.self) { content = text; return }
        struct Object: Decodable { var content: String }
        content = try container.decode(Object.self).content
    }
}

struct HFChatTemplate: Decodable {
    var defaultTemplate: String?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { defaultTemplate = text; return }
        struct Named: Decodable { var name: String; var template: String }
        let named = try container.decode([Named].self)
        defaultTemplate = (named.first { $0.name == "default" } ?? named.first)?.template
    }
}
