// Corrupted GGUF files: every one must be refused with a FormatError that says what was wrong,
// and none may crash the reader.
import FloraTestSupport
import FloraFormats
import FloraTensor
import Testing

/// Hand-built GGUF bytes for corruptions the writer cannot produce.
struct RawGGUF {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += s.utf8 }
    mutating func header(tensors: UInt64, pairs: UInt64, version: UInt32 = 3) {
        bytes += Array("GGUF".utf8); u32(version); u64(tensors); u64(pairs)
    }
    mutating func f32Tensor(_ name: String, elements: UInt64, offset: UInt64) {
        string(name); u32(1); u64(elements); u32(0); u64(offset)
    }
    mutating func pad(_ alignment: Int = 32) { while bytes.count % alignment != 0 { bytes.append(0) } }
}

extension [UInt8] {
    mutating func setU64(_ value: UInt64, at offset: Int) {
        for i in 0 ..< 8 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
    mutating func setU32(_ value: UInt32, at offset: Int) {
        for i in 0 ..< 4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
    /// Where the bytes of `string`, stored as a GGUF string, end (the field after it starts).
    func end(ofStoredString string: String) -> Int {
        var needle: [UInt8] = []
        Swift.withUnsafeBytes(of: UInt64(string.utf8.count).littleEndian) { needle += $0 }
        needle += string.utf8
        let start = (0 ... count - needle.count).first { self[$0 ..< $0 + needle.count].elementsEqual(needle) }!
        return start + needle.count
    }
}

@Suite struct GGUFCorruptionTests {
    func refusal(_ bytes: [UInt8], _ name: String = "bad.gguf") -> FormatError? {
        do {
            _ = try GGUFFile(bytes: bytes, name: name)
            return nil
        } catch let error as FormatError {
            return error
        } catch {
            Issue.record("not a FormatError: \(error)")
            return nil
        }
    }

    @Test func aFileCutAnywhereBeforeItsLastTensorEndsIsRefused() throws {
        let bytes = try SampleGGUF.small()
        let file = try GGUFFile(bytes: bytes)
        let end = file.tensorInfos.values.map { $0.fileOffset + $0.byteCount }.max()!
        var accepted: [Int] = []
        for cut in 0 ..< end {
            guard let error = refusal(Array(bytes[..<cut])) else { accepted.append(cut); continue }
            #expect(error.description.hasPrefix("bad.gguf"))
        }
        #expect(accepted.isEmpty, "cuts that parsed: \(accepted.prefix(10))")
        #expect(refusal(Array(bytes[..<end])) == nil)
    }

    @Test func aLargeVocabularyCutInsideItsStringsIsRefused() throws {
        var writer = GGUFWriter()
        SampleGGUF.metadata(into: &writer, largeVocabulary: true)
        let bytes = try writer.serialized()
        for cut in stride(from: 0, to: bytes.count - 1, by: 9973) {
            let kind = refusal(Array(bytes[..<cut]))?.kind
            #expect(kind == .truncated || kind == .limitExceeded)
        }
    }

    @Test func aWrongMagicIsRefusedNamingTheMagic() throws {
        var bytes = try SampleGGUF.small()
        bytes[0] = UInt8(ascii: "X")
        let error = refusal(bytes)
        #expect(error?.kind == .badMagic)
        #expect(error?.description.contains("\"GGUF\"") == true)
        #expect(refusal([])?.kind == .truncated)
    }

    @Test(arguments: [UInt32(0), 1, 4, 0x0300_0000])
    func unsupportedVersionsAreRefusedNamingTheVersion(version: UInt32) throws {
        var bytes = try SampleGGUF.small()
        bytes.setU32(version, at: 4)
        let error = refusal(bytes)
        #expect(error?.kind == .unsupportedVersion)
        #expect(error?.description.contains("version \(version)") == true)
    }

    @Test(arguments: [8, 16])
    func anAbsurdTensorOrMetadataCountIsRefusedBeforeAllocating(offset: Int) throws {
        var bytes = try SampleGGUF.small()
        bytes.setU64(1 << 60, at: offset)
        let error = refusal(bytes)
        #expect(error?.kind == .limitExceeded)
        #expect(error?.description.contains("1152921504606846976") == true)
    }

    @Test func anAbsurdStringLengthIsRefused() throws {
        var bytes = try SampleGGUF.small()
        bytes.setU64(1 << 62, at: 24) // the length of the first key
        #expect(refusal(bytes)?.kind == .limitExceeded)
        bytes = try SampleGGUF.small()
        bytes.setU64(1 << 62, at: bytes.end(ofStoredString: "general.architecture") + 4) // its string value
        let error = refusal(bytes)
        #expect(error?.kind == .truncated)
        #expect(error?.item == "general.architecture")
    }

    @Test func anAbsurdArrayLengthIsRefused() throws {
        var bytes = try SampleGGUF.small()
        bytes.setU64(1 << 60, at: bytes.end(ofStoredString: "test.ints") + 8)
        let error = refusal(bytes)
        #expect(error?.kind == .limitExceeded)
        #expect(error?.item == "test.ints")
    }

    @Test func arraysNestedTooDeepAreRefused() {
        var raw = RawGGUF()
        raw.header(tensors: 0, pairs: 1)
        raw.string("deep")
        raw.u32(9)
        for _ in 0 ..< 100 { raw.u32(9); raw.u64(1) }
        raw.u32(0); raw.u64(0)
        #expect(refusal(raw.bytes)?.kind == .limitExceeded)
    }

    /// Offset of tensor `name`'s data-offset field, and of its type field.
    func fields(_ bytes: [UInt8], _ name: String, dimensions: Int) -> (dimensions: Int, type: Int, offset: Int) {
        let start = bytes.end(ofStoredString: name)
        return (start + 4, start + 4 + 8 * dimensions, start + 8 + 8 * dimensions)
    }

    @Test(arguments: [UInt64(1 << 20), 1 << 63, UInt64.max - 31])
    func tensorDataOutsideTheFileIsRefused(offset: UInt64) throws {
        var bytes = try SampleGGUF.small()
        bytes.setU64(offset, at: fields(bytes, "norm", dimensions: 1).offset)
        let error = refusal(bytes)
        #expect(error?.kind == .outOfBounds)
        #expect(error?.item == "norm")
    }

    @Test func aMisalignedTensorOffsetIsRefused() throws {
        var bytes = try SampleGGUF.small()
        let field = fields(bytes, "b.weight", dimensions: 2).offset
        let file = try GGUFFile(bytes: bytes)
        bytes.setU64(UInt64(try file.tensorInfo("b.weight").offset + 4), at: field)
        let error = refusal(bytes)
        #expect(error?.kind == .misaligned)
        #expect(error?.description.contains("multiple of 32") == true)
    }

    @Test func overlappingTensorsAreRefused() throws {
        var bytes = try SampleGGUF.small()
        bytes.setU64(0, at: fields(bytes, "b.weight", dimensions: 2).offset)
        let error = refusal(bytes)
        #expect(error?.kind == .outOfBounds)
        #expect(error?.description.contains("a.weight") == true)
    }

    @Test func unknownTypesBadDimensionCountsAndPartialBlocksAreRefused() throws {
        var bytes = try SampleGGUF.small()
        bytes.setU32(99, at: fields(bytes, "norm", dimensions: 1).type)
        #expect(refusal(bytes)?.description.contains("type id 99") == true)
        for count in [UInt32(0), 5] {
            bytes = try SampleGGUF.small()
            bytes.setU32(count, at: bytes.end(ofStoredString: "norm"))
            #expect(refusal(bytes)?.kind == .invalidValue)
        }
        bytes = try SampleGGUF.small()
        bytes.setU64(48, at: fields(bytes, "b.weight", dimensions: 2).dimensions)
        #expect(refusal(bytes)?.description.contains("multiple of 32") == true)
        bytes = try SampleGGUF.small()
        bytes.setU64(1 << 40, at: fields(bytes, "b.weight", dimensions: 2).dimensions)
        #expect(refusal(bytes)?.kind == .limitExceeded)
    }

    @Test func iQuantAndQ8_KTensorsParseButAreRefusedByNameWhenLoaded() throws {
        var writer = GGUFWriter()
        try writer.addRawTensor("output.weight", dimensions: [256, 2], type: .iq2_XXS, bytes: [UInt8](repeating: 0, count: 132))
        try writer.addRawTensor("blk.0.attn_q.weight", dimensions: [256, 1], type: .q8_K, bytes: [UInt8](repeating: 0, count: 292))
        let file = try GGUFFile(bytes: try writer.serialized(), name: "k.gguf")
        #expect(try file.tensorInfo("output.weight").type == .iq2_XXS)
        let error = #expect(throws: FormatError.self) { try file.tensor("output.weight") }
        #expect(error?.kind == .unsupportedType)
        #expect(error?.description.contains("k.gguf: output.weight") == true)
        #expect(error?.description.contains("IQ2_XXS, which is not supported yet") == true)
        #expect(error?.description.contains("Q2_K, Q3_K, Q4_K, Q5_K, Q6_K") == true)
        let q8K = #expect(throws: FormatError.self) { try file.tensor("blk.0.attn_q.weight") }
        #expect(q8K?.description.contains("k.gguf: blk.0.attn_q.weight") == true)
        #expect(q8K?.description.contains("found Q8_K, ggml's intermediate type for the activations") == true)
    }

    @Test func aTruncatedKQuantBlockIsRefusedNamingTheTensorAndItsBytes() throws {
        var writer = GGUFWriter()
        try writer.addRawTensor(
            "blk.0.attn_q.weight", dimensions: [512, 3], type: .q4_K, bytes: KQuantFixtures.randomBlocks(.q4_K, count: 6, seed: 1))
        let bytes = try writer.serialized()
        let error = refusal(Array(bytes.dropLast(100)), "q4k.gguf")  // 864 bytes of blocks, the last 100 cut
        #expect(error?.kind == .outOfBounds)
        #expect(error?.description.contains("q4k.gguf: blk.0.attn_q.weight: expected 864 bytes of Q4_K data at offset 0") == true)
        #expect(error?.description.contains("found a file of \(bytes.count - 100) bytes") == true)
    }

    @Test func aKQuantRowThatIsNotWholeSuperBlocksIsRefused() throws {
        var writer = GGUFWriter()
        try writer.addRawTensor(
            "blk.0.ffn_down.weight", dimensions: [256, 3], type: .q5_K, bytes: KQuantFixtures.randomBlocks(.q5_K, count: 3, seed: 2))
        var bytes = try writer.serialized()
        bytes.setU64(384, at: fields(bytes, "blk.0.ffn_down.weight", dimensions: 2).dimensions)
        let error = refusal(bytes, "q5k.gguf")
        #expect(error?.kind == .invalidValue)
        #expect(error?.description
            == "q5k.gguf: blk.0.ffn_down.weight: expected ne0 a multiple of 256 (the Q5_K block size), found dimensions [384, 3]")
    }

    @Test func anUnknownQuantTypeIsRefusedNamingTheTensorAndTheTypeId() throws {
        var writer = GGUFWriter()
        try writer.addRawTensor(
            "blk.0.attn_k.weight", dimensions: [256, 1], type: .q6_K, bytes: KQuantFixtures.randomBlocks(.q6_K, count: 1, seed: 3))
        var bytes = try writer.serialized()
        bytes.setU32(41, at: fields(bytes, "blk.0.attn_k.weight", dimensions: 2).type)
        #expect(refusal(bytes, "iq.gguf")?.description
            == "iq.gguf: blk.0.attn_k.weight: expected a known ggml tensor type, found type id 41")
    }

