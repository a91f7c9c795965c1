// Reading a request body as JSON at the boundary: bounded in size (413), valid UTF-8 (400),
// valid JSON (400), and decoded into a typed request whose decoding errors name the field at
// fault in `param` (400). Unknown fields are ignored, as OpenAI's and vLLM's servers do.

import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Reads the body without replacing `body` (a generation later watches the same connection
    /// for the client's hang-up through it).
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.tooLarge(declared: declared, limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(declared: nil, limit: limit)
        }
        return try JSONInput.decode(type, from: buffer)
    }
}

enum JSONInput {
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; expected a JSON object") }
        guard String(validating: buffer.readableBytesView, as: UTF8.self) != nil else {
            throw APIError.badRequest("the request body is not valid UTF-8")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }
}

extension APIError {
    static func tooLarge(declared: Int?, limit: Int) -> APIError {
        APIError(.contentTooLarge, "the request body\(declared.map { " (\($0) bytes)" } ?? "") is larger than the limit of \(limit) bytes")
    }

    /// A decoding failure, told with the path of the field (`messages[1].content`).
    init(decoding error: DecodingError) {
        switch error {
        case .typeMismatch(let type, let context):
            let path = Self.path(context.codingPath)
            if path.isEmpty {
                self = .badRequest("the request body must be a JSON object")
            } else {
                self = .badRequest("'\(path)' has the wrong type: expected \(Self.describe(type))", param: path)
            }
        case .valueNotFound(let type, let context):
            let path = Self.path(context.codingPath)
            if path.isEmpty {
                self = .badRequest("the request body must be a JSON object")
            } else {
                self = .badRequest("'\(path)' must not be null: expected \(Self.describe(type))", param: path)
            }
        case .keyNotFound(let key, let context):
            let path = Self.path(context.codingPath + [key])
            self = .badRequest("the required field '\(path)' is missing", param: path)
        case .dataCorrupted(let context):
            let path = Self.path(context.codingPath)
            if path.isEmpty {
                self = .badRequest("the request body is not valid JSON: \(Self.reason(context))")
            } else {
                self = .badRequest("'\(path)' is invalid: \(context.debugDescription)", param: path)
            }
        @unknown default:
            self = .badRequest("the request body could not be read: \(error)")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var path = ""
        for key in keys {
            // A list index has an integer only ("Index 3"); an object key that reads as a number
            // (`logit_bias`'s token ids) has both and is still a key.
            if let index = key.intValue, key.stringValue != String(index) { path += "[\(index)]" } else { path += path.isEmpty ? key.stringValue : "." + key.stringValue }
        }
        return path
    }

    private static func reason(_ context: DecodingError.Context) -> String {
        if let underlying = context.underlyingError { return "\(context.debugDescription) (\(underlying.localizedDescription))" }
        return context.debugDescription
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [Any].Type: "a list"
        case is [String: Any].Type: "an object"
        default: "\(type)"
        }
    }
}
