// A safetensors file (Hugging Face's safetensors format): an unsigned 64-bit little-endian header
// length N, N bytes of JSON (an object of tensor entries {dtype, shape, data_offsets} and an
// optional "__metadata__" object of strings, possibly padded with spaces), then the data.
import FloraTensor
import Foundation

/// A parsed, memory-mapped safetensors file. Parsing validates every entry: known dtype,
/// non-negative shape, `data_offsets` inside the data section, `end − begin` equal to the
/// element count times the dtype size, and no two tensors sharing bytes.
public final class SafetensorsFile: Sendable {
    public let path: String
    /// The `__metadata__` object (empty when absent).
    public let metadata: [String: String]
    public let tensorInfos: [String: SafetensorsTensorInfo]
    /// Tensor names in the order of their data in the file.
    public let tensorNames: [String]
    /// The tensors in the order of their data in the file.
    public let orderedTensorInfos: [SafetensorsTensorInfo]
    /// Offset of the data section from the start of the file (8 + header length).
    public let dataOffset: Int
    private let bytes: MappedFile

    /// The reference implementation refuses headers above 100 MB; so does Flora.
    static let maximumHeaderLength = 100_000_000

    public convenience init(path: String) throws {
        try self.init(bytes: MappedFile(path: path))
    }

    /// Parses a safetensors file held in memory; `name` stands for the path in error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(bytes: MappedFile(copying: bytes, name: name))
    }

    private init(bytes: MappedFile) throws {
        self.bytes = bytes
        path = bytes.path
        var reader = ByteReader(bytes: bytes.bytes, file: path)
        reader.item = "header"
        let headerLength = try reader.readCount(limit: Self.maximumHeaderLength, for: "header length")
        try reader.require(headerLength, for: "the JSON header")
        dataOffset = 8 + headerLength
        let json = UnsafeRawBufferPointer(rebasing: bytes.bytes[8 ..< dataOffset])
        let header = try SafetensorsHeader.read(json, file: path)
        metadata = header.metadata

        let dataSize = bytes.count - dataOffset
        // A file shorter than its header describes was cut, or is still being copied in (a server
        // that picks up adapter folders as they appear meets such files): said of the file as a
        // whole, rather than as whichever tensor's offsets happen to be checked first.
        let declaredEnd = header.entries.values.compactMap { $0.dataOffsets.count == 2 ? $0.dataOffsets[1] : nil }.max() ?? 0
        if declaredEnd > dataSize {
            throw FormatError(.truncated, file: path,
                              expected: "\(declaredEnd) bytes of data after the \(dataOffset)-byte header, as its data_offsets declare",
                              found: "\(dataSize) bytes: the file is truncated, or still being written")
        }
        var infos: [String: SafetensorsTensorInfo] = [:]
        infos.reserveCapacity(header.entries.count)
        for (name, entry) in header.entries {
            infos[name] = try Self.validate(name: name, entry: entry, dataOffset: dataOffset, dataSize: dataSize, file: path)
        }
        let ordered = infos.values.sorted { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where !next.dataOffsets.isEmpty && next.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
            throw FormatError(.outOfBounds, file: path, item: next.name,
                              expected: "data that starts after tensor \(previous.name) ends (offset \(previous.dataOffsets.upperBound))",
                              found: "data_offsets [\(next.dataOffsets.lowerBound), \(next.dataOffsets.upperBound)]")
        }
        tensorInfos = infos
        orderedTensorInfos = ordered
        tensorNames = ordered.map(\.name)
    }

    private static func validate(name: String, entry: SafetensorsHeader.Entry, dataOffset: Int, dataSize: Int,
                                 file: String) throws -> SafetensorsTensorInfo {
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
            throw FormatError(.invalidValue, file: file, item: name,
                              expected: "a safetensors dtype (\(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))",
                              found: "\"\(entry.dtype)\"")
        }
        var elements = 1
        for dimension in entry.shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: max(dimension, 0))
            if dimension < 0 || overflow || product > Int(Int32.max) * 64 {
                throw FormatError(.invalidValue, file: file, item: name, expected: "a shape of non-negative dimensions of sane size",
                                  found: "shape \(entry.shape)")
            }
            elements = product
        }
        guard entry.dataOffsets.count == 2 else {
            throw FormatError(.invalidValue, file: file, item: name, expected: "data_offsets [begin, end]",
                              found: "\(entry.dataOffsets.count) numbers")
        }
        let begin = entry.dataOffsets[0], end = entry.dataOffsets[1]
        if begin < 0 || end < begin || end > dataSize {
            throw FormatError(.outOfBounds, file: file, item: name,
                              expected: "0 ≤ begin ≤ end ≤ \(dataSize) (the data section's size)",
                              found: "data_offsets [\(begin), \(end)]")
        }
        if end - begin != elements * dtype.byteSize {
            throw FormatError(.invalidValue, file: file, item: name,
                              expected: "\(elements * dtype.byteSize) bytes (shape \(entry.shape) of \(dtype))",
                              found: "data_offsets [\(begin), \(end)] (\(end - begin) bytes)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: entry.shape, dataOffsets: begin ..< end,
                                     fileOffset: dataOffset + begin)
    }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensorInfos[name] else {
            throw FormatError(.missing, file: path, item: name, expected: "a tensor with this name",
                              found: "none among the file's \(tensorNames.count) tensors")
        }
        return info
    }

    /// The tensor `name` converted to fp32 with its row-major shape. Throws for a missing
    /// tensor, a dtype that is not a float, or values that are not finite.
    public func tensor(_ name: String) throws -> Tensor {
        let info = try info(name)
        let storage = FloatBuffer(count: info.elementCount)
        try convert(info, elements: 0 ..< info.elementCount, into: storage.pointer)
        return Tensor(shape: info.shape, storage: storage)
    }

    /// Rows `rows` of the 2-D tensor `name` converted to fp32 into `destination`
    /// (`[rows.count, columns]`): how a loader packs a bf16 or f16 weight a panel at a time
    /// without a whole fp32 copy. Throws as `tensor` does.
    public func convertRows(of name: String, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let info = try info(name)
        guard info.shape.count == 2, rows.lowerBound >= 0, rows.upperBound <= info.shape[0] else {
            throw FormatError(.invalidValue, file: path, item: name, expected: "rows \(rows) of a 2-D tensor", found: "shape \(info.shape)")
        }
        let columns = info.shape[1]
        try convert(info, elements: rows.lowerBound * columns ..< rows.upperBound * columns, into: destination)
    }

    private func convert(_ info: SafetensorsTensorInfo, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let count = elements.count
        let format: BlockFormat
        switch info.dtype {
        case .f32: format = .f32
        case .f16: format = .f16
        case .bf16: format = .bf16
        case .f64: format = .f32  // converted below
        default:
            throw FormatError(.unsupportedType, file: path, item: info.name,
                              expected: "a float tensor (F32, F16, BF16 or F64)", found: "dtype \(info.dtype)")
        }
        if let base = bytes.bytes.baseAddress, count > 0 {
            if info.dtype == .f64 {
                let source = base + info.fileOffset + 8 * elements.lowerBound
                for i in 0 ..< count {
                    destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            } else {
                format.dequantize(base + info.fileOffset + format.bytesPerBlock * elements.lowerBound, blocks: count, into: destination)
            }
        }
        if let bad = FiniteCheck.firstNonFinite(destination, count: count) {
            throw FormatError(.invalidValue, file: path, item: info.name, expected: "finite values",
                              found: "\(destination[bad]) at element \(elements.lowerBound + bad) of \(info.elementCount)")
        }
    }

    /// Calls `body` with the stored bytes of tensor `name`, valid only inside `body`.
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(name)
        return try body(UnsafeRawBufferPointer(rebasing: bytes.bytes[info.fileOffset ..< info.fileOffset + info.dataOffsets.count]))
    }
}