    @Test func aTensorWithNaNIsRefusedWhenLoaded() throws {
        var writer = GGUFWriter()
        try writer.addTensor("w", Tensor(shape: [4], values: [1, 2, .nan, 4]))
        try writer.addTensor("v", Tensor(shape: [2], values: [1, -.infinity]), type: .f16)
        let file = try GGUFFile(bytes: try writer.serialized())
        let error = #expect(throws: FormatError.self) { try file.tensor("w") }
        #expect(error?.description.contains("element 2") == true)
        #expect(throws: FormatError.self) { try file.tensor("v") }
    }

    @Test func duplicateKeysAndTensorNamesAreRefused() {
        var raw = RawGGUF()
        raw.header(tensors: 0, pairs: 2)
        for _ in 0 ..< 2 { raw.string("k"); raw.u32(4); raw.u32(1) }
        #expect(refusal(raw.bytes)?.description.contains("each metadata key once") == true)
        raw = RawGGUF()
        raw.header(tensors: 2, pairs: 0)
        raw.f32Tensor("t", elements: 1, offset: 0)
        raw.f32Tensor("t", elements: 1, offset: 32)
        raw.pad()
        raw.bytes += [UInt8](repeating: 0, count: 64)
        #expect(refusal(raw.bytes)?.description.contains("each tensor name once") == true)
    }

