// /v1/completions on the tiny model: every prompt form, n, echo, logprobs, stop strings, adapters.

import FloraEngine
import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct CompletionsRouteTests {
    @Test func aGreedyCompletionEqualsTheEnginesOutputAndCountsUsage() async throws {
        let server = try await TestServer.make()
        let expected = try await engineGreedy(server.engine, prompt: bytesOf("Hello there"), maxTokens: 12)
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"model": "tiny-base", "prompt": "Hello there", "max_tokens": 12, "temperature": 0}"#)
            #expect(response.status == .ok, "\(response.text)")
            let json = response.json
            #expect(json["object"] as? String == "text_completion")
            #expect((json["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(json["model"] as? String == "tiny-base")
            #expect(json[path: "choices", "0", "text"] as? String == expected.text)
            #expect(json[path: "choices", "0", "index"] as? Int == 0)
            #expect(json[path: "choices", "0", "logprobs"] is NSNull)
            #expect(["stop", "length"].contains(json[path: "choices", "0", "finish_reason"] as? String ?? ""))
            #expect(json[path: "usage", "prompt_tokens"] as? Int == 11)
            #expect(json[path: "usage", "completion_tokens"] as? Int == expected.tokens.count)
            #expect(json[path: "usage", "total_tokens"] as? Int == 11 + expected.tokens.count)
        }
    }

    @Test(arguments: [
        (#""abc""#, 1, 3),
        (#"["abc", "de"]"#, 2, 5),
        ("[97, 98, 99]", 1, 3),
        ("[[97, 98], [100], [101, 102, 103]]", 3, 6),
    ])
    func everyPromptFormGivesOneChoicePerPrompt(prompt: String, choices: Int, promptTokens: Int) async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": \#(prompt), "max_tokens": 3, "temperature": 0}"#)
            #expect(response.status == .ok, "\(response.text)")
            let list = response.json["choices"] as? [[String: Any]] ?? []
            #expect(list.count == choices)
            #expect(list.map { $0["index"] as? Int } == (0..<choices).map { $0 })
            #expect(response.json[path: "usage", "prompt_tokens"] as? Int == promptTokens)
        }
    }

    @Test func nGivesThatManyChoicesPerPromptAndCountsThePromptOnce() async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": ["ab", "cde"], "n": 3, "max_tokens": 4, "temperature": 0.8, "seed": 5}"#)
            #expect(response.status == .ok, "\(response.text)")
            let list = response.json["choices"] as? [[String: Any]] ?? []
            #expect(list.count == 6)
            #expect(response.json[path: "usage", "prompt_tokens"] as? Int == 5)
        }
    }

    @Test func theSameSeedGivesTheSameText() async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let body = #"{"prompt": "seeded", "max_tokens": 10, "temperature": 1.0, "top_p": 0.9, "top_k": 50, "seed": 42}"#
            let first = try await client.post("/v1/completions", json: body)
            let second = try await client.post("/v1/completions", json: body)
            #expect(first.json[path: "choices", "0", "text"] as? String == second.json[path: "choices", "0", "text"] as? String)
        }
    }

    @Test func echoPutsThePromptBeforeTheCompletion() async throws {
        let server = try await TestServer.make()
        let expected = try await engineGreedy(server.engine, prompt: bytesOf("Echo me"), maxTokens: 5)
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": "Echo me", "max_tokens": 5, "temperature": 0, "echo": true}"#)
            #expect(response.json[path: "choices", "0", "text"] as? String == "Echo me" + expected.text)
        }
    }

    @Test func logprobsReportEveryTokenWithItsAlternatives() async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": "xyz", "max_tokens": 6, "temperature": 0, "logprobs": 3}"#)
            #expect(response.status == .ok, "\(response.text)")
            let logprobs = response.json[path: "choices", "0", "logprobs"] as? [String: Any] ?? [:]
            let count = response.json[path: "usage", "completion_tokens"] as? Int ?? -1
            #expect((logprobs["tokens"] as? [String])?.count == count)
            #expect((logprobs["token_logprobs"] as? [Double])?.allSatisfy { $0 <= 0 } == true)
            #expect((logprobs["token_logprobs"] as? [Double])?.count == count)
            #expect((logprobs["text_offset"] as? [Int])?.count == count)
            let top = logprobs["top_logprobs"] as? [[String: Double]] ?? []
            #expect(top.count == count)
            #expect(top.allSatisfy { (1...3).contains($0.count) })
        }
    }

    @Test func aStopStringEndsTheTextBeforeIt() async throws {
        let server = try await TestServer.make()
        let free = try await engineGreedy(server.engine, prompt: bytesOf("stop here"), maxTokens: 20)
        let characters = Array(free.text)
        try #require(characters.count >= 4, "the tiny model should write a few characters")
        let stop = String(characters[2...3])
        try await server.withRouter { client in
            let stopJSON = String(data: try JSONEncoder().encode(stop), encoding: .utf8)!
            let response = try await client.post("/v1/completions", json: #"{"prompt": "stop here", "max_tokens": 20, "temperature": 0, "stop": \#(stopJSON)}"#)
            let text = response.json[path: "choices", "0", "text"] as? String ?? "?"
            #expect(!text.contains(stop))
            #expect(free.text.hasPrefix(text))
            #expect(response.json[path: "choices", "0", "finish_reason"] as? String == "stop")
        }
    }

    @Test func eachAdapterGivesTheEnginesOutputForThatAdapter() async throws {
        let server = try await TestServer.make(adapterCount: 3)
        for name in server.adapterNames {
            let expected = try await engineGreedy(server.engine, prompt: bytesOf("adapt"), maxTokens: 8, adapter: name)
            try await server.withRouter { client in
                let response = try await client.post("/v1/completions", json: #"{"model": "\#(name)", "prompt": "adapt", "max_tokens": 8, "temperature": 0}"#)
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.json[path: "choices", "0", "text"] as? String == expected.text, "adapter \(name)")
                #expect(response.json["model"] as? String == name)
            }
        }
    }
}
