import AirbenchKernels

/// One named tensor of the network's state, with the name and shape of Listing 4's PyTorch `state_dict`.
public struct StateEntry: Sendable, Equatable {
    /// What the optimizer does with an entry.
    public enum Role: Sendable, Equatable {
        /// Trained with the base learning rate (convolution and linear weights).
        case weight
        /// Trained with the learning rate × biasScaler (BatchNorm biases).
        case normBias
        /// The whitening layer's bias: trained for the first whitenBiasEpochs epochs.
        case whitenBias
        /// Never trained: the frozen whitening weight, BatchNorm weights (1), running statistics.
        case frozen
    }

    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let role: Role
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<offset + count }
}

/// The layout of the state: every entry at a fixed offset in one flat buffer. The parameters, their gradients,
/// the momentum buffers and the Lookahead copy all use this one layout, so the optimizer is a single loop.
public struct StateLayout: Sendable, Equatable {
    public private(set) var entries: [StateEntry] = []
    public private(set) var count = 0
    /// Each entry's position in `entries`, by name.
    private var positions: [String: Int] = [:]

    /// Appends an entry at the end.
    mutating func add(_ name: String, _ shape: [Int], _ role: StateEntry.Role) {
        let entry = StateEntry(name: name, shape: shape, offset: count, role: role)
        positions[name] = entries.count
        entries.append(entry)
        count += entry.count
    }

    /// The entry named `name` (the passes hold their entries; names are for files and tests).
    public subscript(name: String) -> StateEntry {
        guard let position = positions[name] else { preconditionFailure("no state entry \(name)") }
        return entries[position]
    }
}

/// A flat fp32 buffer in a `StateLayout`, with views by entry name.
public final class StateBuffer: @unchecked Sendable {
    public let layout: StateLayout
    public let storage: FloatBuffer

    public init(layout: StateLayout, repeating value: Float = 0) {
        self.layout = layout
        storage = FloatBuffer(count: layout.count, repeating: value)
    }

    public func pointer(_ entry: StateEntry) -> UnsafeMutablePointer<Float> { storage.pointer + entry.offset }
    public func pointer(_ name: String) -> UnsafeMutablePointer<Float> { pointer(layout[name]) }
    public func values(_ name: String) -> [Float] { values(layout[name]) }
    public func values(_ entry: StateEntry) -> [Float] { Array(UnsafeBufferPointer(start: pointer(entry), count: entry.count)) }
    public func set(_ name: String, _ values: [Float]) { set(layout[name], values) }
    public func set(_ entry: StateEntry, _ values: [Float]) {
        precondition(values.count == entry.count, "\(entry.name): \(values.count) values for \(entry.count)")
        values.withUnsafeBufferPointer { pointer(entry).update(from: $0.baseAddress!, count: entry.count) }
    }

    /// Copies all values from `other` (same layout).
    public func copy(from other: StateBuffer) {
        precondition(other.layout == layout)
        storage.pointer.update(from: other.storage.pointer, count: layout.count)
    }

    public func clone() -> StateBuffer {
        let copy = StateBuffer(layout: layout)
        copy.copy(from: self)
        return copy
    }
}
