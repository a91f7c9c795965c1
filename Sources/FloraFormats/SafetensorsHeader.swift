// The JSON header of a safetensors file, decoded into typed entries at the boundary. Two readers
// share one meaning: `SafetensorsHeaderScanner` reads the plain form every writer produces at
// memory speed (registering thousands of adapters reads thousands of headers), and Codable
// decides everything else, so every refusal keeps its message.
import Foundation

/// The tensor entries and metadata of a safetensors header, before validation against the file.
public struct SafetensorsHeader: Decodable, Equatable, Sendable {
    public struct Entry: Decodable, Equatable, Sendable {
        public let dtype: String
        public let shape: [Int]
        public let dataOffsets: [Int]

        public init(dtype: String, shape: [Int], dataOffsets: [Int]) {
            self.dtype = dtype
            self.shape = shape
            self.dataOffsets = dataOffsets
        }

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    public private(set) var metadata: [String: String] = [:]
    public private(set) var entries: [String: Entry] = [:]

    public init(metadata: [String: String], entries: [String: Entry]) {
        self.metadata = metadata
        self.entries = entries
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries[key.stringValue] = try container.decode(Entry.self, forKey: key)
            }
        }
    }

    /// Reads the header: the scanner's fast path when the JSON is in the plain form, Codable
    /// otherwise; an error names the file and, where known, the tensor.
    public static func read(_ json: UnsafeRawBufferPointer, file: String) throws -> SafetensorsHeader {
        if let header = SafetensorsHeaderScanner.scan(json) { return header }
        return try decode(json, file: file)
    }

    /// Decodes the header with Codable: the reference reader, and the one that explains refusals.
    public static func decode(_ json: UnsafeRawBufferPointer, file: String) throws -> SafetensorsHeader {
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
