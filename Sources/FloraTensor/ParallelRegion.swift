// Splitting one kernel call over the machine's cores (DESIGN.md section 9: a parallel region
// costs about 1.2 µs, so only calls that run for tens of microseconds are split).
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many threads a kernel call may use.
public enum Parallelism: Sendable, Equatable {
    /// Split when the work is large enough to repay the region's cost, over all cores.
    case automatic
    /// Run on the calling thread only.
    case serial
    /// Split over exactly this many parts (at most the work's natural parts), whatever the size.
    case parts(Int)
}

enum ParallelRegion {
    /// Online cores, read once.
    static let coreCount: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `body(part)` for `part < parts`, the calling thread taking one part. Parts must write
    /// disjoint memory.
    @inline(__always)
    static func run(parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 {
            body(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: parts, execute: body)
        }
    }

    /// The part count for work of `flops` floating-point operations with `maximumParts` natural
    /// parts (panels, rows). `automaticThreshold` is where splitting starts to pay on this machine.
    static func parts(for parallelism: Parallelism, flops: Int, maximumParts: Int, automaticThreshold: Int) -> Int {
        switch parallelism {
        case .serial: return 1
        case .parts(let count): return max(1, min(count, maximumParts))
        case .automatic: return flops >= automaticThreshold ? max(1, min(coreCount, maximumParts)) : 1
        }
    }

    /// `[part·total/parts, (part+1)·total/parts)`: contiguous, near-equal shares.
    @inline(__always)
    static func share(_ part: Int, of parts: Int, total: Int) -> Range<Int> {
        (part * total / parts)..<((part + 1) * total / parts)
    }
}

extension Parallelism {
    /// The cores that `.automatic` splits over.
    public static var coreCount: Int { ParallelRegion.coreCount }
}
