// Small SIMD16 vector kernels of the LoRA gather-bmm path. Each states its plain-loop semantics;
// the naive references are the loops themselves, exercised through AdapterReference in tests.

@inline(__always)
private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
private func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// `Σ_{p<count} a[p] · b[p]`.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    var p = 0
    while p + 32 <= count {
        acc0.addProduct(load16(a + p), load16(b + p))
        acc1.addProduct(load16(a + p + 16), load16(b + p + 16))
        p += 32
    }
    if p + 16 <= count {
        acc0.addProduct(load16(a + p), load16(b + p))
        p += 16
    }
    var sum = (acc0 + acc1).sum()
    while p < count {
        sum += a[p] * b[p]
        p += 1
    }
    return sum
}

/// `y[p] += alpha · x[p]` for `p < count`.
@inline(__always)
func addScaled(_ alpha: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    let a = SIMD16<Float>(repeating: alpha)
    var p = 0
    while p + 16 <= count {
        store16(load16(UnsafePointer(y + p)).addingProduct(a, load16(x + p)), y + p)
        p += 16
    }
    while p < count {
        y[p] += alpha * x[p]
        p += 1
    }
}

/// `y[p] = a[p] · b[p]` for `p < count`.
@inline(__always)
func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var p = 0
    while p + 16 <= count {
        store16(load16(a + p) * load16(b + p), y + p)
        p += 16
    }
    while p < count {
        y[p] = a[p] * b[p]
        p += 1
    }
}

/// `y[p] += x[p]` for `p < count`.
@inline(__always)
func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var p = 0
    while p + 16 <= count {
        store16(load16(UnsafePointer(y + p)) + load16(x + p), y + p)
        p += 16
    }
    while p < count {
        y[p] += x[p]
        p += 1
    }
}
