// Splitting one kernel call over the machine's cores (DESIGN.md section 9), on the persistent
// workers of WorkerPool.swift.
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

/// Parallel regions for kernels and other layers' batched work (attention over sequences, large
/// element-wise passes): one persistent worker per extra core, shared by the whole process.
public enum ParallelRegion {
    /// Online cores, read once.
    public static let coreCount: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `body(part)` for every `part < parts` and returns when all are done; the calling
    /// thread takes part 0 and, with `parts == coreCount`, part p runs on the same worker from
    /// call to call (its data stays in that core's cache). Parts must write disjoint memory.
    /// A region costs well under a microsecond while the workers are hot (within ~0.3 ms of
    /// their last job); a region started from inside another runs its parts serially.
    @inline(__always)
    public static func run(parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 {
            body(0)
        } else if #available(macOS 15.0, *) {
            WorkerPool.shared.run(parts: parts, body)
        } else {
            DispatchQueue.concurrentPerform(iterations: parts, execute: body)
        }
    }

    /// Work below this many floating-point operations runs on the calling thread. With the
    /// workers hot a region costs well under a microsecond, so splitting pays from a few
    /// microseconds of work (measured with `flora bench kernels` and serial/parallel pairs).
    /// The products, paged attention and the training pass's loops all split from here.
    public static let minimumParallelFlops = 200_000

    /// The part count for work of `flops` floating-point operations with `maximumParts` natural
    /// parts (panels, rows). `automaticThreshold` is where splitting starts to pay for this work.
    public static func parts(
        for parallelism: Parallelism, flops: Int, maximumParts: Int, automaticThreshold: Int = minimumParallelFlops
    ) -> Int {
        switch parallelism {
        case .serial: return 1
        case .parts(let count): return max(1, min(count, maximumParts))
        case .automatic: return flops >= automaticThreshold ? max(1, min(coreCount, maximumParts)) : 1
        }
    }

    /// Runs `body(item, worker)` for every `item < items`: over all `coreCount` threads of the
    /// pool when `flops` repays a region, else on the calling thread as worker 0. Worker w takes
    /// items `w, w + workers, ...`, interleaved because later items of causal attention cost
    /// more; it may use scratch slice w, so callers keep `coreCount` slices.
    public static func forEachItem(items: Int, flops: Int, _ body: @Sendable (_ item: Int, _ worker: Int) -> Void) {
        let workers = parts(for: .automatic, flops: flops, maximumParts: items)
        if workers <= 1 {
            for item in 0..<items { body(item, 0) }
            return
        }
        run(parts: workers) { worker in
            var item = worker
            while item < items {
                body(item, worker)
                item += workers
            }
        }
    }

    /// `[part·total/parts, (part+1)·total/parts)`: contiguous, near-equal shares.
    @inline(__always)
    static func share(_ part: Int, of parts: Int, total: Int) -> Range<Int> {
        (part * total / parts)..<((part + 1) * total / parts)
    }
}
