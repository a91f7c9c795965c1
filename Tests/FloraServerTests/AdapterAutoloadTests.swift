// Folders that appear under --adapter-dir after start are served, folders that go away are
// forgotten, without a call or a restart; with the refusals /v1/load_lora_adapter makes.

import FloraAdapters
import FloraEngine
import FloraServer
import FloraTestSupport
import Foundation
import HummingbirdTesting
import Synchronization
import Testing

@Suite struct AdapterAutoloadTests {
    @Test func aFolderCopiedInAfterStartIsListedAndServed() async throws {
        let server = try await TestServer.make(adapterCount: 1)
        let path = try server.copyIn("arrived")
        try await server.withRouter { client in
            let listed = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(listed.contains { $0["id"] as? String == "arrived" && $0["root"] as? String == AdapterPathsForTests.real(path) })
            let completion = try await client.post("/v1/completions", json: #"{"model": "arrived", "prompt": "x", "max_tokens": 3}"#)
            #expect(completion.status == .ok, "\(completion.text)")
            #expect(completion.json["model"] as? String == "arrived")
        }
        #expect(server.engine.isRegistered(adapter: "arrived"))
    }

    @Test func withoutAutoloadAFolderCopiedInIsNeitherListedNorServed() async throws {
        let server = try await TestServer.make(adapterCount: 1, adapterAutoload: false)
        _ = try server.copyIn("arrived")
        try await server.withRouter { client in
            let listed = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(listed.count == 2)
            expectError(try await client.post("/v1/completions", json: #"{"model": "arrived", "prompt": "x"}"#), .notFound, type: "NotFoundError", param: "model")
        }
    }

    @Test func namesThatClimbOutAndLinksThatPointOutAreRefused() async throws {
        let server = try await TestServer.make(adapterCount: 1)
        let outside = try TestFiles.scratchDirectory()
        let names = try TinyModels.writeRandomAdapters(count: 1, to: outside, model: server.model, seed: 3)
        try FileManager.default.createSymbolicLink(atPath: server.adapterRoot + "/sneaky", withDestinationPath: outside + "/" + names[0])
        let climber = "../" + URL(fileURLWithPath: outside).lastPathComponent + "/" + names[0]
        try await server.withRouter { client in
            for model in [climber, "..", ".", outside + "/" + names[0]] {
                let body = String(data: try JSONSerialization.data(withJSONObject: ["model": model, "prompt": "x"]), encoding: .utf8)!
                expectError(try await client.post("/v1/completions", json: body), .notFound, type: "NotFoundError", param: "model")
            }
            let sneaky = try await client.post("/v1/completions", json: #"{"model": "sneaky", "prompt": "x"}"#)
            expectError(sneaky, .forbidden, type: "PermissionDeniedError", param: "model")
            #expect((sneaky.json[path: "error", "message"] as? String)?.contains("outside the adapter directory") == true)
            let listed = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(listed.count == 2, "the link is not listed")
        }
        #expect(server.engine.registeredAdapterNames == server.adapterNames)
    }

    @Test func aTruncatedWeightsFileIsRefusedAfterASecondLook() async throws {
        let watched = WatchedAdapterSource()
        let server = try await TestServer.make(adapterCount: 0, adapterSource: watched.source)
        let path = try server.copyIn("partial")
        let weights = URL(fileURLWithPath: path + "/adapter_model.safetensors")
        try Data(try Data(contentsOf: weights).dropLast(16)).write(to: weights)
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"model": "partial", "prompt": "x"}"#)
            expectError(response, .badRequest, type: "BadRequestError", param: "model")
            let message = response.json[path: "error", "message"] as? String ?? ""
            #expect(message.contains("adapter_model.safetensors") && message.contains("truncated, or still being written"), "\(message)")
        }
        #expect(watched.looks(at: "partial") == 2)
        #expect(!server.engine.isRegistered(adapter: "partial"))
    }

    @Test func aFolderCompletedBetweenTheTwoLooksIsServed() async throws {
        let watched = WatchedAdapterSource()
        let server = try await TestServer.make(adapterCount: 0, adapterSource: watched.source)
        let path = try server.copyIn("late")
        let weights = URL(fileURLWithPath: path + "/adapter_model.safetensors")
        let bytes = try Data(contentsOf: weights)
        try Data(bytes.prefix(bytes.count / 2)).write(to: weights)
        // The copy finishes right after the first look refuses the folder, before the second.
        watched.whenRefused { _ in try? bytes.write(to: weights) }
        try await server.withRouter { client in
            let completion = try await client.post("/v1/completions", json: #"{"model": "late", "prompt": "x", "max_tokens": 3}"#)
            #expect(completion.status == .ok, "\(completion.text)")
        }
        #expect(watched.looks(at: "late") == 2)
    }

    @Test func aRemovedFolderLeavesTheListingAndGives404() async throws {
        let server = try await TestServer.make(adapterCount: 3)
        let (listedGone, requestedGone) = (server.adapterNames[0], server.adapterNames[1])
        for name in [listedGone, requestedGone] { try FileManager.default.removeItem(atPath: server.adapterRoot + "/" + name) }
        try await server.withRouter { client in
            let listed = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(listed.map { $0["id"] as? String ?? "" } == [TestServer.baseName, server.adapterNames[2]])
            for name in [listedGone, requestedGone] {
                expectError(try await client.post("/v1/completions", json: #"{"model": "\#(name)", "prompt": "x"}"#), .notFound, type: "NotFoundError", param: "model")
            }
        }
        #expect(server.engine.registeredAdapterNames == [server.adapterNames[2]])
    }

    @Test func aRemovedFolderInUseIsKeptUntilItsRequestsFinish() async throws {
        let pace = Pace()
        let server = try await TestServer.make(adapterCount: 1, pace: pace)
        let name = server.adapterNames[0]
        let stream = server.engine.generate(EngineRequest(promptTokens: bytesOf("hold"), parameters: SamplingParameters(maxTokens: 40), adapterName: name))
        var iterator = stream.makeAsyncIterator()
        pace.step()
        _ = try await iterator.next()
        try FileManager.default.removeItem(atPath: server.adapterRoot + "/" + name)
        try await server.withRouter { client in
            let listed = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(listed.contains { $0["id"] as? String == name }, "still used by a running request")
        }
        #expect(server.engine.isRegistered(adapter: name))
        pace.open()
        while try await iterator.next() != nil {}
        _ = await server.waitUntilIdle()
        try await server.withRouter { client in
            let listed = try await client.get("/v1/models").json["data"] as? [[String: Any]] ?? []
            #expect(listed.count == 1, "forgotten at the next listing once idle")
            expectError(try await client.post("/v1/completions", json: #"{"model": "\#(name)", "prompt": "x"}"#), .notFound, type: "NotFoundError", param: "model")
        }
    }

    @Test func concurrentFirstRequestsForANewFolderRegisterItOnce() async throws {
        // The one look outlasts the catalog's 200 ms settle delay, as on a slow disk: a request that
        // tried a registration of its own would find the name busy twice and be refused.
        let watched = WatchedAdapterSource(firstLookTakes: 0.6)
        let server = try await TestServer.make(adapterCount: 0, adapterSource: watched.source)
        _ = try server.copyIn("popular")
        let statuses = try await server.withRouter { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await client.post("/v1/completions", json: #"{"model": "popular", "prompt": "x", "max_tokens": 2}"#)
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        #expect(statuses == Array(repeating: 200, count: 8))
        #expect(watched.looks(at: "popular") == 1)
    }
}

extension TestServer {
    /// Writes a random adapter elsewhere and copies its folder into the adapter root as `name`,
    /// as an operator would; returns the folder's path.
    func copyIn(_ name: String, seed: UInt64 = 5) throws -> String {
        let staging = try TestFiles.scratchDirectory()
        let written = try TinyModels.writeRandomAdapters(count: 1, to: staging, model: model, seed: seed, kinds: [.flora, .lora, .ia3])  // the watched source reads folders without base weights
        let path = adapterRoot + "/" + name
        try FileManager.default.copyItem(atPath: staging + "/" + written[0], toPath: path)
        return path
    }
}

/// The real adapter source, noting every folder it inspects and running the action given to
/// `whenRefused` on a folder it refused, before reporting the refusal.
final class WatchedAdapterSource: Sendable {
    private let inspected = Mutex<[String]>([])
    private let afterRefusal = Mutex<(@Sendable (String) -> Void)?>(nil)
    /// Seconds the first inspection blocks.
    private let firstLookTakes: Double

    init(firstLookTakes: Double = 0) {
        self.firstLookTakes = firstLookTakes
    }

    func whenRefused(_ action: @escaping @Sendable (String) -> Void) { afterRefusal.withLock { $0 = action } }

    var source: AdapterSource {
        AdapterSource(
            inspect: { path, shapes in
                let isFirst = self.inspected.withLock { inspected in
                    inspected.append(path)
                    return inspected.count == 1
                }
                if isFirst, self.firstLookTakes > 0 { Thread.sleep(forTimeInterval: self.firstLookTakes) }
                do {
                    return try AdapterSource.folders.inspect(path, shapes)
                } catch {
                    self.afterRefusal.withLock { $0 }?(path)
                    throw error
                }
            },
            load: AdapterSource.folders.load)
    }

    /// How many times the folder `name` was inspected.
    func looks(at name: String) -> Int { inspected.withLock { $0.filter { $0.hasSuffix("/" + name) }.count } }
}
