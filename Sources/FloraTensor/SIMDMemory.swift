// Moving 16 floats between memory and a SIMD16 register: the one set of helpers every kernel
// uses. An aligned load lets the compiler emit the aligned vector instruction and is only for
// memory Flora aligned itself (packed panels, FloatBuffer rows at multiples of 16 floats);
// everything else (rows of any width, caller pointers) loads unaligned.

/// The 16 floats at `pointer`, which must be 64-byte aligned.
@inlinable @inline(__always)
public func loadAligned16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(pointer).load(as: SIMD16<Float>.self)
}

/// The 16 floats at `pointer`, at any alignment.
@inlinable @inline(__always)
public func loadUnaligned16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
}

/// The first `lanes` (at most 16) floats at `pointer`, zeros after: the tail of a row.
@inlinable @inline(__always)
public func loadUnaligned16(_ pointer: UnsafePointer<Float>, lanes: Int) -> SIMD16<Float> {
    if lanes == 16 { return loadUnaligned16(pointer) }
    var value = SIMD16<Float>()
    for lane in 0..<lanes { value[lane] = pointer[lane] }
    return value
}

/// Writes 16 floats at `pointer`, at any alignment.
@inlinable @inline(__always)
public func store16(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
}

/// Writes the first `lanes` (at most 16) floats of `value` at `pointer`.
@inlinable @inline(__always)
public func store16(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>, lanes: Int) {
    if lanes == 16 { return store16(value, pointer) }
    for lane in 0..<lanes { pointer[lane] = value[lane] }
}
