import Foundation
import Synchronization

/// How a tensor's elements are stored. Compute is float32; frozen weights may stay 16-bit, or packed (quantized),
/// and are widened on use.
public enum ElementType: String, Sendable, CaseIterable {
    case float32, bfloat16, float16
    /// A frozen weight in a block format of its own (bitsandbytes 4-bit/8-bit), decoded by its `PackedWeight`.
    case packed

    /// Bytes per element in `storage`; a packed tensor keeps its bytes in its `PackedWeight` instead.
    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .bfloat16, .float16: return 2
        case .packed: return 0
        }
    }
}

/// The elements of a frozen matrix kept in a compressed form, decoded to float32 a block at a time on use (so a
/// quantized weight never has a full float32 copy). Implemented by the Quantization module.
public protocol PackedWeight: AnyObject, Sendable {
    /// Bytes held: packed values and their statistics.
    var byteCount: Int { get }
    /// Writes elements `[start, start + count)` (row-major, flat) as float32 into `dst`.
    func decode(into dst: UnsafeMutablePointer<Float>, from start: Int, count: Int)
}

/// Counts the bytes held by live tensor storages, so memory plans can be checked against what really happened.
public final class MemoryTracker: Sendable {
    public static let shared = MemoryTracker()
    private let state = Mutex<(live: Int, peak: Int)>((0, 0))

    public var liveBytes: Int { state.withLock { $0.live } }
    public var peakBytes: Int { state.withLock { $0.peak } }

    /// Starts a new peak measurement from the bytes live now.
    public func resetPeak() { state.withLock { $0.peak = $0.live } }

    func allocated(_ n: Int) {
        state.withLock { $0.live += n; $0.peak = max($0.peak, $0.live) }
    }

    func released(_ n: Int) { state.withLock { $0.live -= n } }
}

/// One 64-byte-aligned allocation (cache lines and AVX loads), freed when the last tensor viewing it goes away.
/// `pageBacked` storage comes straight from the kernel (mmap): zero pages that cost no memory until written, for
/// weights that are filled (or quantized away) one at a time while a model loads.
public final class TensorStorage: @unchecked Sendable {
    public static let alignment = 64
    public let raw: UnsafeMutableRawPointer
    public let byteCount: Int
    private let mappedBytes: Int

    public init(byteCount: Int, zeroed: Bool = true, pageBacked: Bool = false) {
        let size = max(byteCount, 1)
        if pageBacked, size >= 1 << 16,
           let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
            raw = p
            mappedBytes = size
        } else {
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, TensorStorage.alignment, size) == 0, let p else {
                fatalError("out of memory allocating \(byteCount) bytes for a tensor; lower the batch size or max_length")
            }
            if zeroed { memset(p, 0, size) }
            raw = p
            mappedBytes = 0
        }
        self.byteCount = byteCount
        MemoryTracker.shared.allocated(byteCount)
    }

    deinit {
        if mappedBytes > 0 { munmap(raw, mappedBytes) } else { free(raw) }
        MemoryTracker.shared.released(byteCount)
    }
}

/// A dense row-major tensor. Copies of the struct share storage (like PyTorch tensors): ops write through
/// `floats`, and views (`reshaped`, `rows`) cost no copy.
public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    public let elementType: ElementType
    public let storage: TensorStorage
    /// Start of this view inside `storage`, in elements.
    public let offset: Int
    /// The decoder of a `.packed` tensor (nil for every other element type).
    public let packed: PackedWeight?

    /// A zero-filled float32 (or 16-bit) tensor.
    public init(zeros shape: [Int], type: ElementType = .float32, pageBacked: Bool = false) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.elementType = type
        self.storage = TensorStorage(byteCount: n * type.byteSize, pageBacked: pageBacked)
        self.offset = 0
        self.packed = nil
    }

    /// A frozen matrix of `shape` whose elements `weight` decodes on use.
    public init(shape: [Int], packed weight: PackedWeight) {
        self.shape = shape
        self.elementType = .packed
        self.storage = TensorStorage(byteCount: 0)
        self.offset = 0
        self.packed = weight
    }

    /// A float32 tensor holding a copy of `values`.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "Tensor(shape: \(shape)) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { floats.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A 16-bit tensor from raw bit patterns (bf16 or f16), kept 16-bit.
    public init(shape: [Int], bits: [UInt16], type: ElementType) {
        precondition(type != .float32 && shape.reduce(1, *) == bits.count)
        self.init(zeros: shape, type: type)
        bits.withUnsafeBufferPointer { halfBits.update(from: $0.baseAddress!, count: bits.count) }
    }

    private init(shape: [Int], elementType: ElementType, storage: TensorStorage, offset: Int, packed: PackedWeight?) {
        self.shape = shape
        self.elementType = elementType
        self.storage = storage
        self.offset = offset
        self.packed = packed
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { packed?.byteCount ?? count * elementType.byteSize }

    /// The float32 elements; only for float32 tensors.
    public var floats: UnsafeMutablePointer<Float> {
        precondition(elementType == .float32, "this tensor is \(elementType); widen it first")
        return storage.raw.assumingMemoryBound(to: Float.self) + offset
    }

    /// The 16-bit patterns of a bf16/f16 tensor.
    public var halfBits: UnsafeMutablePointer<UInt16> {
        precondition(elementType == .bfloat16 || elementType == .float16, "this tensor is \(elementType), not 16-bit")
        return storage.raw.assumingMemoryBound(to: UInt16.self) + offset
    }

    /// The same elements under another shape of equal size (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot view \(shape) as \(newShape)")
        return Tensor(shape: newShape, elementType: elementType, storage: storage, offset: offset, packed: packed)
    }

    /// Rows `range` of the leading dimension (no copy).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0])
        let rowSize = shape.dropFirst().reduce(1, *)
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, elementType: elementType, storage: storage, offset: offset + range.lowerBound * rowSize, packed: packed)
    }

    /// Values widened to float32 (a copy).
    public func toArray() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { widen(into: $0.baseAddress!, from: 0, count: count) }
        return out
    }

    /// Writes elements `[start, start + n)` as float32 into `dst`; 16-bit storage is widened here, on use.
    public func widen(into dst: UnsafeMutablePointer<Float>, from start: Int, count n: Int) {
        switch elementType {
        case .float32:
            dst.update(from: floats + start, count: n)
        case .bfloat16:
            let src = halfBits + start
            for i in 0..<n { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) }
        case .float16:
            let src = halfBits + start
            for i in 0..<n { dst[i] = Float(Float16(bitPattern: src[i])) }
        case .packed:
            packed!.decode(into: dst, from: offset + start, count: n)
        }
    }

    /// Sets every element to zero.
    public func zero() {
        precondition(elementType != .packed, "a packed weight is frozen; it cannot be zeroed")
        memset(storage.raw + offset * elementType.byteSize, 0, byteCount)
    }

    /// A new float32 tensor with the same values (16-bit widened).
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        widen(into: t.floats, from: 0, count: count)
        return t
    }
}
