// Writes safetensors files (Hugging Face's safetensors format): keys sorted, data in key order,
// the JSON header padded with spaces to a multiple of 8 bytes so the data stays aligned.
import FloraTensor
import Foundation

public enum SafetensorsWriter {
    /// Writes `tensors` (fp32 in memory) as `dtype` (F32, F16 or BF16) with the string
    /// `metadata` as `__metadata__` (omitted when empty), replacing `path` atomically.
    public static func write(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             dtype: SafetensorsDType = .f32, to path: String) throws {
        let bytes = try serialized(tensors: tensors, metadata: metadata, dtype: dtype, file: path)
        // Checkpoints and adapter folders are read back after crashes: never leave a torn file.
        try DurableFile.write(bytes, to: path)
    }

    /// The bytes of the file that `write` writes.
    public static func serialized(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                                  dtype: SafetensorsDType = .f32, file: String = "safetensors writer") throws -> [UInt8] {
        let format: BlockFormat
        switch dtype {
        case .f32: format = .f32
        case .f16: format = .f16
        case .bf16: format = .bf16
        default:
            throw FormatError(.unsupportedType, file: file, expected: "F32, F16 or BF16 to write", found: "dtype \(dtype)")
        }
        let sorted = tensors.sorted { $0.name < $1.name }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.name == next.name {
            throw FormatError(.invalidValue, file: file, item: next.name, expected: "each tensor name once", found: "it twice")
        }
        if let reserved = sorted.first(where: { $0.name == "__metadata__" }) {
            throw FormatError(.invalidValue, file: file, item: reserved.name, expected: "a tensor name", found: "the reserved key")
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in sorted {
            let size = tensor.count * dtype.byteSize
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out = ByteWriter()
        out.bytes.reserveCapacity(8 + header.count + offset)
        out.append(UInt64(header.count))
        out.bytes += header
        for (_, tensor) in sorted {
            let start = out.bytes.count
            out.bytes += repeatElement(0, count: tensor.count * dtype.byteSize)
            out.bytes.withUnsafeMutableBytes { destination in
                format.quantize(tensor.pointer, blocks: tensor.count, into: destination.baseAddress! + start)
            }
        }
        return out.bytes
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
