// A line plot on log-2 axes written as SVG 1.1 by hand (no dependency): axes, a tick and a
// grid line at every power of two, labels, a legend, and one polyline with markers per series,
// like the fLoRA paper's figure 2.

import Foundation

public struct LogLogPlot: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public enum Marker: Sendable { case circle, square, triangle, diamond, cross }

    public struct Style: Sendable {
        public var color: String
        public var marker: Marker
        public var dashed: Bool

        public init(color: String, marker: Marker, dashed: Bool = false) {
            self.color = color
            self.marker = marker
            self.dashed = dashed
        }

        /// The same look for a method in every plot.
        public static func of(_ method: BenchMethod) -> Style {
            switch method {
            case .base: Style(color: "#222222", marker: .square, dashed: true)
            case .flora: Style(color: "#d62728", marker: .circle)
            case .floraExpanded: Style(color: "#ff7f0e", marker: .circle, dashed: true)
            case .floraUnkept: Style(color: "#e377c2", marker: .circle, dashed: true)
            case .loraBMM: Style(color: "#1f77b4", marker: .triangle)
            case .loraSegmented: Style(color: "#2ca02c", marker: .diamond)
            case .ia3: Style(color: "#9467bd", marker: .cross, dashed: true)
            case .dora: Style(color: "#ff7f0e", marker: .triangle, dashed: true)
            case .road: Style(color: "#8c564b", marker: .cross)
            }
        }
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public var style: Style

        public init(name: String, points: [Point], style: Style) {
            self.name = name
            self.points = points
            self.style = style
        }

        init(name: String, points: [(x: Double, y: Double)], style: Style) {
            self.init(name: name, points: points.map { Point(x: $0.x, y: $0.y) }, style: style)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 760.0
    public var height = 480.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    // Plot area, inside the margins.
    private var left: Double { 84 }
    private var right: Double { width - 170 }
    private var top: Double { 48 }
    private var bottom: Double { height - 62 }

    /// The SVG document. Points with a value that is not positive and finite are left out.
    public var svg: String {
        let drawable = series.map { s in s.points.filter { $0.x > 0 && $0.y > 0 && $0.x.isFinite && $0.y.isFinite } }
        let xs = drawable.flatMap { $0.map(\.x) }, ys = drawable.flatMap { $0.map(\.y) }
        let (x0, x1) = Self.powerRange(xs), (y0, y1) = Self.powerRange(ys)
        func px(_ x: Double) -> Double { left + (log2(x) - Double(x0)) / Double(x1 - x0) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (log2(y) - Double(y0)) / Double(y1 - y0) * (bottom - top) }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect x="0" y="0" width="\(f(width))" height="\(f(height))" fill="white"/>
        <text x="\(f((left + right) / 2))" y="26" text-anchor="middle" font-size="15">\(Self.escaped(title))</text>

        """
        // Grid, ticks and tick labels at every power of two (every other one when crowded).
        let xStep = x1 - x0 > 12 ? 2 : 1, yStep = y1 - y0 > 10 ? 2 : 1
        for e in stride(from: x0, through: x1, by: xStep) {
            let x = px(exp2(Double(e)))
            out += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(bottom))\" stroke=\"#e4e4e4\"/>\n"
            out += "<line x1=\"\(f(x))\" y1=\"\(f(bottom))\" x2=\"\(f(x))\" y2=\"\(f(bottom + 5))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(f(x))\" y=\"\(f(bottom + 19))\" text-anchor=\"middle\">\(Self.tickLabel(e))</text>\n"
        }
        for e in stride(from: y0, through: y1, by: yStep) {
            let y = py(exp2(Double(e)))
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(right))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>\n"
            out += "<line x1=\"\(f(left - 5))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.tickLabel(e))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" fill=\"none\" stroke=\"black\"/>\n"
        out += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(height - 20))\" text-anchor=\"middle\">\(Self.escaped(xLabel)) (log₂ scale)</text>\n"
        let yMid = (top + bottom) / 2
        out += "<text x=\"22\" y=\"\(f(yMid))\" text-anchor=\"middle\" transform=\"rotate(-90 22 \(f(yMid)))\">\(Self.escaped(yLabel)) (log₂ scale)</text>\n"

        for (s, points) in zip(series, drawable) {
            let color = s.style.color
            let dash = s.style.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if points.count > 1 {
                let coordinates = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>\n"
            }
            for p in points { out += Self.marker(s.style.marker, x: px(p.x), y: py(p.y), color: color) }
        }
        // Legend, right of the plot area.
        for (i, s) in series.enumerated() {
            let y = top + 14 + Double(i) * 22, x = right + 18
            let dash = s.style.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 30))\" y2=\"\(f(y))\" stroke=\"\(s.style.color)\" stroke-width=\"2\"\(dash)/>\n"
            out += Self.marker(s.style.marker, x: x + 15, y: y, color: s.style.color)
            out += "<text x=\"\(f(x + 38))\" y=\"\(f(y + 4))\">\(Self.escaped(s.name))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Exponents of the powers of two around `values`, at least one apart.
    static func powerRange(_ values: [Double]) -> (Int, Int) {
        guard let low = values.min(), let high = values.max() else { return (0, 1) }
        let a = Int(log2(low).rounded(.down)), b = Int(log2(high).rounded(.up))
        return b > a ? (a, b) : (a, a + 1)
    }

    static func tickLabel(_ exponent: Int) -> String {
        let value = exp2(Double(exponent))
        return exponent >= 0 ? String(Int(value)) : String(format: "%.3g", value)
    }

    static func marker(_ marker: Marker, x: Double, y: Double, color: String) -> String {
        let r = 4.5
        switch marker {
        case .circle:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(color)\"/>\n"
        case .square:
            return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"\(color)\"/>\n"
        case .triangle:
            return "<polygon points=\"\(f(x)),\(f(y - r - 1)) \(f(x - r - 1)),\(f(y + r)) \(f(x + r + 1)),\(f(y + r))\" fill=\"\(color)\"/>\n"
        case .diamond:
            return "<polygon points=\"\(f(x)),\(f(y - r - 1)) \(f(x + r + 1)),\(f(y)) \(f(x)),\(f(y + r + 1)) \(f(x - r - 1)),\(f(y))\" fill=\"\(color)\"/>\n"
        case .cross:
            return "<path d=\"M\(f(x - r)),\(f(y - r)) L\(f(x + r)),\(f(y + r)) M\(f(x - r)),\(f(y + r)) L\(f(x + r)),\(f(y - r))\" stroke=\"\(color)\" stroke-width=\"2.5\"/>\n"
        }
    }

    /// Text with XML's five special characters escaped.
    static func escaped(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// A coordinate with two decimals.
private func f(_ value: Double) -> String { String(format: "%.2f", value) }
