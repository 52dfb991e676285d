import XCTest
import TestSupport
@testable import Training
#if canImport(FoundationXML)
import FoundationXML
#endif

final class LossPlotTests: XCTestCase {
    let train: [(step: Int, loss: Double)] = (1...50).map { ($0, 3.0 * exp(-Double($0) / 20) + 0.4) }
    let eval: [(step: Int, loss: Double)] = [(10, 2.1), (20, 1.5), (30, 1.2), (40, 1.05), (50, 0.98)]

    /// Parses the SVG as XML and returns the root element.
    func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) throws -> XMLElement {
        let document = try XMLDocument(data: Data(svg.utf8), options: [])
        return try XCTUnwrap(document.rootElement(), file: file, line: line)
    }

    /// By scanning `attributes`: `attribute(forName:)` finds nothing on Linux's FoundationXML.
    func attribute(_ element: XMLElement, _ name: String) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    func elements(_ root: XMLElement, _ name: String) -> [XMLElement] {
        var found: [XMLElement] = []
        func walk(_ node: XMLElement) {
            if node.name == name { found.append(node) }
            for case let child as XMLElement in node.children ?? [] { walk(child) }
        }
        walk(root)
        return found
    }

    func classed(_ root: XMLElement, _ className: String) -> [XMLElement] {
        var found: [XMLElement] = []
        func walk(_ node: XMLElement) {
            if attribute(node, "class") == className { found.append(node) }
            for case let child as XMLElement in node.children ?? [] { walk(child) }
        }
        walk(root)
        return found
    }

    func points(_ polyline: XMLElement) -> [(Double, Double)] {
        (attribute(polyline, "points") ?? "").split(separator: " ").compactMap { pair in
            let xy = pair.split(separator: ",").compactMap { Double($0) }
            return xy.count == 2 ? (xy[0], xy[1]) : nil
        }
    }

    func testPlotIsWellFormedSVGWithBothCurvesAxesAndLegend() throws {
        let svg = LossPlot.svg(train: train, eval: eval, title: "SmolLM2 <sft> & \"lora\"")
        XCTAssertTrue(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let root = try parse(svg)
        XCTAssertEqual(root.name, "svg")
        XCTAssertEqual(attribute(root, "width"), "640")
        XCTAssertEqual(attribute(root, "height"), "360")
        let trainCurve = try XCTUnwrap(classed(root, "train-curve").first)
        let evalCurve = try XCTUnwrap(classed(root, "eval-curve").first)
        XCTAssertEqual(points(trainCurve).count, 50)
        XCTAssertEqual(points(evalCurve).count, 5)
        XCTAssertEqual(elements(classed(root, "eval")[0], "circle").count, 5, "eval points carry markers")
        XCTAssertEqual(elements(classed(root, "train")[0], "circle").count, 0)
        let legendText = elements(try XCTUnwrap(classed(root, "legend").first), "text").map { $0.stringValue ?? "" }
        XCTAssertEqual(legendText, ["train", "eval"])
        XCTAssertEqual(classed(root, "x-label").first?.stringValue, "step")
        XCTAssertEqual(classed(root, "y-label").first?.stringValue, "loss")
        XCTAssertTrue(elements(root, "text").contains { $0.stringValue == "SmolLM2 <sft> & \"lora\"" }, "title escaped and read back")
        XCTAssertTrue(elements(root, "script").isEmpty)

        // Every curve point lies inside the plot frame.
        let frame = try XCTUnwrap(classed(root, "frame").first)
        let fx = Double(attribute(frame, "x") ?? "") ?? -1
        let fy = Double(attribute(frame, "y") ?? "") ?? -1
        let fw = Double(attribute(frame, "width") ?? "") ?? -1
        let fh = Double(attribute(frame, "height") ?? "") ?? -1
        for (x, y) in points(trainCurve) + points(evalCurve) {
            XCTAssertTrue(x >= fx && x <= fx + fw && y > fy && y < fy + fh, "(\(x), \(y)) outside the frame")
        }
        // SVG y grows downward, so the falling loss ends lower on the page than it starts.
        XCTAssertGreaterThan(try XCTUnwrap(points(trainCurve).last).1, try XCTUnwrap(points(trainCurve).first).1)
    }

    func testTicksUseOneTwoFiveSpacing() throws {
        XCTAssertEqual(LossPlot.niceTicks(low: 0, high: 10, target: 5), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(LossPlot.niceTicks(low: 1, high: 1000, target: 6), [200, 400, 600, 800, 1000])
        XCTAssertEqual(LossPlot.niceTicks(low: 0.37, high: 0.81, target: 5).map { ($0 * 100).rounded() / 100 }, [0.4, 0.5, 0.6, 0.7, 0.8])
        XCTAssertEqual(LossPlot.tickLabel(0.30000000000000004, step: 0.05), "0.30")
        XCTAssertEqual(LossPlot.tickLabel(-1e-17, step: 0.5), "0.0", "no negative zero")
        XCTAssertEqual(LossPlot.tickLabel(1500, step: 500), "1500")

        let root = try parse(LossPlot.svg(train: train, eval: eval, title: "t"))
        let yLabels = elements(try XCTUnwrap(classed(root, "y-ticks").first), "text").compactMap { Double($0.stringValue ?? "") }
        XCTAssertGreaterThanOrEqual(yLabels.count, 3)
        let gaps = Set(zip(yLabels.dropFirst(), yLabels).map { (($0 - $1) * 1e6).rounded() / 1e6 })
        XCTAssertEqual(gaps.count, 1, "evenly spaced: \(yLabels)")
        let gap = try XCTUnwrap(gaps.first)
        let mantissa = gap / pow(10, floor(log10(gap)))
        XCTAssertTrue([1, 2, 5].contains { abs(mantissa - Double($0)) < 1e-6 }, "gap \(gap)")
        let xLabels = elements(try XCTUnwrap(classed(root, "x-ticks").first), "text").compactMap { Int($0.stringValue ?? "") }
        XCTAssertEqual(xLabels, [10, 20, 30, 40, 50])
    }

    func testNonFiniteLossesAreSkippedAndNeverReachTheSVG() throws {
        let noisy: [(step: Int, loss: Double)] = [(1, .nan), (2, 2.0), (3, .infinity), (4, 1.5), (5, -.infinity), (6, .nan)]
        let svg = LossPlot.svg(train: noisy, eval: [(3, .nan), (6, 1.7)], title: "nan")
        for bad in ["nan", "NaN", "inf", "Inf"] {
            XCTAssertFalse(svg.replacingOccurrences(of: ">nan<", with: "").contains(bad), "'\(bad)' in the SVG")
        }
        let root = try parse(svg)
        XCTAssertEqual(points(try XCTUnwrap(classed(root, "train-curve").first)).count, 2)
        XCTAssertEqual(points(try XCTUnwrap(classed(root, "eval-curve").first)).count, 1)
    }

    func testEmptyAndSinglePointSeriesStillDrawAValidPlot() throws {
        let empty = try parse(LossPlot.svg(train: [], eval: [], title: "empty"))
        XCTAssertTrue(classed(empty, "train-curve").isEmpty)
        XCTAssertEqual(classed(empty, "no-data").first?.stringValue, "no data")
        XCTAssertFalse(elements(try XCTUnwrap(classed(empty, "y-ticks").first), "text").isEmpty, "axes still have ticks")

        let allNaN = try parse(LossPlot.svg(train: [(1, .nan)], eval: [], title: "all nan"))
        XCTAssertEqual(classed(allNaN, "no-data").count, 1)

        let single = LossPlot.svg(train: [(7, 2.5)], eval: [], title: "one")
        let root = try parse(single)
        let curve = try XCTUnwrap(classed(root, "train-curve").first)
        XCTAssertEqual(points(curve).count, 1)
        XCTAssertEqual(elements(classed(root, "train")[0], "circle").count, 1, "a lone point gets a marker so it shows")
        XCTAssertEqual(elements(try XCTUnwrap(classed(root, "legend").first), "text").map { $0.stringValue ?? "" }, ["train"])
        XCTAssertTrue(elements(try XCTUnwrap(classed(root, "x-ticks").first), "text").contains { $0.stringValue == "7" })
        XCTAssertFalse(single.contains("nan"))
    }

    func testLongRunsAreThinnedButKeepSpikesAndStepOrder() throws {
        var long: [(step: Int, loss: Double)] = (0..<100_000).map { ($0, 2.0 - Double($0) / 100_000) }
        long[54_321].loss = 9.0
        long.swapAt(10, 20)
        let svg = LossPlot.svg(train: long, eval: [], title: "long")
        XCTAssertLessThan(svg.utf8.count, 100_000)
        let curve = points(try XCTUnwrap(classed(try parse(svg), "train-curve").first))
        XCTAssertLessThanOrEqual(curve.count, 2 * 600)
        let top = try XCTUnwrap(curve.map(\.1).min())
        XCTAssertLessThan(top, 60, "the spike at 9.0 is still drawn near the top")
        XCTAssertEqual(curve.map(\.0), curve.map(\.0).sorted())
    }

    func testWriteReplacesTheFileAtomicallyAndLeavesNoTemporaries() throws {
        let folder = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("loss.svg")
        try "old".write(to: url, atomically: false, encoding: .utf8)
        try LossPlot.write(train: train, eval: eval, title: "run", to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), LossPlot.svg(train: train, eval: eval, title: "run"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["loss.svg"])

        XCTAssertThrowsError(try LossPlot.write(train: train, eval: eval, title: "run", to: folder.appendingPathComponent("missing/loss.svg")))
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("dir.svg/inner"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try LossPlot.write(train: train, eval: eval, title: "run", to: folder.appendingPathComponent("dir.svg")))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), ["loss.svg", "dir.svg"], "failed writes clean up")
    }
}
