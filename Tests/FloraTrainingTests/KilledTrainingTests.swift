// `flora train` killed with SIGKILL at random moments and resumed each time ends with the same
// adapter, bit for bit, as a run never interrupted: checkpoints hold everything a run needs
// (weights, AdamW moments, step, data order) and a kill never leaves one that resume accepts
// half-written. Runs the built `flora` executable on the tiny Llama 3 fixture.

import FloraFormats
import FloraTensor
import FloraTestSupport
import FloraTraining
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct KilledTrainingTests {
    static let model = TestFiles.repositoryRoot + "/Tests/Fixtures/llama-family/tiny-llama3"
    static let steps = 24

    /// A small JSONL dataset of a few repeated sentences.
    static func dataFile() throws -> String {
        let path = try TestFiles.scratchDirectory() + "/data.jsonl"
        let lines = (0..<24).map { #"{"text": "sample \#($0): the sea is calm and the waves are \#($0 % 5) feet high."}"# }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func trainProcess(_ flora: String, data: String, out: String, resume: Bool) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: flora)
        process.arguments = ["train", "--model", model, "--data", "sea=\(data)", "--out", out, "--type", "lora", "--rank", "2",
                             "--targets", "q_proj,v_proj", "--steps", "\(steps)", "--batch-size", "2", "--seq-len", "32",
                             "--eval-every", "0", "--save-every", "1", "--seed", "5"] + (resume ? ["--resume", out] : [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func finalFiles(_ out: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for file in ["sea/adapter_model.safetensors", "sea/adapter_config.json", TrainerState.optimizerFileName] {
            files[file] = try Data(contentsOf: URL(fileURLWithPath: out + "/" + file))
        }
        return files
    }

    @Test("flora train killed with SIGKILL at random moments resumes to the same final adapter bit for bit")
    func killedRunsResumeExactly() throws {
        let flora = try #require(TestFiles.builtExecutable("flora"), "flora is not built (swift build --build-tests)")
        let data = try Self.dataFile()

        let straight = try TestFiles.scratchDirectory()
        let start = ContinuousClock.now
        let reference = try Self.trainProcess(flora, data: data, out: straight, resume: false)
        reference.waitUntilExit()
        #expect(reference.terminationStatus == 0)
        let elapsed = (ContinuousClock.now - start).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        let expected = try Self.finalFiles(straight)

        let interrupted = try TestFiles.scratchDirectory()
        var generator = SeededGenerator(seed: 2026)
        var kills = 0
        for _ in 0..<5 {
            let resume = (try? Checkpoint.locate(interrupted)) != nil
            let process = try Self.trainProcess(flora, data: data, out: interrupted, resume: resume)
            // Anywhere in the run's life: loading, a step, or the middle of a checkpoint's files.
            let fraction = Double(generator.next() % 1000) / 1000
            usleep(UInt32(max(0.01, fraction * 0.9 * seconds) * 1e6))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
        }
        // A resumed run starts late in the run and may finish before its kill moment.
        #expect(kills >= 1, "no run was still running when killed")
        let resume = (try? Checkpoint.locate(interrupted)) != nil
        let last = try Self.trainProcess(flora, data: data, out: interrupted, resume: resume)
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)
        let finished = try Self.finalFiles(interrupted)
        for (file, bytes) in expected {
            #expect(finished[file] == bytes, "\(file) differs after \(kills) kills")
        }
    }
}
