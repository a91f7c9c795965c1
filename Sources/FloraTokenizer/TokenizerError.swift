// Errors of tokenizer construction. Each names the item (GGUF key or tokenizer.json field), what
// was expected and what was found, and — once the file is known — the file; nothing in this
// module stops the process on bad input.

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A configuration Flora does not implement (tokenizer model, pre-tokenizer, normalizer …):
    /// `item` is the field, `found` its value, `supported` what Flora reads instead.
    case unsupported(item: String, found: String, supported: String)
    /// A field that is present but wrong: `field` names it, `expected`/`found` say how.
    case invalid(field: String, expected: String, found: String)
    /// A required field is absent.
    case missing(field: String)
    /// One of the above, in the named file.
    indirect case inFile(String, TokenizerError)

    public var description: String {
        switch self {
        case .unsupported(let item, let found, let supported):
            "unsupported tokenizer configuration: \(item) is \(found) (Flora reads: \(supported))"
        case .invalid(let field, let expected, let found):
            "invalid tokenizer field \(field): expected \(expected), found \(found)"
        case .missing(let field):
            "missing tokenizer field \(field)"
        case .inFile(let file, let error):
            "\(file): \(error)"
        }
    }

    /// This error, said to come from `file` (once).
    func inFile(_ file: String) -> TokenizerError {
        if case .inFile = self { return self }
        return .inFile(file, self)
    }
}
