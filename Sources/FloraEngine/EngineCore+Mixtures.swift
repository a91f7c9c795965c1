// Adapter mixtures (AdapterMixture) are adapters the core registers itself, the first time a
// request asks for one, from its parts' registrations: from then on the scheduler, the cache's
// LRU, the bank and the prefix cache treat a mixture as any other adapter, by its name. Its
// weights are its parts' folders read and mixed on a load thread. A mixture is forgotten when a
// part is registered again or removed, and the oldest idle ones when there are too many, so
// requests with ever new weights cannot grow the registry without bound.

import FloraAdapters

extension EngineCore {
    /// Mixtures kept registered; each is a name and a few registrations, its weights are in the
    /// cache's LRU like any adapter's.
    static let maxMixtures = 256

    /// Registers `mixture` under its name unless it is, with its parts as registered now.
    func register(_ mixture: AdapterMixture) throws {
        var parts: [WeightedRegistration] = []
        for part in mixture.parts {
            guard let registration = adapters.registration(of: part.name), registration.parts.isEmpty else {
                throw EngineError.unknownAdapter(part.name)
            }
            parts.append(WeightedRegistration(registration: registration, weight: part.weight))
        }
        let kinds = parts.compactMap { part in part.registration.manifest.map { (part.registration.name, $0.kind) } }
        if let first = kinds.first, let other = kinds.first(where: { $0.1 != first.1 }) {
            throw EngineError.invalidRequest(
                "the adapters of a mixture must be of one kind: '\(first.0)' is \(first.1.rawValue), '\(other.0)' is \(other.1.rawValue)")
        }
        let name = mixture.name
        if adapters.registration(of: name)?.parts == parts, !staleMixtures.contains(name) {
            mixtureNames.removeAll { $0 == name }
            mixtureNames.append(name)
            return
        }
        do {
            try adapters.register(AdapterRegistration(
                name: name, path: parts.map(\.registration.path).joined(separator: " + "), manifest: parts.first?.registration.manifest,
                parts: parts))
        } catch {
            throw EngineError.invalidRequest("mixture '\(name)': a part was registered again while requests still use the mixture (\(error)); retry when they finish")
        }
        blocks.removeCachedBlocks(adapterName: name)
        staleMixtures.remove(name)
        mixtureNames.removeAll { $0 == name }
        mixtureNames.append(name)
        var idle = mixtureNames.filter { adapters.pinCount(of: $0) == 0 && $0 != name }
        while mixtureNames.count > Self.maxMixtures, !idle.isEmpty { forgetMixture(idle.removeFirst()) }
    }

    /// Forgets the mixtures that have `part` among their parts; one that running requests use
    /// is marked stale, to be mixed again for the next request that asks for it.
    func forgetMixtures(using part: String) {
        for name in mixtureNames where adapters.registration(of: name)?.parts.contains(where: { $0.registration.name == part }) == true {
            if adapters.pinCount(of: name) == 0 { forgetMixture(name) } else { staleMixtures.insert(name) }
        }
    }

    private func forgetMixture(_ name: String) {
        try? adapters.unregister(name: name)
        blocks.removeCachedBlocks(adapterName: name)
        mixtureNames.removeAll { $0 == name }
        staleMixtures.remove(name)
    }

    /// A load's weights: the folder's, or for a mixture its parts' folders mixed.
    static func load(_ request: AdapterLoadRequest, from source: AdapterSource, shapes: AdapterTargetShapes) throws -> AdapterWeights {
        guard !request.registration.parts.isEmpty else { return try source.load(request, shapes) }
        let parts = try request.registration.parts.map { part in
            let partRequest = AdapterLoadRequest(registration: part.registration, slot: request.slot, generation: request.generation)
            return (adapter: try source.load(partRequest, shapes), weight: part.weight)
        }
        return try AdapterWeights.mixing(parts, name: request.name)
    }
}
