// A GGUF file (versions 2 and 3), read as the GGUF specification (ggml's docs/gguf.md) lays it
// out: header (magic "GGUF", version, tensor count, metadata count), metadata key/value pairs,
// tensor infos, padding to `general.alignment`, then the tensor data.
import FloraTensor

/// A parsed, memory-mapped GGUF file. Parsing checks everything a later read depends on: every
/// count against the bytes left, every tensor's type, block divisibility, alignment and bytes
/// inside the file without overlaps. Afterwards the file is immutable and can be shared.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensorInfos: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    /// Alignment of the data section and of every tensor offset (`general.alignment`, default 32).
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int
    private let bytes: MappedFile

    static let magic: UInt32 = 0x4655_4747 // "GGUF" read as a little-endian u32
    static let maximumDimensions = 4 // GGML_MAX_DIMS
    static let maximumNameLength = 65_535
    static let maximumArrayDepth = 16
    static let defaultAlignment = 32

    /// Maps and parses the file at `path`.
    public convenience init(path: String) throws {
        try self.init(bytes: MappedFile(path: path))
    }

    /// Parses a GGUF file held in memory; `name` stands for the path in error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(bytes: MappedFile(copying: bytes, name: name))
    }

    private init(bytes: MappedFile) throws {
        self.bytes = bytes
        path = bytes.path
        var reader = ByteReader(bytes: bytes.bytes, file: path)
        reader.item = "header"
        let magic = try reader.read(UInt32.self, for: "the magic number")
        if magic != Self.magic {
            let found = (0 ..< 4).map { String(UInt8(truncatingIfNeeded: magic >> (8 * $0)), radix: 16) }.joined(separator: " ")
            throw FormatError(.badMagic, file: path, expected: "the GGUF magic bytes 47 47 55 46 (\"GGUF\")", found: "bytes \(found)")
        }
        version = try reader.read(UInt32.self, for: "the version")
        if version != 2 && version != 3 {
            let hint = version == 1 ? " (GGUF v1 uses 32-bit counts; convert the file)"
                : version.byteSwapped == 2 || version.byteSwapped == 3 ? " (a big-endian GGUF file)" : ""
            throw FormatError(.unsupportedVersion, file: path, item: "header", expected: "GGUF version 2 or 3", found: "version \(version)\(hint)")
        }
        // Smallest encodings bound the counts: a tensor info takes at least 32 bytes, a metadata
        // pair at least 13, so larger counts cannot fit in what is left of the file.
        let tensorCount = try reader.readCount(limit: reader.remaining / 32, bytesPerItem: 32, for: "tensor count")
        let metadataCount = try reader.readCount(limit: reader.remaining / 13, bytesPerItem: 13, for: "metadata count")

        var metadata: [String: GGUFValue] = [:]
        var metadataKeys: [String] = []
        metadata.reserveCapacity(metadataCount)
        for index in 0 ..< metadataCount {
            reader.item = "metadata pair #\(index)"
            let key = try reader.readString(maxLength: Self.maximumNameLength, for: "key")
            reader.item = key
            if metadata[key] != nil {
                throw FormatError(.invalidValue, file: path, item: key, expected: "each metadata key once", found: "a second pair with this key")
            }
            let typeID = try reader.read(UInt32.self, for: "value type")
            let value = try Self.readValue(typeID: typeID, from: &reader, depth: 0)
            metadata[key] = value
            metadataKeys.append(key)
        }
        self.metadata = metadata
        self.metadataKeys = metadataKeys
        alignment = try Self.alignment(in: metadata, file: path)

        var infos: [String: GGUFTensorInfo] = [:]
        var names: [String] = []
        var seen = Set<String>()
        var raw: [(name: String, dimensions: [Int], type: GGUFType, offset: UInt64)] = []
        raw.reserveCapacity(tensorCount)
        for index in 0 ..< tensorCount {
            reader.item = "tensor info #\(index)"
            let name = try reader.readString(maxLength: Self.maximumNameLength, for: "tensor name")
            reader.item = name
            if !seen.insert(name).inserted {
                throw FormatError(.invalidValue, file: path, item: name, expected: "each tensor name once", found: "a second tensor with this name")
            }
            names.append(name)
            let dimensionCount = try reader.read(UInt32.self, for: "dimension count")
            if dimensionCount < 1 || dimensionCount > UInt32(Self.maximumDimensions) {
                throw FormatError(.invalidValue, file: path, item: name, expected: "1 to \(Self.maximumDimensions) dimensions", found: "\(dimensionCount)")
            }
            var dimensions: [Int] = []
            for axis in 0 ..< Int(dimensionCount) {
                dimensions.append(try reader.readCount(limit: Int(Int32.max), for: "dimension ne\(axis)"))
            }
            let typeID = try reader.read(UInt32.self, for: "tensor type")
            guard let type = GGUFType(rawValue: typeID) else {
                throw FormatError(.invalidValue, file: path, item: name, expected: "a known ggml tensor type", found: "type id \(typeID)")
            }
            let offset = try reader.read(UInt64.self, for: "data offset")
            raw.append((name, dimensions, type, offset))
        }

        // The data section starts at the next multiple of the alignment after the tensor infos.
        let (padded, _) = reader.offset.addingReportingOverflow(alignment - 1)
        dataOffset = padded / alignment * alignment
        for entry in raw {
            let info = try Self.tensorInfo(entry, dataOffset: dataOffset, alignment: alignment, fileSize: bytes.count, file: path)
            infos[entry.name] = info
        }
        try Self.checkNoOverlap(infos.values, file: path)
        tensorInfos = infos
        tensorNames = names
    }

    /// The tensor `name` converted to fp32, with the row-major shape (the reverse of the ggml
    /// dimensions). Throws for a missing tensor, a type Flora cannot convert yet (naming it), or
    /// values that are not finite.
    public func tensor(_ name: String) throws -> Tensor {
        let info = try tensorInfo(name)
        guard let format = info.type.blockFormat else {
            throw FormatError(.unsupportedType, file: path, item: name,
                              expected: "a tensor type Flora can convert (\(GGUFType.supportedNames))",
                              found: info.type.unsupportedReason ?? "\(info.type)")
        }
        let storage = FloatBuffer(count: info.elementCount)
        format.dequantize(bytes.bytes.baseAddress! + info.fileOffset, blocks: info.elementCount / format.elementsPerBlock, into: storage.pointer)
        if let bad = FiniteCheck.firstNonFinite(storage.pointer, count: info.elementCount) {
            throw FormatError(.invalidValue, file: path, item: name, expected: "finite values",
                              found: "\(storage.pointer[bad]) at element \(bad) of \(info.elementCount)")
        }
        return Tensor(shape: info.shape, storage: storage)
    }

    /// The info of tensor `name`, or an error naming the file and the tensor.
    public func tensorInfo(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensorInfos[name] else {
            throw FormatError(.missing, file: path, item: name, expected: "a tensor with this name",
                              found: "none among the file's \(tensorNames.count) tensors")
        }
        return info
    }

    /// Calls `body` with the stored bytes of tensor `name` (in its GGUF type, e.g. Q4_1 blocks),
    /// for kernels that dequantize while they pack. The bytes are valid only inside `body`.
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try tensorInfo(name)
        return try body(UnsafeRawBufferPointer(rebasing: bytes.bytes[info.fileOffset ..< info.fileOffset + info.byteCount]))
    }
}
