// `stream: true`: OpenAI's server-sent-event chunks, ending with `data: [DONE]`.

import FloraEngine
import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct StreamingTests {
    @Test func aStreamedCompletionSendsTextChunksThenUsageThenDone() async throws {
        let server = try await TestServer.make()
        let expected = try await engineGreedy(server.engine, prompt: bytesOf("Stream it"), maxTokens: 10)
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": "Stream it", "max_tokens": 10, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}"#)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            let events = response.events
            #expect(events.last == "[DONE]")
            #expect(!events.contains { $0.hasPrefix("<not a data line") })
            let objects = response.eventObjects
            #expect(objects.allSatisfy { $0["object"] as? String == "text_completion" })
            let usage = try #require(objects.last)
            #expect((usage["choices"] as? [Any])?.isEmpty == true)
            #expect(usage[path: "usage", "completion_tokens"] as? Int == expected.tokens.count)
            let chunks = objects.dropLast()
            let text = chunks.map { $0[path: "choices", "0", "text"] as? String ?? "" }.joined()
            #expect(text == expected.text)
            #expect(chunks.dropLast().allSatisfy { $0[path: "choices", "0", "finish_reason"] is NSNull })
            #expect(["stop", "length"].contains(chunks.last?[path: "choices", "0", "finish_reason"] as? String ?? ""))
        }
    }

    @Test func aStreamedChatStartsWithTheRoleAndEndsWithAFinishReason() async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let whole = try await client.post("/v1/chat/completions", json: #"{"model": "\#(server.adapterNames[0])", "messages": [{"role": "user", "content": "Hey"}], "max_tokens": 8, "temperature": 0}"#)
            let response = try await client.post("/v1/chat/completions", json: #"{"model": "\#(server.adapterNames[0])", "messages": [{"role": "user", "content": "Hey"}], "max_tokens": 8, "temperature": 0, "stream": true}"#)
            #expect(response.events.last == "[DONE]")
            let objects = response.eventObjects
            #expect(objects.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["model"] as? String == server.adapterNames[0] })
            #expect(objects.first?[path: "choices", "0", "delta", "role"] as? String == "assistant")
            #expect(objects.dropFirst().allSatisfy { $0[path: "choices", "0", "delta", "role"] == nil })
            #expect(objects.allSatisfy { $0["usage"] == nil }, "no usage chunk unless asked")
            let content = objects.map { $0[path: "choices", "0", "delta", "content"] as? String ?? "" }.joined()
            #expect(content == whole.json[path: "choices", "0", "message", "content"] as? String)
            #expect(objects.last?[path: "choices", "0", "finish_reason"] as? String == whole.json[path: "choices", "0", "finish_reason"] as? String)
        }
    }

    @Test func aRefusedStreamIsAnHTTPErrorNotAnEvent() async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"model": "missing", "prompt": "x", "stream": true}"#)
            expectError(response, .notFound, type: "NotFoundError", param: "model")
        }
    }
}
