// GET /v1/models: the base model, then every adapter (registered, or a folder that appeared
// under --adapter-dir) with `parent` = the base model's id and `root` = its folder (vLLM's fields).

import Hummingbird

struct ModelList: Encodable, Sendable {
    var object = "list"
    var data: [Model]

    struct Model: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "flora"
        var root: String
        var parent: OrNull<String>
        var maxModelLen: Int
        enum CodingKeys: String, CodingKey { case id, object, created, root, parent, ownedBy = "owned_by", maxModelLen = "max_model_len" }
    }
}

extension FloraAPI {
    func models(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let base = configuration.servedModelName
        let created = Self.now
        var data = [ModelList.Model(id: base, created: created, root: configuration.modelPath, parent: .null, maxModelLen: maxModelLength)]
        for adapter in await catalog.listedAdapters() {
            data.append(ModelList.Model(id: adapter.name, created: created, root: adapter.path, parent: OrNull(base), maxModelLen: maxModelLength))
        }
        return JSONOutput.response(ModelList(data: data))
    }
}
