// A model runner the test steps by hand: the engine core blocks before each forward until the
// test lets one step (or all of them) through, so a test can hold requests running or waiting
// without racing the core.

import Dispatch
import FloraAdapters
import FloraEngine
import FloraModel
import Synchronization

public final class Pace: Sendable {
    private let isOpen = Mutex(false)
    private let steps = DispatchSemaphore(value: 0)

    public init() {}

    /// Lets one more step run.
    public func step() { steps.signal() }

    /// Lets every step run from now on.
    public func open() {
        isOpen.withLock { $0 = true }
        steps.signal()
    }

    /// Called by the runner before each forward.
    func wait() {
        if isOpen.withLock({ $0 }) { return }
        steps.wait()
        if isOpen.withLock({ $0 }) { steps.signal() }   // pass the wake-up on to a later wait
    }
}

public final class PacedRunner: ModelRunner {
    let inner: any ModelRunner
    let pace: Pace

    public init(_ inner: any ModelRunner, pace: Pace) {
        self.inner = inner
        self.pace = pace
    }

    public func execute(_ batch: Batch, adapters: AdapterBank, row: (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        pace.wait()
        try inner.execute(batch, adapters: adapters, row: row)
    }
}

extension EngineModel {
    /// This model with every step waiting for `pace`.
    public func paced(by pace: Pace) -> EngineModel {
        var model = self
        let make = makeRunner
        model.makeRunner = { blockCount, blockSize in PacedRunner(make(blockCount, blockSize), pace: pace) }
        return model
    }
}
