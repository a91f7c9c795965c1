// The command line's one progress bar on standard error, for anything that runs longer than a
// few seconds (STYLE.md habit 13): benchmarks and training. Redrawn in place on a terminal; in
// a log file or CI, one line whenever the stage changes and otherwise every `logInterval`.

import FloraBench
import Foundation

final class ProgressBar {
    private let title: String
    private let width: Int
    private let logInterval: Double
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var drawn = false
    private var lastStage: String?
    private var lastDraw: UInt64 = 0
    private var lastLine: UInt64 = 0

    /// `logInterval`: seconds between two lines when standard error is not a terminal.
    init(title: String, width: Int = 28, logInterval: Double = 10) {
        self.title = title
        self.width = width
        self.logInterval = logInterval
    }

    /// Shows `completed` of `total`, what runs now (`stage`, which is always shown when it
    /// changes) and figures that change every update (`detail`: a loss, a speed).
    func update(completed: Int, total: Int, stage: String = "", detail: String = "") {
        let now = DispatchTime.now().uptimeNanoseconds
        let fraction = total > 0 ? min(1, Double(completed) / Double(total)) : 1
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = [title, "[\(bar)]", "\(completed)/\(total)", Self.clock(Double(now - start) / 1e9), stage, detail]
            .filter { !$0.isEmpty }.joined(separator: " ")
        let stageChanged = stage != lastStage
        let finished = completed >= total
        if isTerminal {
            // At most 10 redraws a second, but always when the stage changes or the work ends.
            guard stageChanged || finished || now - lastDraw > 100_000_000 else { return }
            write("\r\u{1B}[K" + line)
            drawn = true
        } else if stageChanged || finished || Double(now - lastLine) / 1e9 >= logInterval {
            write(line + "\n")
            lastLine = now
        }
        lastStage = stage
        lastDraw = now
    }

    /// Erases the bar, so that other output starts on a fresh line; the next update draws it again.
    func clear() {
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }

    /// Ends the bar's line.
    func finish() {
        if drawn { write("\n") }
        drawn = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `m:ss`, or `h:mm:ss` from an hour on.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded(.down))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

extension ProgressBar {
    /// A benchmark's progress: the run it is on is the stage.
    func update(_ progress: BenchProgress) {
        update(completed: progress.completed, total: progress.total, stage: progress.detail)
    }
}
