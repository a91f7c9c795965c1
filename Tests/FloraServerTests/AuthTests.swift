// --api-key: a bearer token on every route but /health and /metrics.

import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct AuthTests {
    @Test func requestsWithoutTheRightKeyAre401() async throws {
        let server = try await TestServer.make(apiKey: "s3cret", adapterCount: 0)
        try await server.withRouter { client in
            expectError(try await client.get("/v1/models"), .unauthorized, type: "AuthenticationError")
            expectError(try await client.get("/v1/models", headers: [.authorization: "Bearer wrong"]), .unauthorized, type: "AuthenticationError")
            expectError(try await client.get("/v1/models", headers: [.authorization: "Bearer s3cret-and-more"]), .unauthorized, type: "AuthenticationError")
            expectError(try await client.get("/v1/models", headers: [.authorization: "s3cret"]), .unauthorized, type: "AuthenticationError")
            expectError(try await client.post("/v1/completions", json: #"{"prompt": "x"}"#), .unauthorized, type: "AuthenticationError")
            expectError(try await client.post("/tokenize", json: #"{"prompt": "x"}"#), .unauthorized, type: "AuthenticationError")
            expectError(try await client.get("/v1/nothing"), .unauthorized, type: "AuthenticationError")
        }
    }

    @Test func theRightKeyOpensTheAPIAndHealthAndMetricsStayOpen() async throws {
        let server = try await TestServer.make(apiKey: "s3cret", adapterCount: 0)
        try await server.withRouter { client in
            #expect(try await client.get("/v1/models", headers: [.authorization: "Bearer s3cret"]).status == .ok)
            let completion = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 2}"#, headers: [.authorization: "Bearer s3cret"])
            #expect(completion.status == .ok)
            #expect(try await client.get("/health").status == .ok)
            #expect(try await client.get("/metrics").status == .ok)
        }
    }
}
