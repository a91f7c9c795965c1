// Errors of tokenizer construction. Each names the source (GGUF key or tokenizer.json field),
// what was expected and what was found; nothing in this module stops the process on bad input.

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A configuration Flora does not implement (tokenizer model, pre-tokenizer, normalizer …).
    case unsupported(what: String, supported: String)
    /// A field that is present but wrong: `field` names it, `expected`/`found` say how.
    case invalid(field: String, expected: String, found: String)
    /// A required field is absent.
    case missing(field: String)

    public var description: String {
        switch self {
        case .unsupported(let what, let supported):
            "unsupported tokenizer configuration: \(what) (Flora supports: \(supported))"
        case .invalid(let field, let expected, let found):
            "invalid tokenizer field \(field): expected \(expected), found \(found)"
        case .missing(let field):
            "missing tokenizer field \(field)"
        }
    }
}