    @Test func badValuesAreRefused() {
        func pair(type: UInt32, _ value: (inout RawGGUF) -> Void, key: String = "k") -> FormatError? {
            var raw = RawGGUF()
            raw.header(tensors: 0, pairs: 1)
            raw.string(key)
            raw.u32(type)
            value(&raw)
            return refusal(raw.bytes)
        }
        #expect(pair(type: 8, { $0.u64(2); $0.bytes += [0xC3, 0x28] })?.description.contains("UTF-8") == true)
        #expect(pair(type: 7, { $0.bytes.append(2) })?.kind == .invalidValue)
        #expect(pair(type: 13, { $0.u32(0) })?.description.contains("type id 13") == true)
        #expect(pair(type: 9, { $0.u32(77); $0.u64(0) })?.kind == .invalidValue)
        for alignment: UInt32 in [0, 3, 1 << 30] {
            #expect(pair(type: 4, { $0.u32(alignment) }, key: "general.alignment")?.item == "general.alignment")
        }
        #expect(pair(type: 4, { $0.u32(64) }, key: "general.alignment") == nil)
    }

    @Test func missingFilesAndDirectoriesAreRefusedWithTheirPath() throws {
        let directory = try TestFiles.scratchDirectory()
        let missing = #expect(throws: FormatError.self) { try GGUFFile(path: directory + "/none.gguf") }
        #expect(missing?.kind == .io)
        #expect(missing?.description.contains("none.gguf") == true)
        #expect((#expect(throws: FormatError.self) { try GGUFFile(path: directory) })?.kind == .io)
    }

    @Test func randomByteFlipsNeverCrashTheReader() throws {
        let original = try SampleGGUF.small()
        var generator = SeededGenerator(seed: 3)
        var parsed = 0
        for _ in 0 ..< 3000 {
            var bytes = original
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &generator) {
                bytes[Int.random(in: 0 ..< bytes.count, using: &generator)] = UInt8.random(in: 0 ... 255, using: &generator)
            }
            guard let file = try? GGUFFile(bytes: bytes) else { continue }
            parsed += 1
            for name in file.tensorNames { _ = try? file.tensor(name) }
        }
        #expect(parsed > 0)
    }
}
