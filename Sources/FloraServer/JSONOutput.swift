// Writing JSON responses: one encoder setting for every route, and `OrNull` for the fields
// OpenAI sends as an explicit `null` (a client may test `finish_reason === null`).

import Foundation
import Hummingbird

enum JSONOutput {
    static func encode(_ value: some Encodable) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return ByteBuffer(data: try encoder.encode(value))
        } catch {
            // Only non-finite floats can fail here, and `Logprob` clamps those; say so rather than crash.
            return ByteBuffer(string: #"{"error":{"message":"internal error: a response could not be encoded","type":"InternalServerError","param":null,"code":500}}"#)
        }
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: encode(value)))
    }
}

/// An optional that is written as `null` instead of being left out.
struct OrNull<Wrapped: Encodable & Sendable>: Encodable, Sendable {
    var value: Wrapped?
    init(_ value: Wrapped?) { self.value = value }
    static var null: OrNull { OrNull(nil) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

extension ByteBuffer {
    init(data: Data) {
        self = ByteBufferAllocator().buffer(capacity: data.count)
        writeBytes(data)
    }
}
