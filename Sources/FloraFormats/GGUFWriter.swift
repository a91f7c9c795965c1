// Writes GGUF version 3 files (GGUF specification, ggml's docs/gguf.md): metadata of every
// value type and tensors in F32, F16, BF16, Q8_0, Q4_0, Q4_1 or the K-quants Q2_K … Q6_K (or raw
// bytes of any type), so tests can build small models and converters can emit files that
// llama.cpp reads. K-quants are encoded by BlockFormat's plain rounding, not llama.cpp's search.
import FloraTensor
import Foundation

/// Collects metadata and tensors, then serialises them in insertion order. Offsets are aligned
/// to `general.alignment` (32 unless that key is set).
public struct GGUFWriter: Sendable {
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [(name: String, dimensions: [Int], type: GGUFType, bytes: [UInt8])] = []
    private static let source = "GGUF writer"

    public init() {}

    /// Sets `key`; setting a key again replaces its value in place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    /// Adds `tensor` (row-major shape, stored as the reversed ggml dimensions) converted to
    /// `type`, which must be one that Flora can also read back (`GGUFType.supportedNames`).
    public mutating func addTensor(_ name: String, _ tensor: Tensor, type: GGUFType = .f32) throws {
        guard let format = type.blockFormat else {
            throw FormatError(.unsupportedType, file: Self.source, item: name,
                              expected: "a tensor type the writer can encode (\(GGUFType.supportedNames))", found: "\(type)")
        }
        let dimensions = Array(tensor.shape.reversed())
        guard !dimensions.isEmpty, dimensions.count <= 4, let byteCount = format.byteCount(elements: tensor.count),
              dimensions[0] % format.elementsPerBlock == 0 else {
            throw FormatError(.invalidValue, file: Self.source, item: name,
                              expected: "1 to 4 dimensions with the innermost a multiple of \(format.elementsPerBlock) for \(type)",
                              found: "shape \(tensor.shape)")
        }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        bytes.withUnsafeMutableBytes { destination in
            if let start = destination.baseAddress {
                format.quantize(tensor.pointer, blocks: tensor.count / format.elementsPerBlock, into: start)
            }
        }
        try addRawTensor(name, dimensions: dimensions, type: type, bytes: bytes)
    }

    /// Adds a tensor given as stored bytes of any type (e.g. Q6_K blocks); `dimensions` are in
    /// ggml order (ne0 first) and must match the byte count.
    public mutating func addRawTensor(_ name: String, dimensions: [Int], type: GGUFType, bytes: [UInt8]) throws {
        let (blockElements, blockBytes) = type.blockLayout
        let elements = dimensions.reduce(1, *)
        guard !dimensions.isEmpty, dimensions.count <= 4, dimensions.allSatisfy({ $0 >= 0 }),
              dimensions[0] % blockElements == 0, elements / blockElements * blockBytes == bytes.count else {
            throw FormatError(.invalidValue, file: Self.source, item: name,
                              expected: "1 to 4 dimensions matching \(bytes.count) bytes of \(type)", found: "dimensions \(dimensions)")
        }
        if tensors.contains(where: { $0.name == name }) {
            throw FormatError(.invalidValue, file: Self.source, item: name, expected: "each tensor name once", found: "a second tensor with this name")
        }
        tensors.append((name, dimensions, type, bytes))
    }

    /// The whole file.
    public func serialized() throws -> [UInt8] {
        var out = ByteWriter()
        let alignment = try GGUFFile.alignment(in: values, file: Self.source)
        out.append(GGUFFile.magic)
        out.append(UInt32(3))
        out.append(UInt64(tensors.count))
        out.append(UInt64(keys.count))
        for key in keys {
            out.appendString(key)
            try out.appendValue(values[key]!, key: key, depth: 0)
        }
        var offset = 0
        for tensor in tensors {
            out.appendString(tensor.name)
            out.append(UInt32(tensor.dimensions.count))
            for dimension in tensor.dimensions { out.append(UInt64(dimension)) }
            out.append(tensor.type.rawValue)
            out.append(UInt64(offset))
            offset = (offset + tensor.bytes.count + alignment - 1) / alignment * alignment
        }
        out.pad(to: alignment)
        for tensor in tensors {
            out.bytes.append(contentsOf: tensor.bytes)
            out.pad(to: alignment)
        }
        return out.bytes
    }

    /// Writes the file to `path` (replacing it atomically).
    public func write(to path: String) throws {
        let bytes = try serialized()
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FormatError(.io, file: path, expected: "a writable path", found: "\(error)")
        }
    }
}

/// Little-endian appends for the writers.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendString(_ string: String) {
        append(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    mutating func pad(to alignment: Int, with byte: UInt8 = 0) {
        while bytes.count % alignment != 0 { bytes.append(byte) }
    }

    mutating func appendValue(_ value: GGUFValue, key: String, depth: Int) throws {
        if depth == 0 { append(value.type.rawValue) }
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .float64(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let v): appendString(v)
        case .array(let elementType, let items):
            append(elementType.rawValue)
            append(UInt64(items.count))
            for (index, item) in items.enumerated() {
                if item.type != elementType {
                    throw FormatError(.typeMismatch, file: "GGUF writer", item: key,
                                      expected: "array elements of type \(elementType)", found: "\(item.type) at index \(index)")
                }
                try appendValue(item, key: key, depth: depth + 1)
            }
        }
    }
}

extension GGUFValue {
    public static func strings(_ values: [String]) -> GGUFValue { .array(.string, values.map { .string($0) }) }
    public static func int32s(_ values: [Int32]) -> GGUFValue { .array(.int32, values.map { .int32($0) }) }
    public static func float32s(_ values: [Float]) -> GGUFValue { .array(.float32, values.map { .float32($0) }) }
}
