// Bounded waiting for tests.

/// Waits until `condition` holds, for at most `limit`: false when it never did. Tests wait with
/// this, never with an unbounded loop, so a broken expectation fails instead of hanging the run.
public func eventually(within limit: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return true
}
