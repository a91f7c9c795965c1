// Bad input gets OpenAI's error shape with the right status and the field at fault in `param`;
// nothing crashes and the server keeps answering.

import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct ErrorResponseTests {
    struct Case: Sendable, CustomStringConvertible {
        var route = "/v1/completions"
        var body: String
        var param: String?
        var description: String { "\(route) \(body)" }
    }

    static let badRequests: [Case] = [
        Case(body: #"{"prompt": "x""#, param: nil),                                   // malformed JSON
        Case(body: "[1, 2, 3]", param: nil),                                          // not an object
        Case(body: "null", param: nil),
        Case(body: "", param: nil),                                                   // empty body
        Case(body: #"{"max_tokens": 3}"#, param: "prompt"),                           // missing prompt
        Case(body: #"{"prompt": "x", "max_tokens": "ten"}"#, param: "max_tokens"),
        Case(body: #"{"prompt": "x", "temperature": "hot"}"#, param: "temperature"),
        Case(body: #"{"prompt": "x", "stream": "yes"}"#, param: "stream"),
        Case(body: #"{"prompt": "x", "model": 7}"#, param: "model"),
        Case(body: #"{"prompt": {"text": "x"}}"#, param: "prompt"),
        Case(body: #"{"prompt": [1, "a"]}"#, param: "prompt"),
        Case(body: #"{"prompt": "x", "stop": 5}"#, param: "stop"),
        Case(body: #"{"prompt": "x", "max_tokens": 0}"#, param: "max_tokens"),
        Case(body: #"{"prompt": "x", "max_tokens": -5}"#, param: "max_tokens"),
        Case(body: #"{"prompt": "x", "max_tokens": 512}"#, param: "max_tokens"),      // prompt + max_tokens > context
        Case(body: #"{"prompt": "x", "max_tokens": 9223372036854775807}"#, param: "max_tokens"),
        Case(body: #"{"prompt": "x", "max_tokens": 1e30}"#, param: "max_tokens"),
        Case(body: #"{"prompt": "x", "seed": 1e40}"#, param: "seed"),
        Case(body: #"{"prompt": "x", "temperature": -1}"#, param: "temperature"),
        Case(body: #"{"prompt": "x", "temperature": 1e300}"#, param: "temperature"),
        Case(body: #"{"prompt": "x", "top_p": 0}"#, param: "top_p"),
        Case(body: #"{"prompt": "x", "top_k": -3}"#, param: "top_k"),
        Case(body: #"{"prompt": "x", "n": 0}"#, param: "n"),
        Case(body: #"{"prompt": "x", "n": 100000}"#, param: "n"),
        Case(body: #"{"prompt": "x", "logprobs": 21}"#, param: "logprobs"),
        Case(body: #"{"prompt": "x", "echo": true, "logprobs": 1}"#, param: "echo"),
        Case(body: #"{"prompt": ""}"#, param: "prompt"),
        Case(body: #"{"prompt": []}"#, param: "prompt"),
        Case(body: #"{"prompt": [5, 257]}"#, param: "prompt"),
        Case(body: #"{"prompt": [-1]}"#, param: "prompt"),
        Case(body: #"{"prompt": "x", "stop_token_ids": [999]}"#, param: "stop_token_ids"),
        Case(body: #"{"prompt": "\#(String(repeating: "a", count: 600))"}"#, param: "prompt"),  // longer than the context
        Case(route: "/v1/chat/completions", body: #"{"model": "tiny-base"}"#, param: "messages"),
        Case(route: "/v1/chat/completions", body: #"{"messages": []}"#, param: "messages"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"content": "x"}]}"#, param: "messages[0].role"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": 3}]}"#, param: "messages[0].content"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user"}]}"#, param: "messages[0].content"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}"#, param: "messages[0].content[0].type"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}"#, param: "top_logprobs"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 50}"#, param: "top_logprobs"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 0}"#, param: "max_completion_tokens"),
        Case(body: #"{"prompt": "x", "stop": "\#(String(repeating: "s", count: 1025))"}"#, param: "stop"),
        Case(body: #"{"prompt": "x", "stop_token_ids": [-1]}"#, param: "stop_token_ids"),
        Case(body: #"{"prompt": "x", "stop_token_ids": 5}"#, param: "stop_token_ids"),
        Case(body: #"{"prompt": "x", "ignore_eos": "yes"}"#, param: "ignore_eos"),
        Case(body: #"{"prompt": "x", "min_tokens": -1}"#, param: "min_tokens"),
        Case(body: #"{"prompt": "x", "min_tokens": 1.5}"#, param: "min_tokens"),
        Case(body: #"{"prompt": "x", "max_tokens": 4, "min_tokens": 5}"#, param: "min_tokens"),
        Case(body: #"{"prompt": "x", "repetition_penalty": 0}"#, param: "repetition_penalty"),
        Case(body: #"{"prompt": "x", "repetition_penalty": -1.5}"#, param: "repetition_penalty"),
        Case(body: #"{"prompt": "x", "repetition_penalty": 1e300}"#, param: "repetition_penalty"),
        Case(body: #"{"prompt": "x", "presence_penalty": 2.5}"#, param: "presence_penalty"),
        Case(body: #"{"prompt": "x", "frequency_penalty": -2.01}"#, param: "frequency_penalty"),
        Case(body: #"{"prompt": "x", "frequency_penalty": "high"}"#, param: "frequency_penalty"),
        Case(body: #"{"prompt": "x", "logit_bias": {"abc": 1}}"#, param: "logit_bias"),
        Case(body: #"{"prompt": "x", "logit_bias": {"257": 1}}"#, param: "logit_bias"),
        Case(body: #"{"prompt": "x", "logit_bias": {"-1": 1}}"#, param: "logit_bias"),
        Case(body: #"{"prompt": "x", "logit_bias": {"5": 100.5}}"#, param: "logit_bias"),
        Case(body: #"{"prompt": "x", "logit_bias": {"5": -101}}"#, param: "logit_bias"),
        Case(body: #"{"prompt": "x", "logit_bias": {"5": "up"}}"#, param: "logit_bias.5"),
        Case(body: #"{"prompt": "x", "logit_bias": [1, 2]}"#, param: "logit_bias"),
        Case(body: #"{"prompt": "x", "n": 2, "best_of": 1}"#, param: "best_of"),
        Case(body: #"{"prompt": "x", "best_of": 65}"#, param: "best_of"),
        Case(body: #"{"prompt": "x", "best_of": 0}"#, param: "best_of"),
        Case(body: #"{"prompt": "x", "best_of": 3, "stream": true}"#, param: "best_of"),
        Case(body: #"{"prompt": ["a", "b", "c", "d", "e"], "best_of": 64}"#, param: "best_of"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "logit_bias": {"300": 5}}"#, param: "logit_bias"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "min_tokens": -2}"#, param: "min_tokens"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "presence_penalty": 3}"#, param: "presence_penalty"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "repetition_penalty": 0}"#, param: "repetition_penalty"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "logprobs": false, "top_logprobs": 0}"#, param: "top_logprobs"),
        Case(route: "/v1/chat/completions", body: #"{"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": -1}"#, param: "top_logprobs"),
        Case(route: "/v1/load_lora_adapter", body: #"{"lora_name": "x"}"#, param: "lora_path"),
        Case(route: "/v1/unload_lora_adapter", body: #"{"name": "x"}"#, param: "lora_name"),
        Case(route: "/tokenize", body: #"{}"#, param: "prompt"),
        Case(route: "/tokenize", body: #"{"prompt": 5}"#, param: "prompt"),
        Case(route: "/detokenize", body: #"{"tokens": [1, 9999]}"#, param: "tokens"),
        Case(route: "/detokenize", body: #"{"tokens": "abc"}"#, param: "tokens"),
    ]

    @Test(arguments: badRequests)
    func badInputIsA400NamingTheField(_ c: Case) async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            expectError(try await client.post(c.route, json: c.body), .badRequest, type: "BadRequestError", param: c.param)
            // The server still answers.
            let after = try await client.post("/v1/completions", json: #"{"prompt": "ok", "max_tokens": 2}"#)
            #expect(after.status == .ok)
        }
    }

    @Test func unknownFieldsAreIgnored() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 2, "user": "me", "frequency_penalty": 0, "something": {"deep": [1]}}"#)
            #expect(response.status == .ok, "\(response.text)")
        }
    }

    @Test func invalidUTF8IsRefused() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            let bytes = Array(#"{"prompt": ""#.utf8) + [0xFF, 0xFE, 0xC3] + Array(#""}"#.utf8)
            expectError(try await client.post("/v1/completions", bytes: bytes), .badRequest, type: "BadRequestError")
        }
    }

    @Test func aBodyOverTheLimitIs413() async throws {
        let server = try await TestServer.make(adapterCount: 0, maxBodyBytes: 4096)
        try await server.withRouter { client in
            let big = #"{"prompt": "\#(String(repeating: "a", count: 5000))"}"#
            expectError(try await client.post("/v1/completions", json: big), .contentTooLarge, type: "RequestTooLargeError")
        }
        // And over a real connection.
        try await server.withLiveServer { client in
            let big = #"{"prompt": "\#(String(repeating: "b", count: 5000))"}"#
            expectError(try await client.post("/v1/completions", json: big), .contentTooLarge, type: "RequestTooLargeError")
        }
    }

    @Test func anUnknownModelIs404() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            expectError(try await client.post("/v1/completions", json: #"{"model": "gpt-4", "prompt": "x"}"#), .notFound, type: "NotFoundError", param: "model")
            expectError(try await client.post("/v1/chat/completions", json: #"{"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}"#), .notFound, type: "NotFoundError", param: "model")
            expectError(try await client.post("/tokenize", json: #"{"model": "gpt-4", "prompt": "x"}"#), .notFound, type: "NotFoundError", param: "model")
        }
    }

    @Test func anUnknownRouteIs404InTheSameShape() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        try await server.withRouter { client in
            expectError(try await client.get("/v1/engines"), .notFound, type: "NotFoundError")
        }
    }

    @Test func aShutDownEngineAnswers503() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        await server.engine.shutdown(timeout: .zero)
        try await server.withRouter { client in
            expectError(try await client.post("/v1/completions", json: #"{"prompt": "x"}"#), .serviceUnavailable, type: "ServiceUnavailableError")
            expectError(try await client.post("/v1/completions", json: #"{"prompt": "x", "stream": true}"#), .serviceUnavailable, type: "ServiceUnavailableError")
        }
    }
}
