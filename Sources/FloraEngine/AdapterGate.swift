// What the scheduler needs to know about adapters, and nothing more: whether a waiting
// sequence's adapter can run now, and which adapters running sequences hold. The adapter
// cache answers in the engine; scheduler tests answer with a fake.

public enum AdapterReadiness: Sendable, Equatable {
    /// Resident: a sequence using it may start this step.
    case ready
    /// Not resident yet (loading, or waiting for room); the sequence waits, later ones may pass it.
    case pending
    /// It will never load (unknown, or its load failed); sequences waiting for it fail.
    case failed(String)
}

/// Called by the scheduler on the engine's step loop, synchronously.
public protocol AdapterGate: AnyObject {
    /// Asked for a waiting sequence's adapter when the sequence could be admitted; may start a load.
    func readiness(ofAdapter name: String) -> AdapterReadiness
    /// A sequence using `name` entered the running set: the adapter must stay resident.
    func pin(_ name: String)
    /// A sequence using `name` left the running set (finished, aborted or preempted).
    func unpin(_ name: String)
}
