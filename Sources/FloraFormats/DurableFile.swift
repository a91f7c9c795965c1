// Writing a file so that a crash (or a power cut) at any moment leaves either the old file or the
// complete new one, never a torn one: the bytes go to a temporary file in the same folder, which
// is flushed to the disk (fsync), renamed over the target (atomic within a file system), and the
// folder is flushed so that the rename itself survives. The recipe of "Files are hard" (Dan Luu)
// and of PostgreSQL's durable_rename.

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
private let posixWrite = Glibc.write
private let posixRename = Glibc.rename
#elseif canImport(Darwin)
import Darwin
private let posixWrite = Darwin.write
private let posixRename = Darwin.rename
#endif

/// Room left on a pretend disk, shared by every write of a task that sets
/// `DurableFile.injectedDiskSpace`: tests make a checkpoint meet a full disk with it.
public final class InjectedDiskSpace: Sendable {
    private let remaining: Mutex<Int>

    public init(bytes: Int) { remaining = Mutex(bytes) }

    /// Takes up to `count` bytes; returns how many were granted.
    func take(_ count: Int) -> Int {
        remaining.withLock { left in
            let granted = min(left, count)
            left -= granted
            return granted
        }
    }
}

public enum DurableFile {
    /// Fault injection for tests: when set, writes fail with ENOSPC ("No space left on device")
    /// once its bytes are used up, as on a full disk.
    @TaskLocal public static var injectedDiskSpace: InjectedDiskSpace?

    /// Writes `bytes` to `path` atomically and durably (temporary file, fsync, rename, fsync of
    /// the folder). On failure the temporary file is removed and `path` is unchanged.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let temporary = (folder as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw error(path: temporary, doing: "create") }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            try writeAll(bytes, to: fd, path: temporary)
            guard fsync(fd) == 0 else { throw error(path: temporary, doing: "flush (fsync)") }
            closed = true
            guard close(fd) == 0 else { throw error(path: temporary, doing: "close") }
            guard posixRename(temporary, path) == 0 else { throw error(path: path, doing: "rename \(temporary) to") }
        } catch {
            unlink(temporary)
            throw error
        }
        try syncFolder(folder)
    }

    /// Flushes a folder's entries (created, renamed or removed files) to the disk.
    public static func syncFolder(_ folder: String) throws {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error(path: folder, doing: "open the folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error(path: folder, doing: "flush (fsync) the folder") }
    }

    /// Renames `source` to `destination` (both in one folder) and flushes that folder.
    public static func move(_ source: String, to destination: String) throws {
        guard posixRename(source, destination) == 0 else { throw error(path: destination, doing: "rename \(source) to") }
        try syncFolder((destination as NSString).deletingLastPathComponent)
    }

    private static func writeAll(_ bytes: some Collection<UInt8>, to fd: Int32, path: String) throws {
        let space = injectedDiskSpace
        if let done = try bytes.withContiguousStorageIfAvailable({ try writeAll(UnsafeRawBufferPointer($0), to: fd, path: path, space: space) }) {
            return done
        }
        try Array(bytes).withUnsafeBytes { try writeAll($0, to: fd, path: path, space: space) }
    }

    private static func writeAll(_ buffer: UnsafeRawBufferPointer, to fd: Int32, path: String, space: InjectedDiskSpace?) throws {
        var offset = 0
        while offset < buffer.count {
            var chunk = min(buffer.count - offset, 1 << 20)
            if let space {
                chunk = space.take(chunk)
                if chunk == 0 { throw error(path: path, doing: "write \(buffer.count) bytes to", code: ENOSPC) }
            }
            let n = posixWrite(fd, buffer.baseAddress! + offset, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw error(path: path, doing: "write \(buffer.count) bytes to")
            }
            offset += n
        }
    }

    private static func error(path: String, doing what: String, code: Int32 = errno) -> FormatError {
        let hint = code == ENOSPC || code == EDQUOT ? " (the disk is full)" : ""
        return FormatError(.io, file: path, expected: "to \(what) the file", found: "\(String(cString: strerror(code)))\(hint)")
    }
}
