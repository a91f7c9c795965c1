// Typed access to GGUF metadata: each accessor throws an error naming the file, the key, the
// type asked for and the type found, so model code never inspects `GGUFValue` by hand.

extension GGUFFile {
    /// The value of `key`, or an error naming the file and the key.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else {
            throw FormatError(.missing, file: path, item: key, expected: "metadata key \(key)", found: "no such key")
        }
        return value
    }

    public func string(_ key: String) throws -> String {
        let value = try value(key)
        guard case .string(let string) = value else { throw mismatch(key, "a string", value) }
        return string
    }

    /// An integer of any GGUF width that fits in `Int`.
    public func int(_ key: String) throws -> Int {
        let value = try value(key)
        guard let int = value.intValue else { throw mismatch(key, "an integer", value) }
        return int
    }

    /// A float32 or float64 (integers are accepted too: some converters write 10000 for 10000.0).
    public func float(_ key: String) throws -> Float {
        let value = try value(key)
        guard let float = value.floatValue else { throw mismatch(key, "a number", value) }
        return float
    }

    public func bool(_ key: String) throws -> Bool {
        let value = try value(key)
        guard case .bool(let bool) = value else { throw mismatch(key, "a bool", value) }
        return bool
    }

    public func stringArray(_ key: String) throws -> [String] {
        try array(key, of: "strings") { if case .string(let s) = $0 { s } else { nil } }
    }

    public func intArray(_ key: String) throws -> [Int] {
        try array(key, of: "integers") { $0.intValue }
    }

    public func floatArray(_ key: String) throws -> [Float] {
        try array(key, of: "numbers") { $0.floatValue }
    }

    /// Nil when `key` is absent; throws when it is present with another type.
    public func optionalString(_ key: String) throws -> String? { metadata[key] == nil ? nil : try string(key) }
    public func optionalInt(_ key: String) throws -> Int? { metadata[key] == nil ? nil : try int(key) }
    public func optionalFloat(_ key: String) throws -> Float? { metadata[key] == nil ? nil : try float(key) }
    public func optionalBool(_ key: String) throws -> Bool? { metadata[key] == nil ? nil : try bool(key) }
    public func optionalStringArray(_ key: String) throws -> [String]? { metadata[key] == nil ? nil : try stringArray(key) }
    public func optionalIntArray(_ key: String) throws -> [Int]? { metadata[key] == nil ? nil : try intArray(key) }
    public func optionalFloatArray(_ key: String) throws -> [Float]? { metadata[key] == nil ? nil : try floatArray(key) }

    private func array<T>(_ key: String, of what: String, _ convert: (GGUFValue) -> T?) throws -> [T] {
        let value = try value(key)
        guard case .array(_, let items) = value else { throw mismatch(key, "an array of \(what)", value) }
        var result: [T] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let converted = convert(item) else {
                throw FormatError(.typeMismatch, file: path, item: key,
                                  expected: "an array of \(what)", found: "\(item.summary) at index \(index)")
            }
            result.append(converted)
        }
        return result
    }

    private func mismatch(_ key: String, _ expected: String, _ value: GGUFValue) -> FormatError {
        FormatError(.typeMismatch, file: path, item: key, expected: expected, found: value.summary)
    }
}
