// The sampling fields beyond OpenAI's basics, through both routes on the tiny model: accepted
// values, what each one does to the output, and best_of's choice. (Their 400s are in
// ErrorResponseTests.) The test tokenizer has no stop token; stop_token_ids gives it one.

import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct SamplingExtrasRouteTests {
    static let accepted: [String] = [
        #""ignore_eos": true"#, #""ignore_eos": false"#,
        #""min_tokens": 0"#, #""min_tokens": 6"#,
        #""stop_token_ids": [0, 256]"#, #""stop_token_ids": []"#,
        #""repetition_penalty": 1"#, #""repetition_penalty": 0.5"#, #""repetition_penalty": 2"#,
        #""presence_penalty": -2"#, #""presence_penalty": 2"#, #""frequency_penalty": 0"#, #""frequency_penalty": 1.5"#,
        #""logit_bias": {}"#, #""logit_bias": {"0": -100, "256": 100, "97": 0.5}"#,
    ]

    @Test(arguments: accepted)
    func eachFieldIsAcceptedOnBothRoutes(_ field: String) async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let completion = try await client.post("/v1/completions", json: #"{"prompt": "ab", "max_tokens": 6, "temperature": 0, \#(field)}"#)
            #expect(completion.status == .ok, "\(completion.text)")
            let chat = try await client.post(
                "/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "ab"}], "max_tokens": 6, "temperature": 0, \#(field)}"#)
            #expect(chat.status == .ok, "\(chat.text)")
        }
    }

    @Test func aLogitBiasOfPlus100MakesThatTokenTheGreedyChoice() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let response = try await client.post(
                "/v1/completions", json: #"{"prompt": "hello", "max_tokens": 5, "temperature": 0, "logit_bias": {"122": 100}}"#)
            #expect(response.json[path: "choices", "0", "text"] as? String == "zzzzz")
            let chat = try await client.post(
                "/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "temperature": 0.8, "logit_bias": {"122": 100}}"#)
            #expect(chat.json[path: "choices", "0", "message", "content"] as? String == "zzz")
        }
    }

    @Test func minTokensHoldsAStopTokenBackAndIgnoreEOSDoesNotDropIt() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let body = #"{"prompt": "hello", "max_tokens": 10, "temperature": 0, "logit_bias": {"122": 100}, "stop_token_ids": [122], "ignore_eos": true"#
            let early = try await client.post("/v1/completions", json: body + "}")
            #expect(early.json[path: "usage", "completion_tokens"] as? Int == 1)
            #expect(early.json[path: "choices", "0", "finish_reason"] as? String == "stop")
            let late = try await client.post("/v1/completions", json: body + #", "min_tokens": 4}"#)
            #expect(late.json[path: "usage", "completion_tokens"] as? Int == 5)
            #expect(late.json[path: "choices", "0", "finish_reason"] as? String == "stop")
        }
    }

    @Test func penaltiesChangeTheGreedyOutput() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            func text(_ extra: String) async throws -> String {
                let response = try await client.post("/v1/completions", json: #"{"prompt": "aaaa", "max_tokens": 24, "temperature": 0\#(extra)}"#)
                #expect(response.status == .ok, "\(response.text)")
                return response.json[path: "choices", "0", "text"] as? String ?? "?"
            }
            let plain = try await text("")
            #expect(try await text(#", "presence_penalty": 0, "frequency_penalty": 0, "repetition_penalty": 1"#) == plain)
            // With "a" pushed up, the plain output repeats it; each penalty then pulls it back down.
            let pushed = try await text(#", "logit_bias": {"97": 8}"#)
            for penalty in [#""frequency_penalty": 2"#, #""repetition_penalty": 100"#] {
                #expect(try await text(#", "logit_bias": {"97": 8}, \#(penalty)"#) != pushed, "\(penalty)")
            }
        }
    }

    @Test func bestOfReturnsTheNMostLikelyOfItsSequences() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let sampling = #""prompt": "seed", "max_tokens": 6, "temperature": 1.5, "seed": 9, "logprobs": 0"#
            // best_of 4 runs the same four sequences as n 4 (seed, seed + 1, …).
            let all = try await client.post("/v1/completions", json: "{\(sampling), \"n\": 4}")
            let best = try await client.post("/v1/completions", json: "{\(sampling), \"n\": 2, \"best_of\": 4}")
            #expect(best.status == .ok, "\(best.text)")
            func scored(_ json: [String: Any]) -> [(text: String, score: Double)] {
                (json["choices"] as? [[String: Any]] ?? []).map { choice in
                    let logprobs = (choice["logprobs"] as? [String: Any])?["token_logprobs"] as? [Double] ?? []
                    return (choice["text"] as? String ?? "?", logprobs.reduce(0, +))
                }
            }
            let expected = scored(all.json).enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
            let returned = scored(best.json)
            #expect(returned.map(\.text) == expected.prefix(2).map(\.element.text))
            #expect(returned.count == 2 && returned[0].score >= returned[1].score)
            #expect((best.json["choices"] as? [[String: Any]])?.map { $0["index"] as? Int } == [0, 1])
            #expect(best.json[path: "usage", "completion_tokens"] as? Int == 12)
        }
    }

    @Test func bestOfEqualToNStreams() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 2, "n": 2, "best_of": 2, "stream": true}"#)
            #expect(response.status == .ok)
            #expect(response.text.contains("data: [DONE]"))
        }
    }

    @Test func chatTopLogprobsHaveOpenAIsShape() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let response = try await client.post(
                "/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 3}"#)
            let content = response.json[path: "choices", "0", "logprobs", "content"] as? [[String: Any]] ?? []
            #expect(content.count == 4)
            for entry in content {
                #expect(entry["token"] is String && entry["logprob"] is Double && entry["bytes"] is [Int])
                let top = entry["top_logprobs"] as? [[String: Any]] ?? []
                #expect(top.count == 3)
                #expect(top.allSatisfy { $0["token"] is String && $0["logprob"] is Double && $0["bytes"] is [Int] })
                // Greedy: the chosen token is the most likely one, with the same log-probability.
                #expect(top.first?["token"] as? String == entry["token"] as? String)
                #expect(top.first?["logprob"] as? Double == entry["logprob"] as? Double)
            }
            let none = try await client.post(
                "/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "logprobs": true}"#)
            let entries = none.json[path: "choices", "0", "logprobs", "content"] as? [[String: Any]] ?? []
            #expect(entries.count == 2 && entries.allSatisfy { ($0["top_logprobs"] as? [Any])?.isEmpty == true })
        }
    }
}
