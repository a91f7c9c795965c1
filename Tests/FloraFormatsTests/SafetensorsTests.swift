// safetensors: round trips through SafetensorsWriter, the golden reference files, and corrupted
// headers and data that must be refused with a FormatError.
import FloraTestSupport
import FloraFormats
import FloraTensor
import Foundation
import Testing

@Suite struct SafetensorsTests {
    static let tensors: [(name: String, tensor: Tensor)] = [
        ("b.weight", SampleGGUF.tensor([3, 4], seed: 1)),
        ("a.bias", SampleGGUF.tensor([5], seed: 2)),
        ("c \"quoted\"\n", SampleGGUF.tensor([2, 1, 3], seed: 3)),
        ("scalar", Tensor(shape: [], values: [42])),
        ("empty", Tensor(zeros: [0, 7])),
    ]

    func refusal(_ bytes: [UInt8]) -> FormatError? {
        do {
            _ = try SafetensorsFile(bytes: bytes, name: "bad.safetensors")
            return nil
        } catch let error as FormatError {
            return error
        } catch {
            Issue.record("not a FormatError: \(error)")
            return nil
        }
    }

    /// A file with a hand-written header and `dataSize` zero bytes of data.
    func file(header: String, dataSize: Int = 64) -> [UInt8] {
        var bytes: [UInt8] = []
        Swift.withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        return bytes + Array(header.utf8) + [UInt8](repeating: 0, count: dataSize)
    }

    @Test(arguments: [SafetensorsDType.f32, .f16, .bf16])
    func tensorsAndMetadataRoundTrip(dtype: SafetensorsDType) throws {
        let bytes = try SafetensorsWriter.serialized(tensors: Self.tensors, metadata: ["format": "pt", "note": "é"], dtype: dtype)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        let file = try SafetensorsFile(bytes: bytes, name: "x.safetensors")
        #expect(file.metadata == ["format": "pt", "note": "é"])
        #expect(file.tensorNames == Self.tensors.map(\.name).sorted())
        let tolerance: Float = dtype == .f32 ? 0 : dtype == .f16 ? 1e-3 : 1e-2
        for (name, original) in Self.tensors {
            let info = try file.info(name)
            #expect(info.dtype == dtype)
            #expect(info.shape == original.shape)
            let loaded = try file.tensor(name)
            #expect(loaded.shape == original.shape)
            #expect(zip(loaded.toArray(), original.toArray()).allSatisfy { abs($0 - $1) <= tolerance })
        }
    }

    @Test func aWrittenFileReadsBackFromDisk() throws {
        let path = try TestFiles.scratchDirectory() + "/t.safetensors"
        try SafetensorsWriter.write(tensors: Self.tensors, metadata: [:], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata.isEmpty)
        #expect(try file.tensor("b.weight").toArray() == Self.tensors[0].tensor.toArray())
    }

    @Test func theGoldenLogitsHold49152Floats() throws {
        let file = try SafetensorsFile(path: TestFiles.goldenDirectory + "/base_last_logits.safetensors")
        #expect(file.tensorNames == ["logits"])
        let logits = try file.tensor("logits")
        #expect(logits.shape == [49152])
        let values = logits.toArray()
        #expect(Array(values.prefix(3)) == [17.007078170776367, 10.75338363647461, 15.8817777633667])
        #expect(values.indices.max { values[$0] < values[$1] } == 472)
        #expect(abs(values.reduce(0.0) { $0 + Double($1) } - 478069.1919298172) < 1e-3)
    }

    @Test(arguments: [
        ("flora_r1", 120, "base_model.model.model.layers.0.self_attn.k_proj.flora_A.weight", [1, 576], [Float(1.0518813133239746), 1.0034247636795044]),
        ("flora_r4", 120, "base_model.model.model.layers.0.self_attn.k_proj.flora_A.weight", [4, 576], [1.0376124382019043, 0.9376001954078674]),
        ("lora_r8", 120, "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", [8, 576], [0.01617129147052765, 0.0018937240820378065]),
        ("ia3", 90, "base_model.model.model.layers.0.mlp.down_proj.ia3_l", [1, 1536], [0.9249506592750549, 0.9501541256904602]),
    ])
    func theGoldenAdaptersLoad(adapter: String, count: Int, first: String, shape: [Int], values: [Float]) throws {
        let file = try SafetensorsFile(path: TestFiles.goldenDirectory + "/adapters/\(adapter)/adapter_model.safetensors")
        #expect(file.tensorNames.count == count)
        let tensor = try file.tensor(first)
        #expect(tensor.shape == shape)
        #expect(Array(tensor.toArray().prefix(2)) == values)
        for name in file.tensorNames { _ = try file.tensor(name) }
    }

