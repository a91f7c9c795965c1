// /v1/models, /v1/load_lora_adapter and /v1/unload_lora_adapter: every adapter kind, loads
// confined to --adapter-dir, refusals that change nothing.

import FloraAdapters
import FloraEngine
import FloraServer
import FloraTestSupport
import Foundation
import HummingbirdTesting
import Testing

@Suite struct AdapterRouteTests {
    @Test func modelsListsTheBaseModelThenEveryAdapterWithParentAndRoot() async throws {
        let server = try await TestServer.make(adapterCount: 3)
        try await server.withRouter { client in
            let response = try await client.get("/v1/models")
            #expect(response.json["object"] as? String == "list")
            let data = response.json["data"] as? [[String: Any]] ?? []
            #expect(data.map { $0["id"] as? String ?? "" } == [TestServer.baseName] + server.adapterNames.sorted())
            #expect(data.allSatisfy { $0["object"] as? String == "model" })
            #expect(data.first?["parent"] is NSNull)
            #expect(data.first?["root"] as? String == "/models/tiny")
            for entry in data.dropFirst() {
                #expect(entry["parent"] as? String == TestServer.baseName)
                let root = AdapterPathsForTests.real(server.adapterRoot) + "/" + (entry["id"] as? String ?? "")
                #expect(entry["root"] as? String == root)
            }
        }
    }

