import Foundation

/// One tensor of a torch checkpoint: a strided view (counted in elements) into a named storage.
public struct PyTorchTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var strides: [Int]
    /// The storage's key in the archive (`<prefix>/data/<key>`); tied weights share one.
    public var storageKey: String
    public var storageOffset: Int
    public var elementCount: Int { shape.reduce(1, *) }
    /// Row-major dense, so its bytes are one run of the storage.
    public var isContiguous: Bool {
        var expected = 1
        for (n, s) in zip(shape, strides).reversed() where n != 1 {
            if s != expected { return false }
            expected *= n
        }
        return true
    }
}

/// A `pytorch_model.bin` (torch.save zip format, torch ≥ 1.6) read without running any of its pickle: the state dict
/// is rebuilt by `RestrictedUnpickler` and tensors are read from the archive's stored storage entries.
public final class PyTorchCheckpoint: @unchecked Sendable {
    public let url: URL
    /// State-dict keys in the pickle's order; nested dicts are flattened with "." (e.g. {"model": {"w": …}} → "model.w").
    public let names: [String]
    /// The archive folder holding data.pkl (torch names it after the file, HF files often use "archive").
    public let prefix: String
    private let archive: ZipArchive
    private let infos: [String: PyTorchTensorInfo]
    private let storages: [String: ZipArchive.Entry]
    private let lock = NSLock()
    private var verified: Set<String> = []

