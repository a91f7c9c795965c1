// Flora's adapter-mixture fields through both routes on the tiny model: a scale of 0 is the base
// model and 1 the adapter, a mixture is served beside other requests, and every malformed
// mixture is a 400 (404 for an adapter that does not exist) that names the field. The numbers
// of mixtures are checked in FloraAdaptersTests (dense merge) and FloraEngineTests (engine).

import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct AdapterMixtureRouteTests {
    @Test func aScaleOfZeroIsTheBaseModelAndOneIsTheAdapter() async throws {
        let server = try await TestServer.make(adapterCount: 3)
        try await server.withRouter { client in
            func text(_ fields: String) async throws -> String {
                let response = try await client.post("/v1/completions", json: #"{"prompt": "hello", "max_tokens": 8, "temperature": 0, \#(fields)}"#)
                #expect(response.status == .ok, "\(fields): \(response.text)")
                return response.json[path: "choices", "0", "text"] as? String ?? ""
            }
            let base = try await text(#""model": "\#(TestServer.baseName)""#)
            var differs = false
            for name in server.adapterNames {
                let adapter = try await text(#""model": "\#(name)""#)
                differs = differs || adapter != base
                #expect(try await text(#""model": "\#(name)", "adapter_scale": 0"#) == base, "\(name) at scale 0")
                #expect(try await text(#""model": "\#(name)", "adapter_scale": 1"#) == adapter, "\(name) at scale 1")
                #expect(try await text(#""adapters": [{"name": "\#(name)", "weight": 1}]"#) == adapter, "\(name) as a mixture of one")
            }
            #expect(differs, "adapters that do not change the output check nothing")
        }
    }

    @Test func aMixtureIsServedOnBothRoutesBesideOtherRequests() async throws {
        let server = try await TestServer.make(adapterCount: 3, kinds: [.flora])
        let (a, b) = (server.adapterNames[0], server.adapterNames[1])
        let mixture = #""adapters": [{"name": "\#(a)", "weight": 0.7}, {"name": "\#(b)", "scale": 0.3}]"#
        try await server.withRouter { client in
            let alone = try await client.post("/v1/completions", json: #"{"prompt": "hello", "max_tokens": 8, "temperature": 0, \#(mixture)}"#)
            #expect(alone.status == .ok, "\(alone.text)")
            let busy = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<6 {
                    let fields = i % 2 == 0 ? mixture : #""model": "\#(server.adapterNames[i % 3])""#
                    group.addTask {
                        let r = try await client.post("/v1/completions", json: #"{"prompt": "hello", "max_tokens": 8, "temperature": 0, \#(fields)}"#)
                        return (i, r.json[path: "choices", "0", "text"] as? String ?? r.text)
                    }
                }
                var texts: [Int: String] = [:]
                for try await (i, text) in group { texts[i] = text }
                return texts
            }
            for i in stride(from: 0, to: 6, by: 2) { #expect(busy[i] == alone.json[path: "choices", "0", "text"] as? String) }
            let chat = try await client.post(
                "/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, \#(mixture)}"#)
            #expect(chat.status == .ok, "\(chat.text)")
        }
    }

    @Test func malformedMixturesAreRefusedNamingTheField() async throws {
        let server = try await TestServer.make(adapterCount: 6, kinds: [.flora, .lora])
        let flora = try #require(server.adapterNames.first { $0.contains("-flora-") })
        let lora = try #require(server.adapterNames.first { $0.contains("-lora-") })
        let cases: [(String, Int, String)] = [
            (#""adapters": [{"name": "\#(flora)", "weight": 0.5}, {"name": "missing", "weight": 0.5}]"#, 404, "missing"),
            (#""adapters": [{"name": "\#(flora)", "weight": 1000}]"#, 400, "adapters[0].weight"),
            (#""adapters": [{"name": "\#(flora)"}]"#, 400, "adapters[0].weight is missing"),
            (#""adapters": [{"name": "\#(flora)", "weight": 1, "scale": 1}]"#, 400, "both weight and scale"),
            (#""adapters": [{"name": "\#(flora)", "weight": 0.5}, {"name": "\#(flora)", "weight": 0.5}]"#, 400, "twice"),
            (#""adapters": []"#, 400, "1 to 8 adapters"),
            (#""adapters": [{"name": "\#(flora)", "weight": 0.5}, {"name": "\#(lora)", "weight": 0.5}]"#, 400, "must be of one kind"),
            (#""model": "\#(flora)", "adapters": [{"name": "\#(lora)", "weight": 1}]"#, 400, "must name the base model"),
            (#""adapter_scale": 0.5"#, 400, "adapter_scale needs an adapter"),
            (#""model": "\#(flora)", "adapter_scale": "half""#, 400, "adapter_scale"),
        ]
        try await server.withRouter { client in
            for (fields, status, message) in cases {
                let response = try await client.post("/v1/completions", json: #"{"prompt": "hello", "max_tokens": 2, \#(fields)}"#)
                #expect(response.status.code == status, "\(fields): \(response.text)")
                #expect(response.text.contains(message), "\(fields): \(response.text)")
            }
        }
        let snapshot = server.engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
    }
}
