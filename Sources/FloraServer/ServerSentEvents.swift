// Streamed responses as server-sent events in OpenAI's format: `data: {chunk}\n\n` per chunk,
// a usage chunk when `stream_options.include_usage` asks for it, then `data: [DONE]\n\n`. An
// error after the stream began is sent as `data: {"error": …}` before `[DONE]`, as vLLM does.
// If the client goes away, the write fails and the generation is cancelled.

import FloraEngine
import Hummingbird

/// Turns engine pieces into the chunks of one route's stream.
protocol StreamRenderer: Sendable {
    var choicesPerPrompt: Int { get }
    mutating func chunks(for event: ChoicePiece) -> [any Encodable & Sendable]
    func usageChunk(_ usage: Usage) -> any Encodable & Sendable
}

enum ServerSentEvents {
    static func response<Renderer: StreamRenderer>(
        _ generation: Generation, includeUsage: Bool, render: Renderer
    ) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { generation.cancel() }
            try await write(generation, to: &writer, includeUsage: includeUsage, render: render)
            try await writer.finish(nil)
        })
    }

    private static func write<Renderer: StreamRenderer>(
        _ generation: Generation, to writer: inout any ResponseBodyWriter, includeUsage: Bool, render: Renderer
    ) async throws {
        var render = render
        var outputs: [Int: ChoiceOutput] = [:]
        do {
            for try await event in generation.events {
                outputs[event.choice, default: ChoiceOutput()].append(event.piece)
                for chunk in render.chunks(for: event) { try await writer.write(Self.event(chunk)) }
            }
            if includeUsage {
                let ordered = outputs.keys.sorted().map { outputs[$0]! }
                try await writer.write(Self.event(render.usageChunk(Usage(ordered, choicesPerPrompt: render.choicesPerPrompt))))
            }
        } catch let error where !(error is CancellationError) {
            try await writer.write(Self.event(APIError(error).body))
        }
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
    }

    static func event(_ value: some Encodable) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        var json = JSONOutput.encode(value)
        buffer.writeBuffer(&json)
        buffer.writeString("\n\n")
        return buffer
    }
}
