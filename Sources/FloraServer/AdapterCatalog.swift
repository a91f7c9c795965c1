// The server's side of adapter registration: names and paths checked against the adapter root,
// then registered with the engine, whose adapter cache is the one registry (the engine checks
// the folder's config and safetensors header against the model, so a broken adapter is refused
// up front with the loader's reason and changes nothing). Loads and unloads of one name are
// serialised: the actor marks a name busy across its awaits. With autoload the catalog follows
// the adapter root as folders appear and go (AdapterCatalog+Autoload.swift).

import FloraAdapters
import FloraEngine
import Foundation

public actor AdapterCatalog {
    let engine: Engine
    let baseModelName: String
    /// Real path of `--adapter-dir`, or nil: no loads by path at run time.
    public nonisolated let root: String?
    /// Whether folders that appear under `root` after start are served, and ones that go away
    /// forgotten (`--no-adapter-autoload` turns it off).
    public nonisolated let autoload: Bool
    private var busy: Set<String> = []
    /// Registrations of folders that appeared, in flight, by name: every request that names the
    /// folder meanwhile waits for the one registration.
    var appearing: [String: Task<Result<Bool, APIError>, Never>] = [:]

    public init(engine: Engine, baseModelName: String, adapterRoot: String?, autoload: Bool = true) async throws {
        self.engine = engine
        self.baseModelName = baseModelName
        self.autoload = autoload
        if let adapterRoot {
            guard let resolved = AdapterPaths.realPath(adapterRoot) else {
                throw APIError.badRequest("the adapter directory '\(adapterRoot)' does not exist")
            }
            root = resolved
        } else {
            root = nil
        }
    }

    /// Registered adapters and their folders, by name.
    public nonisolated var adapters: [(name: String, path: String)] {
        engine.adapters.sorted { $0.key < $1.key }.map { ($0.key, $0.value.path) }
    }
    public nonisolated func path(of name: String) -> String? { engine.adapters[name]?.path }

    /// Registers `name` → `path` after reading the folder (used at start, and by `load`).
    public func register(name: String, path: String) async throws(APIError) {
        if let problem = AdapterPaths.problem(withName: name) { throw APIError.badRequest(problem, param: "lora_name") }
        guard name != baseModelName else {
            throw APIError.badRequest("'\(name)' is the base model's name; choose another adapter name", param: "lora_name")
        }
        guard !engine.isRegistered(adapter: name), !busy.contains(name) else {
            throw APIError.badRequest("The lora adapter '\(name)' has already been loaded.", param: "lora_name")
        }
        busy.insert(name)
        defer { busy.remove(name) }
        do {
            try await engine.registerAdapter(name: name, path: path)
        } catch let error as AdapterCacheError {
            throw APIError.badRequest("adapter '\(name)' cannot be registered: \(error)", param: "lora_name")
        } catch {
            throw APIError.badRequest("adapter '\(name)' at '\(path)' cannot be loaded: \(error)", param: "lora_path")
        }
    }

    /// /v1/load_lora_adapter: `path` must resolve inside the adapter root.
    public func load(name: String, path: String) async throws(APIError) {
        guard let root else {
            throw APIError(.forbidden, "this server was started without --adapter-dir, so it loads no adapters by path", param: "lora_path")
        }
        try await register(name: name, path: try AdapterPaths.resolve(path, inside: root))
    }

    /// /v1/unload_lora_adapter: refused (409) while running or waiting requests use the adapter.
    public func unload(name: String) async throws(APIError) {
        guard engine.isRegistered(adapter: name), !busy.contains(name) else {
            throw APIError.notFound("The lora adapter '\(name)' cannot be found.", param: "lora_name")
        }
        busy.insert(name)
        defer { busy.remove(name) }
        let snapshot = engine.snapshot()
        if snapshot.runningAdapters.contains(name) || snapshot.waitingAdapters.contains(name) {
            throw APIError(.conflict, "adapter '\(name)' is used by running or waiting requests; unload it when they are done", param: "lora_name")
        }
        do {
            try await engine.unregisterAdapter(name: name)
        } catch let error as AdapterCacheError {
            if case .unknownAdapter = error {
                throw APIError.notFound("The lora adapter '\(name)' cannot be found.", param: "lora_name")
            }
            throw APIError(.conflict, error.description, param: "lora_name")
        } catch {
            throw APIError(.internalServerError, "\(error)", param: "lora_name")
        }
    }

    /// Registers every folder directly under the adapter root by its folder name. A folder that
    /// does not load is skipped, not fatal: in a directory of thousands, one bad adapter should
    /// not keep the server down. Returns the skipped folders with the reason.
    public func registerAdapterDirectory() async -> [(folder: String, reason: String)] {
        guard let root else { return [] }
        let folders = AdapterPaths.folders(in: root)
        // Checking a folder (config and safetensors header) is the cost of startup: spread it
        // over the cores, a few folders in flight per core.
        let width = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
        var skipped: [(folder: String, reason: String)] = []
        await withTaskGroup(of: (String, String?).self) { group in
            var next = folders.makeIterator()
            func add() -> Bool {
                guard let entry = next.next() else { return false }
                group.addTask {
                    do {
                        try await self.register(name: entry, path: root + "/" + entry)
                        return (entry, nil)
                    } catch {
                        return (entry, (error as? APIError)?.message ?? "\(error)")
                    }
                }
                return true
            }
            for _ in 0..<width where !add() { break }
            for await (entry, reason) in group {
                if let reason { skipped.append((entry, reason)) }
                _ = add()
            }
        }
        skipped.sort { $0.folder < $1.folder }
        return skipped
    }
}
