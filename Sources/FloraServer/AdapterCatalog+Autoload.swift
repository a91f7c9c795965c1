// The adapter root followed without a call or a restart, as vLLM's filesystem resolver does: a
// request naming a folder that appeared under --adapter-dir registers it on the spot, with the
// checks /v1/load_lora_adapter makes (the name's rules, the folder resolved inside the root,
// config and safetensors header read against the model). A folder still being copied in is never
// half-read: registration refuses a missing config and a weights file shorter than its header
// declares, and a refused folder gets one more look a moment later before the request is
// answered. A folder that went away is unregistered when next noticed (a request naming it, a
// listing of /v1/models) unless requests use it; it is then kept until a later notice.

import FloraFormats
import Foundation

extension AdapterCatalog {
    /// How long a refused folder is given to finish being written before its second, last look.
    static let settleDelay: Duration = .milliseconds(200)

    /// Whether `name` is a registered adapter, after registering its folder if it appeared under
    /// the adapter root and unregistering it if its folder went away. Throws, with `param`
    /// "model", when the folder is there but refused (outside the root, incomplete, broken).
    public func resolve(name: String) async throws(APIError) -> Bool {
        guard autoload, let root else { return engine.isRegistered(adapter: name) }
        if let path = path(of: name) {
            if Self.vanished(path, root: root) { try? await unload(name: name) }
            return engine.isRegistered(adapter: name)
        }
        guard isFolderName(name), AdapterPaths.isFolder(root + "/" + name) else { return false }
        let registration = appearing[name] ?? {
            let task = Task { await self.registerAppeared(name: name, root: root) }
            appearing[name] = task
            return task
        }()
        return try await registration.value.get()
    }

    /// What /v1/models lists: the registered adapters, less those whose folder went away (which
    /// are unregistered now if idle), plus the folders under the root that are not registered yet
    /// and hold an adapter's two files. Those are listed lazily, from the directory alone: a
    /// listing reads no file, however many folders appeared, and a request that names a broken
    /// one is told why when it registers.
    public func listedAdapters() async -> [(name: String, path: String)] {
        guard autoload, let root else { return adapters }
        for adapter in adapters where Self.vanished(adapter.path, root: root) { try? await unload(name: adapter.name) }
        let registered = adapters
        let names = Set(registered.map(\.name))
        var listed = registered
        for folder in AdapterPaths.folders(in: root) where !names.contains(folder) && isFolderName(folder) {
            guard let path = try? AdapterPaths.resolve(folder, inside: root),
                  [PEFTFolder.configFileName, PEFTFolder.weightsFileName].allSatisfy({ FileManager.default.fileExists(atPath: path + "/" + $0) })
            else { continue }
            listed.append((folder, path))
        }
        return listed.sorted { $0.name < $1.name }
    }

    /// The one registration of a folder that appeared: false when it went away meanwhile.
    private func registerAppeared(name: String, root: String) async -> Result<Bool, APIError> {
        defer { appearing[name] = nil }
        for look in 1...2 {
            if look == 2 {
                try? await Task.sleep(for: Self.settleDelay)
                guard AdapterPaths.isFolder(root + "/" + name) else { return .success(false) }
            }
            do throws(APIError) {
                try await register(name: name, path: try AdapterPaths.resolve(name, inside: root))
                return .success(true)
            } catch {
                // Registered meanwhile by /v1/load_lora_adapter under the same name: served all the same.
                if engine.isRegistered(adapter: name) { return .success(true) }
                if look == 2 || error.status == .forbidden { return .failure(APIError(error.status, error.message, param: "model")) }
            }
        }
        return .success(false)
    }

    /// A name that may stand for a folder of the root: the adapter-name rules, not hidden, not the base model.
    private func isFolderName(_ name: String) -> Bool {
        AdapterPaths.problem(withName: name) == nil && !name.hasPrefix(".") && name != baseModelName
    }

    /// Whether a registered adapter's folder was under the root and is gone; adapters registered
    /// from elsewhere (`--adapter`) are not the directory's to forget.
    private static func vanished(_ path: String, root: String) -> Bool {
        AdapterPaths.isInside(path, root: root) && !AdapterPaths.isFolder(path)
    }
}
