// A bare loopback HTTP/1.1 client on a POSIX socket, for what the test clients cannot do:
// read part of a streamed response and hang up. It runs on its own thread so that blocking
// reads never hold up Swift's concurrency pool.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum RawHTTPClient {
    /// Sends `body` to 127.0.0.1:`port` at `path`, reads until `readBytes` bytes arrived (or
    /// the connection ends, or a read waits `timeoutSeconds`), then closes the socket. Returns
    /// what was read.
    static func postAndHangUp(port: Int, path: String, body: String, readBytes: Int, timeoutSeconds: Int = 10) async -> String {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: exchange(port: port, path: path, body: body, readBytes: readBytes, timeoutSeconds: timeoutSeconds))
            }
            thread.start()
        }
    }

    private static func exchange(port: Int, path: String, body: String, readBytes: Int, timeoutSeconds: Int) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < readBytes {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
