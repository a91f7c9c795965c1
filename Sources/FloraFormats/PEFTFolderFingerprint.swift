// What decides whether a PEFT folder fits a model, in bytes: the config, the safetensors header
// and the size of the weights file. Adapters made by one recipe (same kind, rank, targets and
// model) have identical ones, whatever their values; a server registering thousands of them
// checks each distinct fingerprint once. The tensors' values are checked when an adapter loads.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public struct PEFTFolderFingerprint: Hashable, Sendable {
    public let config: Data
    public let header: Data
    public let weightsSize: Int

    /// Headers longer than this are not fingerprinted (their folders are simply checked each time).
    static let largestHeader = 1 << 20

    /// Reads the folder's config and the weights file's header; nil when either cannot be read
    /// as expected (the full check then reports why).
    public init?(folder: String) {
        guard let config = FileManager.default.contents(atPath: PEFTFolder.file(PEFTFolder.configFileName, in: folder)) else { return nil }
        let fd = open(PEFTFolder.file(PEFTFolder.weightsFileName, in: folder), O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        var length: UInt64 = 0
        guard pread(fd, &length, 8, 0) == 8 else { return nil }
        let headerLength = Int(UInt64(littleEndian: length))
        guard headerLength >= 0, headerLength <= Self.largestHeader, 8 + headerLength <= Int(info.st_size) else { return nil }
        var header = Data(count: headerLength)
        let read = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headerLength, 8) }
        guard read == headerLength else { return nil }
        self.config = config
        self.header = header
        weightsSize = Int(info.st_size)
    }
}