    /// The first bytes of a pre-1.6 torch.save file: PROTO 2, LONG1 of 10 bytes, then the magic number 0x1950a86a20f9469cfc6c.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        func fail(_ m: String) -> WeightFileError { WeightFileError(file: path, m) }
        if let h = FileHandle(forReadingAtPath: path) {
            let head = [UInt8]((try? h.read(upToCount: Self.legacyMagic.count)) ?? Data())
            try? h.close()
            if head == Self.legacyMagic {
                throw fail("legacy torch.save format (before torch 1.6) is not supported; re-save it with torch>=1.6 (torch.save writes the zip format by default) or convert it to safetensors")
            }
        }
        let archive = try ZipArchive(url: url)
        self.archive = archive
        let pickles = archive.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
        guard pickles.count == 1, let pkl = pickles.first else {
            throw fail(pickles.isEmpty
                ? "zip archive has no <folder>/data.pkl entry; it is not a torch.save checkpoint, convert it with torch or use safetensors weights"
                : "zip archive has \(pickles.count) <folder>/data.pkl entries; a torch.save checkpoint has one, re-save it")
        }
        let prefix = String(pkl.name.dropLast("/data.pkl".count))
        self.prefix = prefix
        if let bo = archive.entry("\(prefix)/byteorder") {
            let b = try archive.verifiedBytes(bo)
            guard Array(b) == Array("little".utf8) else {
                throw fail("byteorder entry says \"\(String(decoding: b, as: UTF8.self))\"; only little-endian checkpoints are read, re-save it on a little-endian machine or convert to safetensors")
            }
        }
        let root = try RestrictedUnpickler.load(try archive.verifiedBytes(pkl), file: path, label: pkl.name)
        guard case .dict(let top) = root else {
            throw fail("\(pkl.name) holds a single object, not a state dict; save model.state_dict() instead of the model, or convert to safetensors")
        }
        var names: [String] = []
        var infos: [String: PyTorchTensorInfo] = [:]
        var storages: [String: ZipArchive.Entry] = [:]
        var declared: [String: PickleStorage] = [:]
        func visit(_ d: PickleDict, _ path: String) throws {
            for (k, v) in zip(d.keys, d.values) {
                let key: String
                switch k {
                case .string(let s): key = s
                case .int(let i): key = String(i)
                default: continue
                }
                let name = path.isEmpty ? key : "\(path).\(key)"
                switch v {
                case .dict(let inner): try visit(inner, name)
                case .tensor(let t):
                    guard infos[name] == nil else { throw fail("tensor name \"\(name)\" occurs twice after flattening nested dicts; read the checkpoint with torch and save a flat state dict") }
                    let s = t.storage
                    if let prior = declared[s.key], prior != s {
                        throw fail("storage \"\(s.key)\" is declared both as \(prior.dtype.rawValue)×\(prior.elementCount) and \(s.dtype.rawValue)×\(s.elementCount); the checkpoint is corrupt, re-save it")
                    }
                    declared[s.key] = s
                    if storages[s.key] == nil {
                        guard let e = archive.entry("\(prefix)/data/\(s.key)") else {
                            throw fail("tensor \"\(name)\" uses storage \"\(s.key)\" but the archive has no \(prefix)/data/\(s.key) entry; the file is truncated or corrupt, download it again")
                        }
                        let (need, o) = s.elementCount.multipliedReportingOverflow(by: s.dtype.size)
                        guard !o, e.uncompressedSize == need else {
                            throw fail("wrong storage size: \(e.name) is \(e.uncompressedSize) bytes but storage \"\(s.key)\" declares \(s.elementCount) \(s.dtype.rawValue) elements (\(o ? "overflow" : String(need)) bytes); the file is truncated or corrupt, download it again")
                        }
                        storages[s.key] = e
                    }
                    let info = PyTorchTensorInfo(name: name, dtype: s.dtype, shape: t.shape, strides: t.strides, storageKey: s.key, storageOffset: t.storageOffset)
                    try Self.checkBounds(info, storageElements: s.elementCount, fail: fail)
                    infos[name] = info
                    names.append(name)
                default: continue
                }
            }
        }
        try visit(top, "")
        self.names = names
        self.infos = infos
        self.storages = storages
    }

    /// The view must stay inside its storage: offset + Σ (size−1)·stride < numel, computed without overflow.
    private static func checkBounds(_ i: PyTorchTensorInfo, storageElements: Int, fail: (String) -> WeightFileError) throws {
        var count = 1, last = i.storageOffset
        for (n, s) in zip(i.shape, i.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            let (span, o2) = max(n - 1, 0).multipliedReportingOverflow(by: s)
            let (l, o3) = last.addingReportingOverflow(span)
            guard !o1, !o2, !o3 else { throw fail("tensor \"\(i.name)\" shape \(i.shape) with strides \(i.strides) overflows; the checkpoint is corrupt, re-save it") }
            count = c
            last = l
        }
        guard count == 0 || last < storageElements else {
            throw fail("tensor \"\(i.name)\" (shape \(i.shape), strides \(i.strides), offset \(i.storageOffset)) reaches element \(last) of storage \"\(i.storageKey)\", which has \(storageElements); the checkpoint is corrupt, re-save it")
        }
    }

    public func info(_ name: String) throws -> PyTorchTensorInfo {
        guard let i = infos[name] else {
            throw WeightFileError(file: url.path, "no tensor named \"\(name)\"; the checkpoint has \(names.count) tensors, check the name against `names`")
        }
        return i
    }

    /// The whole storage behind a tensor, CRC-checked on first use; valid while this checkpoint is alive.
    public func storageBytes(_ key: String) throws -> UnsafeRawBufferPointer {
        guard let e = storages[key] else {
            throw WeightFileError(file: url.path, "no storage \"\(key)\"; storages are named by the tensors in `names`")
        }
        lock.lock()
        defer { lock.unlock() }
        if verified.contains(key) { return try archive.bytes(e) }
        let b = try archive.verifiedBytes(e)
        verified.insert(key)
        return b
    }

    /// A contiguous tensor's bytes without copying, valid while this checkpoint is alive; views with other strides
    /// are refused (read them with `bytes(_:)`, which gathers).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let i = try info(name)
        guard i.isContiguous else {
            throw WeightFileError(file: url.path, "tensor \"\(name)\" is a non-contiguous view (strides \(i.strides)); read it with bytes(_:) or floats(_:), which gather it")
        }
        let s = try storageBytes(i.storageKey)
        let n = i.elementCount * i.dtype.size
        guard n > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: s[(i.storageOffset * i.dtype.size)..<(i.storageOffset * i.dtype.size + n)])
    }

    /// The tensor's elements in row-major order, little-endian, gathered from its storage by its strides.
    public func bytes(_ name: String) throws -> [UInt8] {
        let i = try info(name)
        if i.isContiguous { return Array(try rawBytes(name)) }
        let s = try storageBytes(i.storageKey)
        let w = i.dtype.size, n = i.elementCount
        var out = [UInt8](repeating: 0, count: n * w)
        guard n > 0 else { return out }
        let rank = i.shape.count
        var index = [Int](repeating: 0, count: rank)
        var src = i.storageOffset
        out.withUnsafeMutableBytes { dst in
            for k in 0..<n {
                for b in 0..<w { dst[k * w + b] = s[src * w + b] }
                // Advance the multi-index like an odometer, moving the storage position by the strides.
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    src += i.strides[d]
                    if index[d] < i.shape[d] { break }
                    src -= i.strides[d] * index[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return out
    }

    /// The tensor as 32-bit floats (F32 copied, F16/BF16 widened exactly, F64 and integers converted).
    public func floats(_ name: String) throws -> [Float] {
        let i = try info(name)
        let out = i.isContiguous ? Conversions.toFloats(try rawBytes(name), dtype: i.dtype)
            : try bytes(name).withUnsafeBytes { Conversions.toFloats($0, dtype: i.dtype) }
        guard let out else {
            throw WeightFileError(file: url.path, "tensor \"\(name)\" has dtype \(i.dtype.rawValue), which has no float conversion here; read it with bytes(_:)")
        }
        return out
    }
}
