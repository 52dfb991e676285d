import Foundation
import XCTest

/// Shared helpers for the test targets: fixture paths and temporary folders.
public enum TestSupport {
    /// The package root, found from this source file's location (Tests/TestSupport/TestSupport.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh empty folder under the system temp directory; the caller removes it.
    public static func makeTemporaryDirectory(prefix: String = "sftrun-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// |got − want| ≤ rtol·|want| + atol·max(1, max|want|) elementwise (atol relative to the tensor's scale); a failure
/// names the worst element.
public func assertClose(_ got: [Float], _ want: [Float], rtol: Float = 1e-5, atol: Float = 1e-6, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "\(what): element count", file: file, line: line)
    let scale = max(want.map { abs($0) }.max() ?? 0, 1)
    var worst: (Int, Float) = (-1, 0)
    for i in 0..<min(got.count, want.count) {
        let err = abs(got[i] - want[i]) - (rtol * abs(want[i]) + atol * scale)
        if err > worst.1 { worst = (i, err) }
    }
    if worst.0 >= 0 {
        XCTFail("\(what): element \(worst.0) is \(got[worst.0]), want \(want[worst.0])", file: file, line: line)
    }
}
