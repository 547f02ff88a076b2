/// A fixed-size, 64-byte-aligned block of memory that kernels read and write through raw pointers.
///
/// Activations, parameters and gradients live in these: the kernels take `pointer`, Swift code indexes with
/// subscripts. Not copied on assignment (a class); the owner decides who writes when.
public final class Buffer<Element: BitwiseCopyable>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public let count: Int

    /// Allocates `count` elements set to `value`.
    public init(count: Int, repeating value: Element) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Element.self, capacity: max(1, count))
        pointer.initialize(repeating: value, count: count)
    }

    /// Allocates `count` elements left unset, for a writer that sets every one before anything reads it.
    init(uninitializedCount count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Element.self, capacity: max(1, count))
    }

    /// Allocates a copy of `array`.
    public convenience init(_ array: [Element], zero: Element) {
        self.init(count: array.count, repeating: zero)
        array.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: array.count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public var bufferPointer: UnsafeMutableBufferPointer<Element> { .init(start: pointer, count: count) }
}

public typealias FloatBuffer = Buffer<Float>

extension Buffer where Element == Float {
    public convenience init(count: Int) { self.init(count: count, repeating: 0) }
    public convenience init(_ array: [Float]) { self.init(array, zero: 0) }
}
