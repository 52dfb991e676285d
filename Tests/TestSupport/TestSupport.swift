import Foundation

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
