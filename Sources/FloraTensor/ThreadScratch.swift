// Per-thread scratch memory for kernels whose public signature has no room for a workspace.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A scratch buffer owned by the current thread, grown on demand and kept for the thread's life,
/// so that a kernel called every step allocates only on its first calls. The memory is valid
/// until the same thread asks again; a kernel asks once per call and hands the pointer only to
/// the parallel region it waits for.
enum ThreadScratch {
    private static let key = makeKey()
    /// A second buffer, for the dequantized weight tiles of quantized products: their callers
    /// may already hold the first one (the scaled rows of `multiplyExpanded`).
    private static let weightKey = makeKey()

    private static func makeKey() -> pthread_key_t {
        var key = pthread_key_t()
        #if canImport(Darwin)
        pthread_key_create(&key) { Unmanaged<ScratchBuffer<Float>>.fromOpaque($0).release() }
        #else
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<ScratchBuffer<Float>>.fromOpaque(raw).release() }
        }
        #endif
        return key
    }

    /// At least `count` floats of this thread's scratch (contents unspecified).
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> { floats(count, key: key) }

    /// At least `count` floats of this thread's weight scratch, apart from `floats(_:)`.
    static func weightFloats(_ count: Int) -> UnsafeMutablePointer<Float> { floats(count, key: weightKey) }

    private static func floats(_ count: Int, key: pthread_key_t) -> UnsafeMutablePointer<Float> {
        if let raw = pthread_getspecific(key) {
            return Unmanaged<ScratchBuffer<Float>>.fromOpaque(raw).takeUnretainedValue().reserve(count)
        }
        let buffer = ScratchBuffer<Float>(capacity: max(count, 4096))
        pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        return buffer.pointer
    }
}
