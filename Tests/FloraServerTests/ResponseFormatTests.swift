// response_format on both routes, on the tiny random model: what comes back parses and has the
// schema's keys and types, streamed or whole, with n > 1 and an adapter; schemas outside the
// subset are refused with a 400 that names the keyword and where it is.

import FloraServer
import FloraTestSupport
import Foundation
import HummingbirdTesting
import Testing

@Suite struct ResponseFormatTests {
    static let schema = #"""
        {"type": "object", "additionalProperties": false, "required": ["ok", "n", "color", "tags"],
         "properties": {"ok": {"type": "boolean", "description": "ignored"}, "n": {"type": "integer"},
                        "color": {"enum": ["red", "green", null]},
                        "tags": {"type": "array", "items": {"type": ["integer", "null"]}, "maxItems": 2}}}
        """#

    static func expectMatches(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            Issue.record("not a JSON object: \(text.debugDescription)", sourceLocation: sourceLocation)
            return
        }
        #expect(Set(object.keys) == ["ok", "n", "color", "tags"], "\(text)", sourceLocation: sourceLocation)
        #expect(object["n"] is Int && object["ok"] is Bool, "\(text)", sourceLocation: sourceLocation)
        #expect(["red", "green"].contains(object["color"] as? String) || object["color"] is NSNull, "\(text)", sourceLocation: sourceLocation)
        #expect(((object["tags"] as? [Any])?.count ?? 9) <= 2, "\(text)", sourceLocation: sourceLocation)
    }

    @Test func aChatWithAJSONSchemaAnswersJSONThatMatchesItForEveryChoice() async throws {
        let server = try await TestServer.make(contextLength: 2048)
        let adapter = server.adapterNames[0]
        try await server.withRouter { client in
            let body = #"""
                {"model": "\#(adapter)", "messages": [{"role": "user", "content": "Describe it."}], "n": 3, "temperature": 0.9, "seed": 5,
                 "max_tokens": 1500, "response_format": {"type": "json_schema", "json_schema": {"name": "thing", "strict": true, "schema": \#(Self.schema)}}}
                """#
            let response = try await client.post("/v1/chat/completions", json: body)
            #expect(response.status == .ok, "\(response.text)")
            let choices = response.json["choices"] as? [[String: Any]] ?? []
            #expect(choices.count == 3)
            for choice in choices {
                #expect(choice["finish_reason"] as? String == "stop")
                Self.expectMatches(choice[path: "message", "content"] as? String ?? "")
            }
        }
    }

    @Test func aStreamedCompletionWithAJSONSchemaJoinsIntoMatchingJSON() async throws {
        let server = try await TestServer.make(contextLength: 2048)
        try await server.withRouter { client in
            let body = #"""
                {"prompt": "JSON:", "stream": true, "temperature": 1.2, "seed": 9, "max_tokens": 1500,
                 "response_format": {"type": "json_schema", "json_schema": {"name": "thing", "schema": \#(Self.schema)}}}
                """#
            let response = try await client.post("/v1/completions", json: body)
            #expect(response.status == .ok, "\(response.text)")
            let chunks = response.eventObjects
            let text = chunks.compactMap { $0[path: "choices", "0", "text"] as? String }.joined()
            #expect(chunks.last?[path: "choices", "0", "finish_reason"] as? String == "stop")
            Self.expectMatches(text)
        }
    }

    @Test func jsonObjectAnswersAnObjectAndTextIsTheDefault() async throws {
        let server = try await TestServer.make(contextLength: 2048)
        try await server.withRouter { client in
            let response = try await client.post("/v1/chat/completions", json: #"""
                {"messages": [{"role": "user", "content": "Hi"}], "seed": 1, "max_tokens": 1800, "response_format": {"type": "json_object"}}
                """#)
            #expect(response.status == .ok, "\(response.text)")
            let content = response.json[path: "choices", "0", "message", "content"] as? String ?? ""
            if response.json[path: "choices", "0", "finish_reason"] as? String == "stop" {
                #expect((try? JSONSerialization.jsonObject(with: Data(content.utf8))) is [String: Any], "\(content)")
            } else {
                #expect(content.hasPrefix("{"), "\(content)")
            }
            let text = try await client.post("/v1/completions", json: #"{"prompt": "a", "max_tokens": 3, "temperature": 0, "response_format": {"type": "text"}}"#)
            #expect(text.status == .ok, "\(text.text)")
        }
    }

    @Test(arguments: [
        (#"{"type": "xml"}"#, "response_format.type must be"),
        (#"{"type": "json_schema"}"#, "response_format.json_schema"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "a+"}}}"#,
         "response_format.json_schema.schema: 'pattern' is not supported"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": {"a": {"type": "number", "minimum": 0}}}}}"#,
         "response_format.json_schema.schema.properties.a: 'minimum' is not supported"),
        (##"{"type": "json_schema", "json_schema": {"schema": {"$ref": "#/$defs/x"}}}"##, "'$ref' is not supported"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "date"}}}"#, "'type' must be one of"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": [1]}}}"#, "'properties' must be an object"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": {"a": {}}, "required": ["b"]}}}"#,
         "'required' lists 'b'"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": {"a": {}}, "additionalProperties": true}}}"#,
         "'additionalProperties'"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"anyOf": [{"type": "object"}, {"type": "object", "properties": {"a": {}}}]}}}"#,
         "can both start with '{'"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "integer", "enum": [1, "a"]}}}"#, "does not have the schema's type"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"type": "array", "minItems": 3, "maxItems": 1}}}"#, "'maxItems' (1)"),
        (#"{"type": "json_schema", "json_schema": {"schema": {"enum": []}}}"#, "'enum' must be a non-empty list"),
        (#"{"type": "json_schema", "json_schema": {"schema": 3}}"#, "expected a schema"),
    ])
    func schemasOutsideTheSubsetAreRefusedByName(_ format: String, _ words: String) async throws {
        let server = try await TestServer.make()
        try await server.withRouter { client in
            for route in ["/v1/chat/completions", "/v1/completions"] {
                let input = route.contains("chat") ? #""messages": [{"role": "user", "content": "Hi"}]"# : #""prompt": "Hi""#
                let response = try await client.post(route, json: #"{\#(input), "max_tokens": 4, "response_format": \#(format)}"#)
                expectError(response, .badRequest, type: "BadRequestError", param: "response_format")
                let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(words), "\(message)")
            }
        }
        let snapshot = await server.waitUntilIdle()
        #expect(snapshot.runningRequests == 0)
    }
}
