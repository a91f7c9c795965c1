// A progress bar on standard error for long benchmarks (STYLE.md habit 13): redrawn in place on
// a terminal; elsewhere (a log file, CI) one line per change of what is running.

import Foundation

public final class ProgressBar {
    private let title: String
    private let width: Int
    private let isTerminal: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDetail = ""
    private var lastDraw: UInt64 = 0

    public init(title: String, width: Int = 28) {
        self.title = title
        self.width = width
        isTerminal = isatty(STDERR_FILENO) != 0
    }

    public func update(_ progress: BenchProgress) {
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = Double(now - start) / 1e9
        let fraction = progress.total > 0 ? min(1, Double(progress.completed) / Double(progress.total)) : 0
        if isTerminal {
            // At most 10 redraws a second, but always when what runs changes.
            guard progress.detail != lastDetail || now - lastDraw > 100_000_000 else { return }
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = "\r\(title) [\(bar)] \(progress.completed)/\(progress.total) \(Self.clock(elapsed))  \(progress.detail)"
            write(line.padding(toLength: max(line.count, 110), withPad: " ", startingAt: 0))
        } else if progress.detail != lastDetail {
            write("\(title) \(progress.completed)/\(progress.total) \(Self.clock(elapsed)) \(progress.detail)\n")
        }
        lastDetail = progress.detail
        lastDraw = now
    }

    /// Ends the bar's line.
    public func finish() {
        if isTerminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds)
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
