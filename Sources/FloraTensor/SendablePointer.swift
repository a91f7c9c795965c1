// The one box that carries raw pointers into @Sendable closures of parallel kernels.

/// Swift 6 requires `@Sendable` closures for work split across threads, and raw pointers are
/// not `Sendable`. Kernels wrap the pointers a parallel region reads or writes in this box;
/// each region must write disjoint elements, which the kernel that builds it guarantees.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Pointee>
    public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
    public init(_ pointer: UnsafePointer<Pointee>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}
