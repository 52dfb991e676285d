import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A standalone SVG of the train and eval loss curves, written next to the checkpoints so a run can be judged
/// from a file browser without TensorBoard. No scripts, no external fonts (generic `sans-serif` only).
public enum LossPlot {
    static let width = 640.0, height = 360.0
    static let left = 64.0, right = 20.0, top = 40.0, bottom = 48.0
    static let trainColor = "#1f77b4", evalColor = "#d62728"
    /// Past this many points a curve is thinned to the lowest and highest loss per pixel column, which keeps the
    /// file small for long runs and still shows every spike.
    static let maxPointsPerCurve = 2000

    /// The SVG text. Non-finite losses are skipped; points are drawn in step order; the loss range is padded
    /// so the curve does not touch the frame. Empty series draw an empty frame with "no data".
    public static func svg(train: [(step: Int, loss: Double)], eval: [(step: Int, loss: Double)], title: String) -> String {
        let trainPoints = finitePoints(train), evalPoints = finitePoints(eval)
        let all = trainPoints + evalPoints
        let plotLeft = left, plotRight = width - right, plotTop = top, plotBottom = height - bottom

        let steps = all.map { Double($0.step) }
        var (xLow, xHigh) = (steps.min() ?? 0, steps.max() ?? 1)
        if xHigh - xLow < 1 { (xLow, xHigh) = (xLow - 1, xHigh + 1) }
        let losses = all.map(\.loss)
        var (yLow, yHigh) = (losses.min() ?? 0, losses.max() ?? 1)
        let spread = yHigh - yLow
        let pad = spread > 0 ? spread * 0.06 : max(abs(yLow) * 0.1, 0.5)
        (yLow, yHigh) = (yLow - pad, yHigh + pad)

        func x(_ step: Double) -> Double { plotLeft + (step - xLow) / (xHigh - xLow) * (plotRight - plotLeft) }
        func y(_ loss: Double) -> Double { plotBottom - (loss - yLow) / (yHigh - yLow) * (plotBottom - plotTop) }

        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="sans-serif" font-size="11">
        <rect x="0" y="0" width="\(fmt(width))" height="\(fmt(height))" fill="#ffffff"/>
        <text x="\(fmt(width / 2))" y="22" text-anchor="middle" font-size="14">\(escape(title))</text>

        """
        svg += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n"
        let xTicks = niceTicks(low: xLow, high: xHigh, target: 6).filter { $0 == $0.rounded() }
        let yTicks = niceTicks(low: yLow, high: yHigh, target: 5)
        for t in xTicks { svg += "<line x1=\"\(fmt(x(t)))\" y1=\"\(fmt(plotTop))\" x2=\"\(fmt(x(t)))\" y2=\"\(fmt(plotBottom))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(fmt(plotLeft))\" y1=\"\(fmt(y(t)))\" x2=\"\(fmt(plotRight))\" y2=\"\(fmt(y(t)))\"/>\n" }
        svg += "</g>\n"
        svg += "<rect class=\"frame\" x=\"\(fmt(plotLeft))\" y=\"\(fmt(plotTop))\" width=\"\(fmt(plotRight - plotLeft))\" height=\"\(fmt(plotBottom - plotTop))\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"

        svg += "<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"#333333\">\n"
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        for t in xTicks {
            svg += "<line x1=\"\(fmt(x(t)))\" y1=\"\(fmt(plotBottom))\" x2=\"\(fmt(x(t)))\" y2=\"\(fmt(plotBottom + 4))\" stroke=\"#333333\"/>"
            svg += "<text x=\"\(fmt(x(t)))\" y=\"\(fmt(plotBottom + 16))\">\(tickLabel(t, step: xStep))</text>\n"
        }
        svg += "</g>\n<g class=\"y-ticks\" text-anchor=\"end\" fill=\"#333333\">\n"
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for t in yTicks {
            svg += "<line x1=\"\(fmt(plotLeft - 4))\" y1=\"\(fmt(y(t)))\" x2=\"\(fmt(plotLeft))\" y2=\"\(fmt(y(t)))\" stroke=\"#333333\"/>"
            svg += "<text x=\"\(fmt(plotLeft - 7))\" y=\"\(fmt(y(t) + 4))\">\(tickLabel(t, step: yStep))</text>\n"
        }
        svg += "</g>\n"
        svg += "<text class=\"x-label\" x=\"\(fmt((plotLeft + plotRight) / 2))\" y=\"\(fmt(height - 10))\" text-anchor=\"middle\" font-size=\"12\">step</text>\n"
        svg += "<text class=\"y-label\" x=\"16\" y=\"\(fmt((plotTop + plotBottom) / 2))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 \(fmt((plotTop + plotBottom) / 2)))\">loss</text>\n"

        func curve(_ points: [(step: Int, loss: Double)], name: String, color: String, markers: Bool) -> String {
            let shown = thinned(points, columns: Int(plotRight - plotLeft))
            let coordinates = shown.map { "\(fmt(x(Double($0.step)))),\(fmt(y($0.loss)))" }.joined(separator: " ")
            var out = "<g class=\"\(name)\">\n"
            out += "<polyline class=\"\(name)-curve\" points=\"\(coordinates)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" stroke-linejoin=\"round\"/>\n"
            if markers || shown.count == 1 {
                for p in shown { out += "<circle cx=\"\(fmt(x(Double(p.step))))\" cy=\"\(fmt(y(p.loss)))\" r=\"3\" fill=\"\(color)\"/>\n" }
            }
            return out + "</g>\n"
        }
        if !trainPoints.isEmpty { svg += curve(trainPoints, name: "train", color: trainColor, markers: false) }
        if !evalPoints.isEmpty { svg += curve(evalPoints, name: "eval", color: evalColor, markers: true) }

        if all.isEmpty {
            svg += "<text class=\"no-data\" x=\"\(fmt((plotLeft + plotRight) / 2))\" y=\"\(fmt((plotTop + plotBottom) / 2))\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n"
        } else {
            svg += legend(train: !trainPoints.isEmpty, eval: !evalPoints.isEmpty, right: plotRight, top: plotTop)
        }
        return svg + "</svg>\n"
    }

    /// Writes the SVG atomically: a temporary file in the same folder, synced, then renamed over `url`, so a
    /// viewer or a crash never sees half a plot.
    public static func write(train: [(step: Int, loss: Double)], eval: [(step: Int, loss: Double)], title: String, to url: URL) throws {
        let data = Data(svg(train: train, eval: eval, title: title).utf8)
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw LogFileError(file: url.path, "cannot create a temporary file in \(folder.path); check that the folder exists and is writable")
        }
        do {
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw LogFileError(file: url.path, "cannot write the loss plot (\(error.localizedDescription)); check free disk space")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw LogFileError(file: url.path, "cannot move the finished loss plot into place (\(reason)); check that the path is not a folder")
        }
    }

    static func legend(train: Bool, eval: Bool, right: Double, top: Double) -> String {
        let entries = [(train, "train", trainColor, false), (eval, "eval", evalColor, true)].filter(\.0)
        let boxWidth = 74.0, rowHeight = 16.0
        let boxX = right - boxWidth - 8, boxY = top + 8
        var out = "<g class=\"legend\">\n"
        out += "<rect x=\"\(fmt(boxX))\" y=\"\(fmt(boxY))\" width=\"\(fmt(boxWidth))\" height=\"\(fmt(Double(entries.count) * rowHeight + 8))\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n"
        for (row, entry) in entries.enumerated() {
            let rowY = boxY + 4 + rowHeight * (Double(row) + 0.5)
            out += "<line x1=\"\(fmt(boxX + 8))\" y1=\"\(fmt(rowY))\" x2=\"\(fmt(boxX + 30))\" y2=\"\(fmt(rowY))\" stroke=\"\(entry.2)\" stroke-width=\"1.5\"/>"
            if entry.3 { out += "<circle cx=\"\(fmt(boxX + 19))\" cy=\"\(fmt(rowY))\" r=\"3\" fill=\"\(entry.2)\"/>" }
            out += "<text x=\"\(fmt(boxX + 36))\" y=\"\(fmt(rowY + 4))\">\(entry.1)</text>\n"
        }
        return out + "</g>\n"
    }

    static func finitePoints(_ series: [(step: Int, loss: Double)]) -> [(step: Int, loss: Double)] {
        series.enumerated()
            .filter { $0.element.loss.isFinite }
            .sorted { ($0.element.step, $0.offset) < ($1.element.step, $1.offset) }
            .map(\.element)
    }

    /// Keeps, per pixel column, the lowest and highest loss in their original order.
    static func thinned(_ points: [(step: Int, loss: Double)], columns: Int) -> [(step: Int, loss: Double)] {
        guard points.count > maxPointsPerCurve, let first = points.first, let last = points.last, last.step > first.step else { return points }
        let span = Double(last.step - first.step)
        var out: [(step: Int, loss: Double)] = []
        var start = 0
        while start < points.count {
            let column = Int(Double(points[start].step - first.step) / span * Double(columns))
            var end = start + 1
            while end < points.count, Int(Double(points[end].step - first.step) / span * Double(columns)) == column { end += 1 }
            let bucket = points[start..<end].indices
            if let low = bucket.min(by: { points[$0].loss < points[$1].loss }),
               let high = bucket.max(by: { points[$0].loss < points[$1].loss }) {
                for i in Set([low, high]).sorted() { out.append(points[i]) }
            }
            start = end
        }
        return out
    }

    /// Tick values at a 1-2-5 × 10^k spacing giving about `target` ticks inside [low, high].
    static func niceTicks(low: Double, high: Double, target: Int) -> [Double] {
        guard low.isFinite, high.isFinite, high > low, target > 0 else { return [] }
        let raw = (high - low) / Double(target)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var k = (low / step).rounded(.up)
        while k * step <= high + step * 1e-9, ticks.count < 100 {
            let value = k * step
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            k += 1
        }
        return ticks
    }

    /// As many decimals as the tick spacing needs (0.05 → two), so labels read 0.10, 0.15 rather than 0.1000000001.
    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = step > 0 ? max(0, Int(-floor(log10(step) + 1e-9))) : 0
        return String(format: "%.\(min(decimals, 10))f", abs(value) < step * 1e-6 ? 0 : value)
    }

    static func fmt(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e9 else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
