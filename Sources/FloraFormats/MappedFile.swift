// A read-only memory map of a whole file: model files are large and read once, in pieces.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one file, mapped read-only and private, unmapped when the last reference goes
/// (or, for in-memory files, a private copy). The bytes never change after `init`, so sharing
/// them across threads is safe; this is why the class may be `@unchecked Sendable` (the compiler
/// cannot see that the raw pointer is only read).
final class MappedFile: @unchecked Sendable {
    let path: String
    /// Start of the bytes; nil for an empty file (mmap refuses zero lengths).
    private let base: UnsafeRawPointer?
    let count: Int
    private let isMapped: Bool

    /// A private copy of `bytes`, for files built in memory (tests, downloads).
    init(copying bytes: [UInt8], name: String) {
        path = name
        count = bytes.count
        isMapped = false
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { source in
            if let start = source.baseAddress { copy.copyMemory(from: start, byteCount: source.count) }
        }
        base = UnsafeRawPointer(copy)
    }

    init(path: String) throws {
        self.path = path
        isMapped = true
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw FormatError(.io, file: path, expected: "a readable file", found: "open failed: \(Self.errnoText())")
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw FormatError(.io, file: path, expected: "a readable file", found: "stat failed: \(Self.errnoText())")
        }
        if (info.st_mode & S_IFMT) != S_IFREG {
            throw FormatError(.io, file: path, expected: "a regular file", found: "a directory or special file")
        }
        count = Int(info.st_size)
        if count == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if mapped == MAP_FAILED || mapped == nil {
            throw FormatError(.io, file: path, expected: "a file that can be memory-mapped", found: "mmap failed: \(Self.errnoText())")
        }
        base = UnsafeRawPointer(mapped!)
    }

    deinit {
        guard let base else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            base.deallocate()
        }
    }

    /// All bytes of the file; valid as long as this object lives.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
