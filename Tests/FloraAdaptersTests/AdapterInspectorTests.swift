// The inspector remembers accepted folders by fingerprint (config, safetensors header, file
// size) and model shapes: anything that changes the verdict changes one of those, so a
// remembered verdict is never given to a folder that would be refused.

import FloraAdapters
import FloraFormats
import FloraTestSupport
import Foundation
import Testing

@Suite struct AdapterInspectorTests {
    /// A fresh rank-2 LoRA folder on q_proj and v_proj of `tinyShapes()`.
    func folder(seed: UInt64 = 1) throws -> String {
        let weights = try AdapterWeights.initialized(
            name: "a", kind: .lora, rank: 2, targets: [.qProj, .vProj], shapes: try tinyShapes(), seed: seed, random: true)
        let path = try TestFiles.scratchDirectory() + "/adapter"
        try AdapterWriter.write(weights, to: path)
        return path
    }

    @Test func foldersOfOneRecipeGetTheFullChecksVerdict() throws {
        let inspector = AdapterInspector()
        let shapes = try tinyShapes()
        let first = try folder(seed: 1), second = try folder(seed: 2)
        #expect(PEFTFolderFingerprint(folder: first) == PEFTFolderFingerprint(folder: second))
        let expected = try AdapterLoader.inspect(folder: second, shapes: shapes)
        #expect(try inspector.inspect(folder: first, shapes: shapes) == expected)
        #expect(try inspector.inspect(folder: second, shapes: shapes) == expected)
    }

    @Test func aTruncatedCopyOfAnAcceptedFolderIsStillRefused() throws {
        let inspector = AdapterInspector()
        let shapes = try tinyShapes()
        let good = try folder(), bad = try folder()
        _ = try inspector.inspect(folder: good, shapes: shapes)
        let weights = bad + "/" + PEFTFolder.weightsFileName
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.dropLast(4).write(to: URL(fileURLWithPath: weights))
        // Same config and header, four bytes short: the last tensor's data lies outside the file.
        #expect(throws: FormatError.self) { try inspector.inspect(folder: bad, shapes: shapes) }
        #expect(throws: FormatError.self) { try inspector.inspect(folder: bad, shapes: shapes) }
    }

    @Test func anAcceptedFolderIsCheckedAgainForAnotherModel() throws {
        let inspector = AdapterInspector()
        let path = try folder()
        _ = try inspector.inspect(folder: path, shapes: try tinyShapes())
        let wider = try AdapterTargetShapes.llama(
            layers: 2, hiddenSize: 48, attentionHeads: 4, keyValueHeads: 2, headDimension: 12, intermediateSize: 56)
        #expect(throws: FormatError.self) { try inspector.inspect(folder: path, shapes: wider) }
    }

    @Test func aFolderWhoseConfigChangesIsCheckedAgain() throws {
        let inspector = AdapterInspector()
        let shapes = try tinyShapes()
        let path = try folder()
        _ = try inspector.inspect(folder: path, shapes: shapes)
        let configPath = path + "/" + PEFTFolder.configFileName
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "\"v_proj\"", with: "\"o_proj\"").write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect { try inspector.inspect(folder: path, shapes: shapes) } throws: { "\($0)".contains("v_proj") }
    }
}
