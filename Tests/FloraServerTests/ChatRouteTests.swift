// /v1/chat/completions on the tiny model (no template of its own: ChatML).

import FloraEngine
import FloraServer
import FloraTestSupport
import FloraTokenizer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct ChatRouteTests {
    @Test func aChatCompletionAnswersThroughTheChatTemplate() async throws {
        let server = try await TestServer.make()
        let prompt = try TestServer.tokenizer().encodeChat(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        let expected = try await engineGreedy(server.engine, prompt: prompt, maxTokens: 7)
        try await server.withRouter { client in
            let response = try await client.post("/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 7, "temperature": 0}"#)
            #expect(response.status == .ok, "\(response.text)")
            let json = response.json
            #expect(json["object"] as? String == "chat.completion")
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(json[path: "choices", "0", "message", "role"] as? String == "assistant")
            #expect(json[path: "choices", "0", "message", "content"] as? String == expected.text)
            #expect(json[path: "usage", "prompt_tokens"] as? Int == prompt.count)
            #expect(json[path: "usage", "completion_tokens"] as? Int == expected.tokens.count)
        }
    }

    @Test func maxCompletionTokensContentPartsAndLogprobsAreRead() async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let body = #"""
                {"messages": [{"role": "system", "content": null}, {"role": "user", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]}],
                 "max_completion_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 2, "n": 2}
                """#
            let response = try await client.post("/v1/chat/completions", json: body)
            #expect(response.status == .ok, "\(response.text)")
            let choices = response.json["choices"] as? [[String: Any]] ?? []
            #expect(choices.count == 2)
            let content = (choices.first?["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] ?? []
            let total = response.json[path: "usage", "completion_tokens"] as? Int ?? -1
            #expect(content.count * 2 == total, "greedy: both choices are the same length")
            #expect(content.allSatisfy { ($0["top_logprobs"] as? [Any])?.count == 2 && $0["bytes"] is [Any] })
        }
    }
}