    @Test(arguments: AdapterKind.allCases)
    func anAdapterOfEveryKindLoadsServesAndUnloads(kind: AdapterKind) async throws {
        let server = try await TestServer.make(adapterCount: 0)
        let names = try TinyModels.writeRandomAdapters(count: 1, to: server.adapterRoot + "/later", model: server.model, seed: 9, kinds: [kind])
        try await server.withRouter { client in
            let load = try await client.post("/v1/load_lora_adapter", json: #"{"lora_name": "fresh", "lora_path": "later/\#(names[0])"}"#)
            #expect(load.status == .ok, "\(load.text)")
            let models = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(models.contains { $0["id"] as? String == "fresh" })
            let completion = try await client.post("/v1/completions", json: #"{"model": "fresh", "prompt": "x", "max_tokens": 3}"#)
            #expect(completion.status == .ok, "\(completion.text)")
            let unload = try await client.post("/v1/unload_lora_adapter", json: #"{"lora_name": "fresh"}"#)
            #expect(unload.status == .ok, "\(unload.text)")
            expectError(try await client.post("/v1/completions", json: #"{"model": "fresh", "prompt": "x"}"#), .notFound, type: "NotFoundError", param: "model")
            expectError(try await client.post("/v1/unload_lora_adapter", json: #"{"lora_name": "fresh"}"#), .notFound, type: "NotFoundError", param: "lora_name")
        }
    }

    @Test func loadingTheSameNameTwiceOrTheBaseNameIsRefused() async throws {
        let server = try await TestServer.make(adapterCount: 1)
        let existing = server.adapterNames[0]
        try await server.withRouter { client in
            expectError(try await client.post("/v1/load_lora_adapter", json: #"{"lora_name": "\#(existing)", "lora_path": "\#(existing)"}"#),
                        .badRequest, type: "BadRequestError", param: "lora_name")
            expectError(try await client.post("/v1/load_lora_adapter", json: #"{"lora_name": "\#(TestServer.baseName)", "lora_path": "\#(existing)"}"#),
                        .badRequest, type: "BadRequestError", param: "lora_name")
            expectError(try await client.post("/v1/load_lora_adapter", json: #"{"lora_name": "a,b", "lora_path": "\#(existing)"}"#),
                        .badRequest, type: "BadRequestError", param: "lora_name")
        }
    }

    @Test func pathsOutsideTheAdapterDirectoryAreRefused() async throws {
        let server = try await TestServer.make(adapterCount: 1)
        let outside = try TestFiles.scratchDirectory()
        let names = try TinyModels.writeRandomAdapters(count: 1, to: outside, model: server.model, seed: 3)
        let outsideAdapter = outside + "/" + names[0]
        try FileManager.default.createSymbolicLink(atPath: server.adapterRoot + "/sneaky", withDestinationPath: outsideAdapter)
        let escapes = [
            outsideAdapter,                                                    // absolute, elsewhere
            "../" + URL(fileURLWithPath: outside).lastPathComponent + "/" + names[0],  // relative, climbing out
            server.adapterRoot + "/../" + URL(fileURLWithPath: outside).lastPathComponent + "/" + names[0],
            "sneaky",                                                          // a symbolic link inside that points out
        ]
        try await server.withRouter { client in
            for path in escapes {
                let body = String(data: try JSONSerialization.data(withJSONObject: ["lora_name": "escape", "lora_path": path]), encoding: .utf8)!
                expectError(try await client.post("/v1/load_lora_adapter", json: body), .forbidden, type: "PermissionDeniedError", param: "lora_path")
            }
            let models = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(models.count == 2, "nothing was registered")
        }
    }

    @Test func withoutAnAdapterDirectoryEveryLoadIsRefused() async throws {
        let server = try await TestServer.make(adapterCount: 1, withAdapterRoot: false)
        try await server.withRouter { client in
            let body = #"{"lora_name": "x", "lora_path": "\#(server.adapterRoot)/\#(server.adapterNames[0])"}"#
            expectError(try await client.post("/v1/load_lora_adapter", json: body), .forbidden, type: "PermissionDeniedError", param: "lora_path")
        }
    }

    @Test func aBrokenFolderIsRefusedWithTheLoadersReasonAndChangesNothing() async throws {
        let server = try await TestServer.make(adapterCount: 1)
        let broken = server.adapterRoot + "/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data(#"{"peft_type": "LORA", "r": 4}"#.utf8).write(to: URL(fileURLWithPath: broken + "/adapter_config.json"))
        try await server.withRouter { client in
            let response = try await client.post("/v1/load_lora_adapter", json: #"{"lora_name": "broken", "lora_path": "broken"}"#)
            expectError(response, .badRequest, type: "BadRequestError", param: "lora_path")
            #expect((response.json[path: "error", "message"] as? String)?.contains("broken") == true)
            expectError(try await client.post("/v1/load_lora_adapter", json: #"{"lora_name": "none", "lora_path": "does-not-exist"}"#),
                        .badRequest, type: "BadRequestError", param: "lora_path")
            let models = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(models.count == 2)
            #expect(await server.engine.registeredAdapterNames == server.adapterNames)
        }
    }

    @Test func unloadingAnAdapterThatRunningRequestsUseIs409() async throws {
        let pace = Pace()
        let server = try await TestServer.make(adapterCount: 1, pace: pace)
        let name = server.adapterNames[0]
        // A long request holding the adapter, straight on the engine, held after its first step.
        let stream = server.engine.generate(EngineRequest(promptTokens: bytesOf("hold"), parameters: SamplingParameters(maxTokens: 400), adapterName: name))
        var iterator = stream.makeAsyncIterator()
        pace.step()
        _ = try await iterator.next()
        try await server.withRouter { client in
            expectError(try await client.post("/v1/unload_lora_adapter", json: #"{"lora_name": "\#(name)"}"#), .conflict, type: "ConflictError", param: "lora_name")
        }
        #expect(server.engine.isRegistered(adapter: name))
        pace.open()
        while try await iterator.next() != nil {}
    }

    @Test func aDirectoryWithABrokenFolderStartsWithTheRest() async throws {
        let model = try TinyModels.model()
        let root = try TestFiles.scratchDirectory()
        let names = try TinyModels.writeRandomAdapters(count: 2, to: root, model: model)
        try FileManager.default.createDirectory(atPath: root + "/empty-folder", withIntermediateDirectories: true)
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: root + "/README.txt"))
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer())
        let catalog = try await AdapterCatalog(engine: engine, baseModelName: "base", adapterRoot: root)
        let skipped = await catalog.registerAdapterDirectory()
        #expect(skipped.map(\.folder) == ["empty-folder"])
        #expect(await catalog.adapters.map(\.name) == names.sorted())
    }
}

enum AdapterPathsForTests {
    static func real(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }
}
