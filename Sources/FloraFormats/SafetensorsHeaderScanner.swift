// A byte-level reader for safetensors headers in the plain form that writers produce: keys and
// strings without escapes, entries of exactly `dtype`, `shape` and `data_offsets`, numbers as
// bare digits. Codable spent most of the startup time of a server with 1,000 adapters here.
// Anything outside the plain form gives nil, and Codable decides: the scanner never accepts a
// header that Codable would read differently (its tests check exactly that).

public enum SafetensorsHeaderScanner {
    /// The header, or nil when the JSON is not in the plain form (or not valid).
    public static func scan(_ json: UnsafeRawBufferPointer) -> SafetensorsHeader? {
        var cursor = Cursor(bytes: json)
        return cursor.header()
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        mutating func header() -> SafetensorsHeader? {
            var metadata: [String: String]?
            var entries: [String: SafetensorsHeader.Entry] = [:]
            entries.reserveCapacity(bytes.count / 96)  // an entry takes about 100 bytes of JSON
            let complete = object { cursor, key in
                if key == "__metadata__" {
                    guard metadata == nil, let strings = cursor.stringObject() else { return false }
                    metadata = strings
                } else {
                    guard let entry = cursor.entry(), entries.updateValue(entry, forKey: key) == nil else { return false }
                }
                return true
            }
            skipWhitespace()
            guard complete, at == bytes.count else { return nil }
            return SafetensorsHeader(metadata: metadata ?? [:], entries: entries)
        }

        /// `{ "dtype": string, "shape": [ints], "data_offsets": [ints] }` in any order.
        mutating func entry() -> SafetensorsHeader.Entry? {
            var dtype: String?, shape: [Int]?, offsets: [Int]?
            let complete = object { cursor, key in
                switch key {
                case "dtype" where dtype == nil: dtype = cursor.string(); return dtype != nil
                case "shape" where shape == nil: shape = cursor.integers(); return shape != nil
                case "data_offsets" where offsets == nil: offsets = cursor.integers(); return offsets != nil
                default: return false
                }
            }
            guard complete, let dtype, let shape, let offsets else { return nil }
            return SafetensorsHeader.Entry(dtype: dtype, shape: shape, dataOffsets: offsets)
        }

        mutating func stringObject() -> [String: String]? {
            var strings: [String: String] = [:]
            let complete = object { cursor, key in
                guard strings[key] == nil, let value = cursor.string() else { return false }
                strings[key] = value
                return true
            }
            return complete ? strings : nil
        }

        /// Walks `{ key: value, ... }`, handing each key to `member`, which reads the value.
        mutating func object(_ member: (inout Cursor, String) -> Bool) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                guard let key = string(), take(UInt8(ascii: ":")) else { return false }
                guard member(&self, key) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        }

        mutating func integers() -> [Int]? {
            guard take(UInt8(ascii: "[")) else { return nil }
            var values: [Int] = []
            if take(UInt8(ascii: "]")) { return values }
            repeat {
                guard let value = integer() else { return nil }
                values.append(value)
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]")) ? values : nil
        }

        /// Bare digits without a leading zero, short enough that they cannot overflow.
        mutating func integer() -> Int? {
            skipWhitespace()
            let start = at
            var value = 0
            while at < bytes.count, bytes[at] &- UInt8(ascii: "0") < 10 {
                guard at - start < 18 else { return nil }
                value = value * 10 + Int(bytes[at] &- UInt8(ascii: "0"))
                at += 1
            }
            let digits = at - start
            guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
            return value
        }

        /// A string without escapes or control characters, in valid UTF-8.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = at
            var ascii = true
            while at < bytes.count {
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") {
                    at += 1
                    let text = UnsafeRawBufferPointer(rebasing: bytes[start ..< at - 1])
                    // Tensor names are ASCII, which needs no validation.
                    return ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                ascii = ascii && byte < 0x80
                at += 1
            }
            return nil
        }

        /// Skips whitespace, then consumes `byte` if it comes next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        mutating func skipWhitespace() {
            while at < bytes.count {
                switch bytes[at] {
                case 0x20, 0x09, 0x0A, 0x0D: at += 1
                default: return
                }
            }
        }
    }
}
