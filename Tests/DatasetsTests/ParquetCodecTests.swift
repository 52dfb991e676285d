import XCTest
import Values
import TestSupport
@testable import Datasets

/// GZIP and ZSTD pages (Debian's zlib and libzstd): whole files against pyarrow's rows (in ParquetTests'
/// every-row check), damaged pages, and the raw codec streams cut at every length.
final class ParquetCodecTests: XCTestCase {
    static let compressed = ["gzip", "zstd"].flatMap { codec in
        ["plain_v1", "dictionary_v1", "plain_v2", "dictionary_v2"].map { "\(codec)_\($0)" }
    }
    let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/DatasetsTests/Fixtures/parquet")

    func url(_ name: String) -> URL { fixtures.appendingPathComponent(name) }
    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    /// The every-row check only means something if the files really are compressed with the codec in their
    /// name and spread over several pages, dictionary pages included where the name says so.
    func testFixturesUseTheirCodecOverSeveralPages() throws {
        for name in Self.compressed {
            let file = try ParquetFile(url: url("\(name).parquet"))
            let columns = try XCTUnwrap(file.metadata.rowGroups.first?.columns, name)
            XCTAssertEqual(columns.map(\.path.first), ["text", "n", "x", "f", "label", "messages", "messages"], name)
            for column in columns {
                XCTAssertEqual(column.codec, name.hasPrefix("gzip") ? .gzip : .zstd, name)
                XCTAssertEqual(column.dictionaryPageOffset != nil, name.contains("dictionary"), "\(name) \(column.path)")
            }
            let text = try XCTUnwrap(columns.first)
            XCTAssertGreaterThan(text.totalCompressedSize, 256 * 2, "\(name): the text column should span several 256-byte pages")
            XCTAssertEqual(try file.rows(), try Self.rows("compressed", fixtures), name)
        }
    }

    static func rows(_ name: String, _ fixtures: URL) throws -> [Value] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("\(name).json"), encoding: .utf8)
        return try XCTUnwrap(JSON.parse(text).arrayValue)
    }

    /// A page whose compressed bytes are damaged (its header intact) is an error naming the file, column and page.
    func testDamagedPagesNameTheColumnAndPage() throws {
        for (name, codec) in [("gzip_damaged", "gzip"), ("zstd_damaged", "zstd")] {
            let path = url("\(name).parquet").path
            XCTAssertThrowsError(try LocalSource().load(path), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("\(path): column text page 0: a \(codec) block "), text)
                XCTAssertTrue(text.hasSuffix("re-download or re-save it (pyarrow: pq.write_table(t, f, compression='snappy'))"), text)
            }
        }
        let gzip = url("gzip_damaged.parquet").path
        XCTAssertThrowsError(try LocalSource().load(gzip)) { error in
            XCTAssertTrue("\(error)".contains("a gzip block cannot be inflated (invalid distance too far back)"), "\(error)")
        }
        let zstd = url("zstd_damaged.parquet").path
        XCTAssertThrowsError(try LocalSource().load(zstd)) { error in
            XCTAssertTrue("\(error)".contains("a zstd block has a damaged frame at byte 0 (Src size is incorrect)"), "\(error)")
        }
        // The text column's second page: the second zstd frame in the file, its block header overwritten.
        var second = try bytes("zstd_plain_v1.parquet")
        let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        let frames = (4..<(second.count - 4)).filter { Array(second[$0..<($0 + 4)]) == magic }
        XCTAssertGreaterThan(frames.count, 2)
        for i in (frames[1] + 6)..<(frames[1] + 9) { second[i] = 0xA5 }
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("second.parquet")
        try Data(second).write(to: path)
        XCTAssertThrowsError(try ParquetFile(url: path).rows()) { error in
            XCTAssertTrue("\(error)".contains(": column text page 1: a zstd block "), "\(error)")
        }
    }

    func testGzipStreamsDecompressExactlyOrThrow() throws {
        let text = try bytes("stream.txt"), stream = try bytes("stream.gz")
        XCTAssertEqual(try Gzip.decompress(stream[...], expectedSize: text.count), text)
        XCTAssertEqual(try Gzip.decompress((stream + stream)[...], expectedSize: 2 * text.count), text + text, "concatenated members")
        for length in 0..<stream.count {
            XCTAssertThrowsError(try Gzip.decompress(stream[..<length], expectedSize: text.count), "cut at \(length)")
        }
        XCTAssertThrowsError(try Gzip.decompress(stream[..<(stream.count - 4)], expectedSize: text.count)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a gzip block ends early, after \(text.count) of \(text.count) bytes (the file is truncated or damaged)")
        }
        for size in [text.count - 1, text.count + 1] {
            XCTAssertThrowsError(try Gzip.decompress(stream[...], expectedSize: size)) { error in
                XCTAssertEqual((error as? ParquetProblem)?.reason, "a gzip block decompresses to \(text.count) bytes but its page header says \(size)")
            }
        }
        XCTAssertThrowsError(try Gzip.decompress(stream[...], expectedSize: text.count - 2)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a gzip block decompresses to more than the \(text.count - 2) bytes its page header says")
        }
        XCTAssertThrowsError(try Gzip.decompress(stream[...], expectedSize: 1 << 30)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a gzip block of \(stream.count) bytes claims to hold \(1 << 30)")
        }
        XCTAssertThrowsError(try Gzip.decompress(text[...], expectedSize: text.count)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a gzip block cannot be inflated (incorrect header check)")
        }
        var flipped = stream
        flipped[flipped.count - 6] ^= 0xFF
        XCTAssertThrowsError(try Gzip.decompress(flipped[...], expectedSize: text.count), "a damaged CRC")
    }

    func testZstdStreamsDecompressExactlyOrThrow() throws {
        let text = try bytes("stream.txt"), stream = try bytes("stream.zst")
        XCTAssertEqual(try Zstd.decompress(stream[...], expectedSize: text.count), text)
        XCTAssertEqual(try Zstd.decompress((stream + stream)[...], expectedSize: 2 * text.count), text + text, "concatenated frames")
        for length in 0..<stream.count {
            XCTAssertThrowsError(try Zstd.decompress(stream[..<length], expectedSize: text.count), "cut at \(length)")
        }
        XCTAssertThrowsError(try Zstd.decompress(stream[...], expectedSize: text.count - 1)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a zstd block's frames hold more than \(text.count - 1) bytes but its page header says \(text.count - 1)")
        }
        XCTAssertThrowsError(try Zstd.decompress(stream[...], expectedSize: text.count + 1)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a zstd block's frames hold only \(text.count) bytes but its page header says \(text.count + 1)")
        }
        XCTAssertThrowsError(try Zstd.decompress(stream[...], expectedSize: 1 << 30)) { error in
            XCTAssertEqual((error as? ParquetProblem)?.reason, "a zstd block of \(stream.count) bytes claims to hold \(1 << 30)")
        }
        XCTAssertThrowsError(try Zstd.decompress(text[...], expectedSize: text.count)) { error in
            XCTAssertTrue((error as? ParquetProblem)?.reason.hasPrefix("a zstd block has a damaged frame at byte 0 (") == true, "\(error)")
        }
        for i in 4..<stream.count {
            var damaged = stream
            damaged[i] ^= 0x5A
            if let out = try? Zstd.decompress(damaged[...], expectedSize: text.count) {
                XCTAssertEqual(out.count, text.count, "byte \(i) damaged yet decoded to the wrong size")
            }
        }
    }
}
