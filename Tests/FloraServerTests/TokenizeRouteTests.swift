// /tokenize and /detokenize, and /health.

import FloraServer
import FloraTestSupport
import FloraTokenizer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct TokenizeRouteTests {
    @Test func tokenizeAndDetokenizeRoundTrip() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let tokens = try await client.post("/tokenize", json: #"{"prompt": "héllo"}"#)
            #expect(tokens.status == .ok)
            let ids = tokens.json["tokens"] as? [Int] ?? []
            #expect(ids == Array("héllo".utf8).map(Int.init))
            #expect(tokens.json["count"] as? Int == ids.count)
            #expect(tokens.json["max_model_len"] as? Int == 512)
            let text = try await client.post("/detokenize", json: #"{"tokens": \#(ids)}"#)
            #expect(text.json["prompt"] as? String == "héllo")
        }
    }

    @Test func tokenizeMessagesUsesTheChatTemplate() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        let expected = try TestServer.tokenizer().encodeChat(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        try await server.withRouter { client in
            let response = try await client.post("/tokenize", json: #"{"messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(response.json["tokens"] as? [Int] == expected.map(Int.init))
        }
    }

    @Test func healthIsOK() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let response = try await client.get("/health")
            #expect(response.status == .ok)
        }
    }
}
