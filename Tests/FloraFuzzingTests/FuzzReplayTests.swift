// Every committed seed (fuzz/corpus/<target>) and every input a fuzzer once crashed on
// (fuzz/crashes/<target>, each fixed since) runs through the same `FuzzTarget.run` the libFuzzer
// executables call: a crash or a broken invariant fails the suite, so a fixed bug stays fixed.

import FloraFuzzing
import FloraRequestFuzzing
import FloraTestSupport
import Foundation
import Testing

@Suite("Fuzz corpus replay")
struct FuzzReplayTests {
    /// Every fuzz target by its folder name.
    static let names = FuzzTarget.allCases.map(\.rawValue) + [OpenAIRequestFuzzing.name]

    /// Runs `data` through the function the target's executable calls.
    static func run(_ target: String, _ data: [UInt8]) {
        if let file = FuzzTarget(rawValue: target) { file.run(data) } else { OpenAIRequestFuzzing.run(data) }
    }

    static func inputs(_ target: String, in kind: String) -> [String] {
        let folder = TestFiles.repositoryRoot + "/fuzz/\(kind)/\(target)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder + "/" + $0 }
    }

    @Test("every fuzz target has committed seeds", arguments: names)
    func seedsExist(target: String) {
        #expect(Self.inputs(target, in: "corpus").count >= 2, "fuzz/corpus/\(target) needs seeds")
    }

    @Test("seeds and past crash inputs run without crashing, each within a second", arguments: names)
    func replay(target: String) throws {
        for path in Self.inputs(target, in: "corpus") + Self.inputs(target, in: "crashes") {
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let start = ContinuousClock.now
            Self.run(target, data)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(1), "\(path) took \(elapsed)")
        }
    }
}
