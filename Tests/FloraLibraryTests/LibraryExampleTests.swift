// docs/library.md's program: the document shows Examples/flora-library-example/main.swift
// unchanged, and that program, built with the tests, serves a tiny random model through a
// random adapter and without one.

import FloraAdapters
import FloraModel
import FloraTestSupport
import Foundation
import Testing

@Suite struct LibraryExampleTests {
    static let program = TestFiles.repositoryRoot + "/Examples/flora-library-example/main.swift"
    static let document = TestFiles.repositoryRoot + "/docs/library.md"

    @Test func theDocumentShowsTheExampleProgramUnchanged() throws {
        let program = try String(contentsOfFile: Self.program, encoding: .utf8)
        let blocks = try String(contentsOfFile: Self.document, encoding: .utf8)
            .components(separatedBy: "```swift\n").dropFirst()
            .map { $0.components(separatedBy: "```\n")[0] }
        #expect(blocks.contains(program), "docs/library.md has no ```swift block equal to \(Self.program)")
    }

    @Test func theExampleStreamsOneRequestWithTheAdapterAndOneWithout() throws {
        let directory = try TestFiles.scratchDirectory()
        try TinyModels.writeGGUF(to: directory + "/tiny.gguf", seed: 5)
        let adapter = try AdapterWeights.initialized(
            name: "mine", kind: .flora, rank: 2, targets: [.qProj, .vProj, .downProj], shapes: TinyModels.config.adapterShapes(),
            seed: 9, random: true)
        try AdapterWriter.write(adapter, to: directory + "/mine")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.exampleBinary())
        process.arguments = [directory + "/tiny.gguf", directory + "/mine", "Hello"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the example failed: \(complaint)")
        #expect(printed.hasPrefix("[mine] "), "unexpected output: \(printed)")
        #expect(printed.contains("\n[base] ") && printed.hasSuffix("\n"), "unexpected output: \(printed)")
    }

    static func exampleBinary() throws -> String {
        guard let found = TestFiles.builtExecutable("flora-library-example") else { throw ExampleNotBuilt() }
        return found
    }

    struct ExampleNotBuilt: Error, CustomStringConvertible {
        var description: String { "flora-library-example is not built (run swift build --build-tests)" }
    }
}
