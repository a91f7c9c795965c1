// Errors of the adapter layer that are not about a file (those are FloraFormats' PEFTError).

/// A refused request to build, install or use adapter weights. Every case says what was
/// expected and what was found.
public enum AdapterError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A value passed to a constructor is out of range.
    case invalidArgument(what: String, expected: String, found: String)
    /// Every slot of the bank holds an adapter.
    case bankFull(adapter: String, capacity: Int)
    /// The adapter was built for other dimensions than the bank's model.
    case shapeMismatch(adapter: String, expected: String, found: String)
    /// A slot index that is out of range or holds no adapter.
    case invalidSlot(slot: Int32, expected: String)

    public var description: String {
        switch self {
        case .invalidArgument(let what, let expected, let found):
            "invalid \(what): expected \(expected), found \(found)"
        case .bankFull(let adapter, let capacity):
            "cannot install adapter '\(adapter)': all \(capacity) slots of the adapter bank are in use (expected a free slot)"
        case .shapeMismatch(let adapter, let expected, let found):
            "adapter '\(adapter)' does not fit the model: expected \(expected), found \(found)"
        case .invalidSlot(let slot, let expected):
            "invalid adapter slot \(slot): expected \(expected)"
        }
    }
}
