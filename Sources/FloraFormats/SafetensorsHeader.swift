// The JSON header of a safetensors file, decoded into typed entries at the boundary.
import Foundation

struct SafetensorsHeader: Decodable {
    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let dataOffsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    private(set) var metadata: [String: String] = [:]
    private(set) var entries: [String: Entry] = [:]

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries[key.stringValue] = try container.decode(Entry.self, forKey: key)
            }
        }
    }

    /// Decodes the header; an error names the file and, where known, the tensor.
    static func decode(_ json: UnsafeRawBufferPointer, file: String) throws -> SafetensorsHeader {
        do {
            return try JSONDecoder().decode(SafetensorsHeader.self, from: Data(json))
        } catch let error as DecodingError {
            let (item, found) = JSONKey.describe(error)
            let expected = item == nil ? "a JSON object of tensor entries"
                : item == "__metadata__" ? "an object of strings"
                : "an entry {\"dtype\": string, \"shape\": [integers], \"data_offsets\": [begin, end]}"
            throw FormatError(.invalidValue, file: file, item: item ?? "header", expected: expected, found: found)
        }
    }
}

/// Any key of a JSON object, for objects whose keys are data (tensor names, shard maps).
struct JSONKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }

    /// The top-level key a decoding error happened under, and what was found there.
    static func describe(_ error: DecodingError) -> (item: String?, found: String) {
        switch error {
        case .keyNotFound(let key, let context):
            return (context.codingPath.first?.stringValue ?? key.stringValue, "no \"\(key.stringValue)\"")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Foundation on Linux reports syntax errors and non-integral numbers alike, without a position.
            return (nil, "text that does not parse as JSON with integer shapes and offsets")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            let detail = context.underlyingError.map { " (\($0.localizedDescription))" } ?? ""
            return (context.codingPath.first?.stringValue,
                    path.isEmpty ? "\(context.debugDescription)\(detail)" : "at \(path): \(context.debugDescription)")
        @unknown default:
            return (nil, "\(error)")
        }
    }
}
