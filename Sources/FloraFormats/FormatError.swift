// The one error type of Flora's file readers and writers (GGUF, safetensors, Hugging Face folders).

/// A file that cannot be read or written as asked. Every error names the file, the item inside it
/// (metadata key, tensor name, JSON field; nil for the file as a whole), what the reader expected
/// and what it found, so that the message alone tells a user what is wrong with which file.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers (and tests) that branch on it; the message is in `description`.
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be opened, mapped, read or written.
        case io
        /// The file ends before a value it declares.
        case truncated
        /// The file does not start with the format's magic bytes.
        case badMagic
        /// A format version this reader does not implement.
        case unsupportedVersion
        /// A count or length beyond what the file (or a sane limit) can hold.
        case limitExceeded
        /// A value of the right type that is not allowed (bad UTF-8, zero alignment, bad JSON ...).
        case invalidValue
        /// A key, tensor or file that must be present is absent.
        case missing
        /// A key or tensor holds another type than the one asked for.
        case typeMismatch
        /// A tensor type or dtype that the reader knows but cannot convert yet.
        case unsupportedType
        /// Tensor data that lies (partly) outside the file or overlaps another tensor.
        case outOfBounds
        /// An offset that is not a multiple of the required alignment.
        case misaligned
    }

    public let kind: Kind
    /// The path of the file, as the caller gave it.
    public let file: String
    /// The metadata key, tensor name or JSON field concerned; nil when the file as a whole is.
    public let item: String?
    public let expected: String
    public let found: String

    public init(_ kind: Kind, file: String, item: String? = nil, expected: String, found: String) {
        self.kind = kind
        self.file = file
        self.item = item
        self.expected = expected
        self.found = found
    }

    public var description: String {
        let place = item.map { "\(file): \($0)" } ?? file
        return "\(place): expected \(expected), found \(found)"
    }
}
