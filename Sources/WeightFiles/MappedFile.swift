#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A whole file mapped read-only (weights are read in place, never copied in); unmapped with the last owner.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    public var size: Int { bytes.count }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw WeightFileError(file: path, "cannot open (\(String(cString: strerror(errno)))); check the path exists and is readable")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightFileError(file: path, "cannot stat; check the file is readable") }
        let size = Int(st.st_size)
        guard size > 0 else { bytes = UnsafeRawBufferPointer(start: nil, count: 0); return }
        let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let m, m != MAP_FAILED else { throw WeightFileError(file: path, "cannot mmap; check the file is a regular file") }
        bytes = UnsafeRawBufferPointer(start: m, count: size)
    }

    deinit { if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) } }
}
