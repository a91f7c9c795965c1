// The fast header scanner against its Codable twin: on every header it accepts, it must read
// exactly what Codable reads; on plain headers it must accept; refusals keep Codable's errors.
import FloraFormats
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct SafetensorsHeaderScannerTests {
    /// Codable's reading, or nil when it refuses.
    func reference(_ json: [UInt8]) -> SafetensorsHeader? {
        json.withUnsafeBytes { try? SafetensorsHeader.decode($0, file: "h.safetensors") }
    }

    func scanned(_ json: [UInt8]) -> SafetensorsHeader? {
        json.withUnsafeBytes { SafetensorsHeaderScanner.scan($0) }
    }

    /// A plain header of `count` random entries, in the layout a writer would choose.
    func plainHeader(_ g: inout SeededGenerator, count: Int, metadata: Bool) -> String {
        var members: [String] = []
        if metadata { members.append(#""__metadata__": {"format": "pt", "note": "naïve"}"#) }
        var offset = 0
        for i in 0 ..< count {
            let shape = (0 ..< Int.random(in: 0 ... 3, using: &g)).map { _ in Int.random(in: 0 ... 600, using: &g) }
            let size = shape.reduce(4, *)
            let fields = [#""dtype": "F32""#, #""shape": [\#(shape.map(String.init).joined(separator: ", "))]"#,
                          #""data_offsets": [\#(offset), \#(offset + size)]"#].shuffled(using: &g)
            members.append(#""base_model.model.model.layers.\#(i).self_attn.q_proj.flora_A.weight": {\#(fields.joined(separator: ","))}"#)
            offset += size
        }
        let spaces = String(repeating: " ", count: Int.random(in: 0 ... 7, using: &g))
        return "{" + members.shuffled(using: &g).joined(separator: Bool.random(using: &g) ? "," : ",\n ") + "}" + spaces
    }

    @Test("Plain headers are scanned, and read exactly as Codable reads them")
    func plainHeadersAgree() throws {
        var g = SeededGenerator(seed: 5)
        for round in 0 ..< 200 {
            let json = Array(plainHeader(&g, count: round % 17, metadata: round % 3 == 0).utf8)
            let fast = try #require(scanned(json), "not scanned: \(String(decoding: json, as: UTF8.self))")
            #expect(fast == reference(json))
        }
    }

    @Test("Headers a writer produces are scanned, escapes excepted, and files read the same either way")
    func writtenHeadersAgree() throws {
        let tensors: [(name: String, tensor: Tensor)] = [("b.weight", SampleGGUF.tensor([3, 4], seed: 1)), ("scalar", Tensor(shape: [], values: [42]))]
        let bytes = try SafetensorsWriter.serialized(tensors: tensors, metadata: ["format": "pt"], dtype: .f32)
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let json = Array(bytes[8 ..< 8 + length])
        #expect(scanned(json) != nil && scanned(json) == reference(json))
        let escaped = Array(#"{"a\"b": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}"#.utf8)
        #expect(scanned(escaped) == nil)
        #expect(reference(escaped)?.entries["a\"b"] != nil)
    }

    @Test("Forms outside the plain one are left to Codable", arguments: [
        #"{"t": {"dtype": "F32", "shape": [1e2], "data_offsets": [0, 4]}}"#,
        #"{"t": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}"#,
        #"{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
        #"{"t": {"dtype": "F32", "shape": [01], "data_offsets": [0, 4]}}"#,
        #"{"t": {"dtype": "F32", "shape": [99999999999999999999], "data_offsets": [0, 4]}}"#,
        #"{"t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "extra": 1}}"#,
        #"{"t": {"dtype": "F32", "shape": []}}"#,
        #"{"t": {"dtype": "F32", "dtype": "F16", "shape": [], "data_offsets": [0, 4]}}"#,
        #"{"t": {"dtype": "\u0046\u0033\u0032", "shape": [], "data_offsets": [0, 4]}}"#,
        #"{"__metadata__": {"n": 1}}"#,
        #"{"__metadata__": null}"#,
        #"{"t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},}"#,
        #"{"t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}} x"#,
        #"[]"#,
        "",
    ])
    func unusualFormsFallBack(json: String) {
        #expect(scanned(Array(json.utf8)) == nil)
    }

    @Test("Byte-mutated headers: whatever the scanner accepts, Codable reads the same")
    func mutatedHeadersNeverDisagree() {
        var g = SeededGenerator(seed: 11)
        let alphabet = Array(#"{}[]":, 0123456789-.eE\"aF_"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        var accepted = 0
        for _ in 0 ..< 4_000 {
            var json = Array(plainHeader(&g, count: Int.random(in: 0 ... 4, using: &g), metadata: Bool.random(using: &g)).utf8)
            for _ in 0 ..< Int.random(in: 1 ... 3, using: &g) where !json.isEmpty {
                let at = Int.random(in: 0 ..< json.count, using: &g)
                switch Int.random(in: 0 ..< 3, using: &g) {
                case 0: json[at] = alphabet.randomElement(using: &g)!
                case 1: json.insert(alphabet.randomElement(using: &g)!, at: at)
                default: json.remove(at: at)
                }
            }
            guard let fast = scanned(json) else { continue }
            accepted += 1
            #expect(fast == reference(json), "\(String(decoding: json, as: UTF8.self))")
        }
        // Many mutations land in digits, names or whitespace and stay plain.
        #expect(accepted > 400)
    }
}
