// Persistent worker threads for the kernels' parallel regions. Measured on this 2-vCPU KVM
// machine: DispatchQueue.concurrentPerform(iterations: 2) usually ran both 10–100 µs parts on
// the calling thread (its idle worker needs tens of µs to wake), while a worker that spins
// between jobs joins within ~0.2 µs. A decode step runs ~210 products back to back, so workers
// spin for a short while after each job and then park.
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `coreCount − 1` threads that, with the calling thread, run the parts of one parallel region.
/// Parts are claimed from a bit mask: the caller takes part 0 first and worker w part w + 1, so
/// that each core keeps touching the same share of a weight (its own L2) from call to call; a
/// part whose preferred thread is late is taken by whoever is free. One region runs at a time:
/// a call that finds the pool busy (another thread, or a nested region) runs its parts itself.
@available(macOS 15.0, *)
final class WorkerPool: Sendable {
    static let shared = WorkerPool(workers: ParallelRegion.coreCount - 1)

    /// How long an idle worker spins before it parks: longer than the gaps between the products
    /// of one forward pass, short enough that an idle server burns almost nothing.
    static let spinNanoseconds: UInt64 = 300_000

    private struct Job: Sendable {
        let parts: Int
        let body: @Sendable (Int) -> Void
    }

    /// A worker's parking place: `sleeping` is set by the worker before it waits, and taken
    /// (exchanged to false) by the submitter that then signals.
    private final class Sleeper: Sendable {
        let sleeping = Atomic<Bool>(false)
        let semaphore = DispatchSemaphore(value: 0)
    }

    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let job = Mutex<Job?>(nil)
    private let claimed = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    /// Workers that may hold a reference to the current job's closure.
    private let active = Atomic<Int>(0)
    private let sleepers: [Sleeper]

    private init(workers: Int) {
        sleepers = (0..<max(0, workers)).map { _ in Sleeper() }
        for (index, sleeper) in sleepers.enumerated() {
            startThread { [unowned self] in self.work(preferredPart: index + 1, sleeper: sleeper) }
        }
    }

    /// Runs `body(part)` for every `part < parts` and returns when all are done.
    func run(parts: Int, _ body: @Sendable (Int) -> Void) {
        guard parts <= 64, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // Counters first, then the job: a worker that arrives late from the last region (it
            // counted itself active after that caller stopped waiting for it) may read this job
            // at once, and must find its parts unclaimed and its count at zero. Published the
            // other way round, such a worker ran a part twice or had its count wiped, and the
            // caller waited forever.
            claimed.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            job.withLock { $0 = Job(parts: parts, body: body) }
            generation.add(1, ordering: .sequentiallyConsistent)
            for sleeper in sleepers where sleeper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                sleeper.semaphore.signal()
            }
            var done = 0
            while let part = claim(preferred: 0, parts: parts) {
                body(part)
                done += 1
            }
            finished.add(done, ordering: .releasing)
            while finished.load(ordering: .acquiring) < parts {}
            job.withLock { $0 = nil }
            while active.load(ordering: .sequentiallyConsistent) > 0 {}
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims the preferred part if free, else the lowest free one.
    private func claim(preferred: Int, parts: Int) -> Int? {
        let all: UInt64 = parts == 64 ? ~0 : (1 << UInt64(parts)) - 1
        var current = claimed.load(ordering: .relaxed)
        while true {
            let free = all & ~current
            if free == 0 { return nil }
            let part = preferred < parts && free & (1 << UInt64(preferred)) != 0 ? preferred : free.trailingZeroBitCount
            let (exchanged, original) = claimed.compareExchange(
                expected: current, desired: current | (1 << UInt64(part)), ordering: .acquiringAndReleasing)
            if exchanged { return part }
            current = original
        }
    }

    private func work(preferredPart: Int, sleeper: Sleeper) {
        var seen = generation.load(ordering: .acquiring)
        while true {
            var spins = 0
            var idleSince = monotonicNanoseconds()
            while generation.load(ordering: .acquiring) == seen {
                spins &+= 1
                guard spins & 255 == 0, monotonicNanoseconds() - idleSince > Self.spinNanoseconds else { continue }
                sleeper.sleeping.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == seen
                    || !sleeper.sleeping.exchange(false, ordering: .sequentiallyConsistent)
                {
                    sleeper.semaphore.wait()  // a submitter took the flag and signals
                }
                idleSince = monotonicNanoseconds()
            }
            seen = generation.load(ordering: .acquiring)
            active.add(1, ordering: .sequentiallyConsistent)
            runParts(preferred: preferredPart)
            active.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// The worker's share of the current job; the closure is released before `active` drops.
    private func runParts(preferred: Int) {
        guard let current = job.withLock({ $0 }) else { return }
        var done = 0
        while let part = claim(preferred: preferred, parts: current.parts) {
            current.body(part)
            done += 1
        }
        if done > 0 { finished.add(done, ordering: .releasing) }
    }
}

/// The body of a detached thread, passed through pthread_create's context pointer.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a detached thread that runs `body` (which never returns for a pool worker).
private func startThread(_ body: @escaping @Sendable () -> Void) {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t?
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run()
        return nil
    }, context)
    #else
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, context)
    #endif
    precondition(status == 0, "could not start a kernel worker thread (pthread_create returned \(status))")
    #if canImport(Darwin)
    if let thread { pthread_detach(thread) }
    #else
    pthread_detach(thread)
    #endif
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
