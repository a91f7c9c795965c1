// A bounds-checked little-endian cursor over bytes, in the manner of llama.cpp's GGUF reader:
// every read is checked against the bytes left, and counts are checked before anything is allocated.

/// Reads little-endian values from a byte range. Each read either returns a value that lies
/// wholly inside the range or throws `FormatError` (`.truncated`) naming the file, the item being
/// read (set by the caller in `item`) and how many bytes were needed and left.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    /// The key or tensor being read, for error messages.
    var item: String?
    private(set) var offset: Int = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes are left; `what` says what the bytes were to hold.
    func require(_ count: Int, for what: String) throws {
        if count < 0 || count > remaining {
            throw FormatError(.truncated, file: file, item: item,
                              expected: "\(count) bytes for \(what) at offset \(offset)",
                              found: "\(remaining) bytes left (file size \(bytes.count))")
        }
    }

    mutating func skip(_ count: Int, for what: String) throws {
        try require(count, for: what)
        offset += count
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, for what: String) throws -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    mutating func readFloat(for what: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, for: what))
    }

    mutating func readDouble(for what: String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, for: what))
    }

    /// A count stored as u64, checked to be at most `limit` (which callers derive from the bytes
    /// left, so that an absurd count fails here instead of in a giant allocation).
    /// `bytesPerItem`, when given, says that the limit is what the bytes left can hold, and the
    /// error says so (a truncated file and a corrupt count look the same from here).
    mutating func readCount(limit: Int, bytesPerItem: Int? = nil, for what: String) throws -> Int {
        let raw = try read(UInt64.self, for: what)
        if raw > UInt64(max(limit, 0)) {
            let bound = bytesPerItem.map { " (\(remaining) bytes left hold at most that many items of at least \($0) bytes)" } ?? ""
            throw FormatError(.limitExceeded, file: file, item: item,
                              expected: "\(what) of at most \(limit)\(bound)", found: "\(raw)")
        }
        return Int(raw)
    }

    /// A GGUF string: u64 byte length, then that many bytes of UTF-8 (no terminator).
    mutating func readString(maxLength: Int = Int.max, for what: String) throws -> String {
        let raw = try read(UInt64.self, for: "length of \(what)")
        if raw > UInt64(maxLength) {
            throw FormatError(.limitExceeded, file: file, item: item,
                              expected: "\(what) of at most \(maxLength) bytes", found: "length \(raw)")
        }
        if raw > UInt64(remaining) {
            throw FormatError(.truncated, file: file, item: item,
                              expected: "\(raw) bytes for \(what) at offset \(offset)",
                              found: "\(remaining) bytes left (file size \(bytes.count))")
        }
        let length = Int(raw)
        let start = offset
        offset += length
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start ..< start + length])
        if let string = String(validating: slice, as: UTF8.self) { return string }
        throw FormatError(.invalidValue, file: file, item: item,
                          expected: "\(what) in UTF-8", found: "\(length) bytes that are not valid UTF-8 at offset \(start)")
    }
}
