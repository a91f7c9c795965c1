// GGUF files written by GGUFWriter read back with the same metadata, shapes and values.
import FloraTestSupport
import FloraFormats
import FloraTensor
import Testing

/// Small GGUF files for the tests: every metadata type and a few tensors.
enum SampleGGUF {
    static let vocabulary = (0 ..< 50_000).map { "tok\($0)·" }

    static func metadata(into writer: inout GGUFWriter, largeVocabulary: Bool = false) {
        writer.set("general.architecture", .string("llama"))
        writer.set("test.uint8", .uint8(200))
        writer.set("test.int8", .int8(-100))
        writer.set("test.uint16", .uint16(60000))
        writer.set("test.int16", .int16(-30000))
        writer.set("test.uint32", .uint32(4_000_000_000))
        writer.set("test.int32", .int32(-2_000_000_000))
        writer.set("test.uint64", .uint64(1 << 40))
        writer.set("test.int64", .int64(-(1 << 40)))
        writer.set("test.float32", .float32(0.5))
        writer.set("test.float64", .float64(1e-300))
        writer.set("test.bool", .bool(true))
        writer.set("test.ints", .int32s([1, -2, 3]))
        writer.set("test.floats", .float32s([0.25, -1]))
        writer.set("test.empty", .array(.uint8, []))
        writer.set("test.nested", .array(.array, [.strings(["a", "b"]), .strings([])]))
        writer.set("tokenizer.ggml.tokens", .strings(largeVocabulary ? vocabulary : ["a", "b", "c"]))
    }

    static func tensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return Tensor(shape: shape, values: (0 ..< shape.reduce(1, *)).map { _ in Float.random(in: -1 ... 1, using: &generator) })
    }

    /// Two F32 tensors and one Q8_0 tensor; the layout used by the corruption tests.
    static func small() throws -> [UInt8] {
        var writer = GGUFWriter()
        metadata(into: &writer)
        try writer.addTensor("a.weight", tensor([3, 32], seed: 1))
        try writer.addTensor("b.weight", tensor([2, 64], seed: 2), type: .q8_0)
        try writer.addTensor("norm", tensor([5], seed: 3))
        return try writer.serialized()
    }
}

@Suite struct GGUFRoundTripTests {
    @Test func metadataOfEveryTypeReadsBackUnchanged() throws {
        var writer = GGUFWriter()
        SampleGGUF.metadata(into: &writer, largeVocabulary: true)
        let file = try GGUFFile(bytes: try writer.serialized(), name: "sample.gguf")
        #expect(file.version == 3)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.int("test.uint8") == 200)
        #expect(try file.int("test.int8") == -100)
        #expect(try file.int("test.uint16") == 60000)
        #expect(try file.int("test.int16") == -30000)
        #expect(try file.int("test.uint32") == 4_000_000_000)
        #expect(try file.int("test.int32") == -2_000_000_000)
        #expect(try file.int("test.uint64") == 1 << 40)
        #expect(try file.int("test.int64") == -(1 << 40))
        #expect(try file.float("test.float32") == 0.5)
        #expect(file.metadata["test.float64"] == .float64(1e-300))
        #expect(try file.bool("test.bool"))
        #expect(try file.intArray("test.ints") == [1, -2, 3])
        #expect(try file.floatArray("test.floats") == [0.25, -1])
        #expect(try file.intArray("test.empty") == [])
        #expect(file.metadata["test.nested"] == .array(.array, [.strings(["a", "b"]), .strings([])]))
        #expect(try file.stringArray("tokenizer.ggml.tokens") == SampleGGUF.vocabulary)
        #expect(file.metadataKeys.first == "general.architecture")
        #expect(try file.optionalInt("no.such.key") == nil)
        #expect(file.tensorNames.isEmpty)
    }

    @Test func typedAccessorsNameTheFileTheKeyAndBothTypes() throws {
        var writer = GGUFWriter()
        SampleGGUF.metadata(into: &writer)
        let file = try GGUFFile(bytes: try writer.serialized(), name: "sample.gguf")
        let wrongType = #expect(throws: FormatError.self) { try file.int("general.architecture") }
        #expect(wrongType?.kind == .typeMismatch)
        #expect(wrongType?.description == "sample.gguf: general.architecture: expected an integer, found string \"llama\"")
        let missing = #expect(throws: FormatError.self) { try file.string("llama.block_count") }
        #expect(missing?.kind == .missing)
        #expect(missing?.description.contains("llama.block_count") == true)
        #expect(throws: FormatError.self) { try file.optionalBool("test.uint8") }
        #expect(throws: FormatError.self) { try file.stringArray("test.ints") }
        #expect(throws: FormatError.self) { try file.tensor("no.such.tensor") }
    }

    @Test(arguments: [GGUFType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1])
    func tensorsReadBackWithReversedDimensionsAndTheirStoredValues(type: GGUFType) throws {
        let original = SampleGGUF.tensor([3, 2, 64], seed: 5)
        var writer = GGUFWriter()
        writer.set("general.alignment", .uint32(64))
        try writer.addTensor("first", SampleGGUF.tensor([7], seed: 1))
        try writer.addTensor("x", original, type: type)
        let file = try GGUFFile(bytes: try writer.serialized())
        let info = try file.tensorInfo("x")
        #expect(info.dimensions == [64, 2, 3])
        #expect(info.type == type)
        #expect(info.offset % 64 == 0 && file.dataOffset % 64 == 0)
        let loaded = try file.tensor("x")
        #expect(loaded.shape == [3, 2, 64])
        // The reader must return exactly what the block format decodes from the stored bytes.
        let format = try #require(type.blockFormat)
        let expected = try file.withRawBytes(of: "x") { raw in
            (0 ..< original.count).map { format.referenceValue(at: $0, in: raw.baseAddress!) }
        }
        #expect(loaded.toArray() == expected)
        if type == .f32 { #expect(loaded.toArray() == original.toArray()) }
        let tolerance: Float = type == .f32 ? 0 : type == .f16 ? 1e-3 : type == .bf16 ? 1e-2 : 0.15
        #expect(zip(loaded.toArray(), original.toArray()).allSatisfy { abs($0 - $1) <= tolerance })
    }

    @Test func aFileWrittenToDiskReadsBackThroughTheMemoryMap() throws {
        let directory = try TestFiles.scratchDirectory()
        let path = directory + "/small.gguf"
        var writer = GGUFWriter()
        SampleGGUF.metadata(into: &writer)
        try writer.addTensor("a.weight", SampleGGUF.tensor([3, 32], seed: 1))
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        #expect(file.path == path)
        #expect(try file.tensor("a.weight").toArray() == SampleGGUF.tensor([3, 32], seed: 1).toArray())
    }

    @Test func theWriterRefusesShapesThatAreNotWholeBlocks() throws {
        var writer = GGUFWriter()
        #expect(throws: FormatError.self) { try writer.addTensor("x", Tensor(zeros: [2, 33]), type: .q8_0) }
        #expect(throws: FormatError.self) { try writer.addTensor("y", Tensor(zeros: [32]), type: .q6_K) }
        try writer.addTensor("z", Tensor(zeros: [32]))
        #expect(throws: FormatError.self) { try writer.addTensor("z", Tensor(zeros: [32])) }
        writer.set("bad", .array(.int32, [.string("not an int")]))
        #expect(throws: FormatError.self) { try writer.serialized() }
    }
}
