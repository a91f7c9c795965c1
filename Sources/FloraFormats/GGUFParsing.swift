// The checks of GGUF parsing that are not a straight read: metadata values (recursive arrays),
// the alignment, and tensor bounds (GGUF specification, ggml's docs/gguf.md).

extension GGUFFile {
    /// Reads one metadata value of type `typeID`. Arrays recurse at most `maximumArrayDepth`
    /// deep (a crafted file could otherwise nest until the stack overflows), and their element
    /// count is checked against the bytes left before any storage is reserved.
    static func readValue(typeID: UInt32, from reader: inout ByteReader, depth: Int) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: typeID) else {
            throw FormatError(.invalidValue, file: reader.file, item: reader.item,
                              expected: "a metadata value type 0...12", found: "type id \(typeID)")
        }
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, for: "uint8 value"))
        case .int8: return .int8(try reader.read(Int8.self, for: "int8 value"))
        case .uint16: return .uint16(try reader.read(UInt16.self, for: "uint16 value"))
        case .int16: return .int16(try reader.read(Int16.self, for: "int16 value"))
        case .uint32: return .uint32(try reader.read(UInt32.self, for: "uint32 value"))
        case .int32: return .int32(try reader.read(Int32.self, for: "int32 value"))
        case .uint64: return .uint64(try reader.read(UInt64.self, for: "uint64 value"))
        case .int64: return .int64(try reader.read(Int64.self, for: "int64 value"))
        case .float32: return .float32(try reader.readFloat(for: "float32 value"))
        case .float64: return .float64(try reader.readDouble(for: "float64 value"))
        case .bool:
            let byte = try reader.read(UInt8.self, for: "bool value")
            if byte > 1 {
                throw FormatError(.invalidValue, file: reader.file, item: reader.item, expected: "a bool stored as 0 or 1", found: "\(byte)")
            }
            return .bool(byte == 1)
        case .string: return .string(try reader.readString(for: "string value"))
        case .array:
            if depth >= maximumArrayDepth {
                throw FormatError(.limitExceeded, file: reader.file, item: reader.item,
                                  expected: "arrays nested at most \(maximumArrayDepth) deep", found: "deeper nesting")
            }
            let elementID = try reader.read(UInt32.self, for: "array element type")
            guard let elementType = GGUFValueType(rawValue: elementID) else {
                throw FormatError(.invalidValue, file: reader.file, item: reader.item,
                                  expected: "an array element type 0...12", found: "type id \(elementID)")
            }
            let count = try reader.readCount(limit: reader.remaining / elementType.minimumEncodedSize,
                                              bytesPerItem: elementType.minimumEncodedSize, for: "array length")
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0 ..< count {
                items.append(try readValue(typeID: elementID, from: &reader, depth: depth + 1))
            }
            return .array(elementType, items)
        }
    }

    /// `general.alignment`: any integer type is accepted (the specification says uint32), but it
    /// must be a power of two no larger than 1 MiB.
    static func alignment(in metadata: [String: GGUFValue], file: String) throws -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard let alignment = value.intValue, alignment > 0, alignment <= 1 << 20, alignment & (alignment - 1) == 0 else {
            throw FormatError(.invalidValue, file: file, item: "general.alignment",
                              expected: "a power of two between 1 and 1048576", found: value.summary)
        }
        return alignment
    }

    /// Checks one tensor's sizes and position and computes where its bytes lie in the file.
    static func tensorInfo(_ entry: (name: String, dimensions: [Int], type: GGUFType, offset: UInt64),
                           dataOffset: Int, alignment: Int, fileSize: Int, file: String) throws -> GGUFTensorInfo {
        let name = entry.name
        let (blockElements, blockBytes) = entry.type.blockLayout
        var elements = 1
        for dimension in entry.dimensions {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            if overflow || product > Int(Int32.max) * 64 {
                throw FormatError(.limitExceeded, file: file, item: name,
                                  expected: "a tensor of a sane size", found: "dimensions \(entry.dimensions)")
            }
            elements = product
        }
        if entry.dimensions[0] % blockElements != 0 {
            throw FormatError(.invalidValue, file: file, item: name,
                              expected: "ne0 a multiple of \(blockElements) (the \(entry.type) block size)",
                              found: "dimensions \(entry.dimensions)")
        }
        let byteCount = elements / blockElements * blockBytes
        if entry.offset % UInt64(alignment) != 0 {
            throw FormatError(.misaligned, file: file, item: name,
                              expected: "a data offset that is a multiple of \(alignment)", found: "offset \(entry.offset)")
        }
        let start = UInt64(dataOffset).addingReportingOverflow(entry.offset)
        let end = start.partialValue.addingReportingOverflow(UInt64(byteCount))
        if start.overflow || end.overflow || end.partialValue > UInt64(fileSize) {
            throw FormatError(.outOfBounds, file: file, item: name,
                              expected: "\(byteCount) bytes of \(entry.type) data at offset \(entry.offset) of the data section (file offset \(dataOffset)) inside the file",
                              found: "a file of \(fileSize) bytes")
        }
        return GGUFTensorInfo(name: name, dimensions: entry.dimensions, type: entry.type, offset: Int(entry.offset),
                              fileOffset: Int(start.partialValue), elementCount: elements, byteCount: byteCount)
    }

    static func checkNoOverlap(_ infos: some Sequence<GGUFTensorInfo>, file: String) throws {
        let sorted = infos.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.offset < previous.offset + previous.byteCount {
            throw FormatError(.outOfBounds, file: file, item: next.name,
                              expected: "data that starts after tensor \(previous.name) ends (offset \(previous.offset + previous.byteCount))",
                              found: "offset \(next.offset)")
        }
    }
}
