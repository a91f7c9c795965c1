// POST /v1/load_lora_adapter and /v1/unload_lora_adapter with vLLM's bodies, for every
// adapter type. Loads are confined to --adapter-dir (403 outside it or without it); a folder
// that does not load is refused with the loader's reason (400) and changes nothing; unloading
// an unknown name is 404; unloading one that running or waiting requests use is 409 — the
// client retries when they are done, rather than the server holding the connection open.

import Hummingbird

struct LoadAdapterRequest: Decodable, Sendable {
    var loraName: String
    var loraPath: String
    enum CodingKeys: String, CodingKey { case loraName = "lora_name", loraPath = "lora_path" }
}

struct UnloadAdapterRequest: Decodable, Sendable {
    var loraName: String
    enum CodingKeys: String, CodingKey { case loraName = "lora_name" }
}

extension FloraAPI {
    func loadAdapter(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(LoadAdapterRequest.self, limit: configuration.maxBodyBytes)
        try await catalog.load(name: body.loraName, path: body.loraPath)
        return Self.text("Success: LoRA adapter '\(body.loraName)' added successfully.")
    }

    func unloadAdapter(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(UnloadAdapterRequest.self, limit: configuration.maxBodyBytes)
        try await catalog.unload(name: body.loraName)
        return Self.text("Success: LoRA adapter '\(body.loraName)' removed successfully.")
    }

    static func text(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
