// Errors of parsing and rendering a Jinja template: the message, and the template line when known.

public struct JinjaError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The template text is not valid (in Flora's subset).
        case syntax
        /// Rendering failed: a type error, an unknown filter, an undefined value used as data.
        case render
        /// The template called `raise_exception(message)`.
        case raised
    }

    public let kind: Kind
    public let message: String
    /// 1-based line in the template source, when known.
    public let line: Int?

    public init(_ kind: Kind, _ message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        let place = line.map { " (template line \($0))" } ?? ""
        switch kind {
        case .syntax: return "chat template syntax error\(place): \(message)"
        case .render: return "chat template error\(place): \(message)"
        case .raised: return "chat template raised an exception\(place): \(message)"
        }
    }
}