    @Test func aFileCutAnywhereIsRefused() throws {
        let bytes = try SafetensorsWriter.serialized(tensors: Self.tensors, metadata: ["format": "pt"])
        var accepted: [Int] = []
        for cut in 0 ..< bytes.count where refusal(Array(bytes[..<cut])) == nil { accepted.append(cut) }
        #expect(accepted.isEmpty, "cuts that parsed: \(accepted.prefix(10))")
    }

    @Test func aFileCutInsideItsDataIsRefusedAsTruncated() throws {
        let bytes = try SafetensorsWriter.serialized(tensors: Self.tensors, metadata: ["format": "pt"])
        let error = refusal(Array(bytes.dropLast(1)))
        #expect(error?.kind == .truncated)
        #expect(error?.item == nil, "the file as a whole, not one tensor")
        #expect(error?.description.contains("still being written") == true, "\(error?.description ?? "accepted")")
    }

    @Test func anAbsurdHeaderLengthIsRefused() {
        var bytes: [UInt8] = []
        Swift.withUnsafeBytes(of: (UInt64(1) << 62).littleEndian) { bytes += $0 }
        let error = refusal(bytes + Array("{}".utf8))
        #expect(error?.kind == .limitExceeded)
        #expect(error?.description.contains("4611686018427387904") == true)
    }

    @Test(arguments: [
        (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, "8 bytes"),
        (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, "begin ≤ end"),
        (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[64,72]}}"#, "72 bytes of data"),
        (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, "0 ≤ begin"),
        (#"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, "non-negative"),
        (#"{"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, "\"F33\""),
        (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, "[begin, end]"),
        (#"{"t":{"dtype":"F32","shape":[2]}}"#, "data_offsets"),
        (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, "after tensor"),
        (#"{"__metadata__":{"format":3}}"#, "object of strings"),
        (#"[1,2]"#, "JSON object"),
        (#"{"t": not json"#, "header"),
        (#"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, "sane size"),
    ])
    func badHeadersAreRefusedSayingWhatIsWrong(header: String, hint: String) {
        let error = refusal(file(header: header))
        #expect(error != nil)
        #expect(error?.description.contains(hint) == true, "\(error?.description ?? "no error")")
    }

    @Test func integerTensorsAndNonFiniteValuesAreRefusedWhenLoaded() throws {
        var bytes = file(header: #"{"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"n":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}"#, dataSize: 20)
        bytes[bytes.count - 1] = 0x7F; bytes[bytes.count - 2] = 0xC0 // 0x7FC00000: NaN
        let file = try SafetensorsFile(bytes: bytes, name: "x.safetensors")
        let integer = #expect(throws: FormatError.self) { try file.tensor("i") }
        #expect(integer?.kind == .unsupportedType)
        #expect(integer?.description.contains("I64") == true)
        #expect((#expect(throws: FormatError.self) { try file.tensor("n") })?.description.contains("finite") == true)
        #expect((#expect(throws: FormatError.self) { try file.tensor("missing") })?.kind == .missing)
    }

    @Test func theWriterRefusesDuplicateNames() {
        #expect(throws: FormatError.self) {
            try SafetensorsWriter.serialized(tensors: [("a", Tensor(zeros: [1])), ("a", Tensor(zeros: [1]))])
        }
    }

    @Test func randomByteFlipsNeverCrashTheReader() throws {
        let original = try SafetensorsWriter.serialized(tensors: Self.tensors, metadata: ["format": "pt"])
        var generator = SeededGenerator(seed: 5)
        for _ in 0 ..< 2000 {
            var bytes = original
            for _ in 0 ..< Int.random(in: 1 ... 3, using: &generator) {
                bytes[Int.random(in: 0 ..< bytes.count, using: &generator)] = UInt8.random(in: 0 ... 255, using: &generator)
            }
            guard let file = try? SafetensorsFile(bytes: bytes) else { continue }
            for name in file.tensorNames { _ = try? file.tensor(name) }
        }
    }
}
