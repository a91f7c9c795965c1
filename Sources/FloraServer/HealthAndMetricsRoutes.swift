// GET /health and GET /metrics: open even with --api-key, for probes and scrapers.

import Hummingbird

extension FloraAPI {
    func health(_ request: Request, context: FloraRequestContext) async throws -> Response {
        Response(status: .ok)
    }

    func metricsText(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let snapshot = engine.snapshot()
        let registered = snapshot.registeredAdapters
        let text = metrics.exposition(snapshot, registeredAdapters: registered, maxLoras: maxLoras)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
