import FloraBench
import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses `svg` as XML; returns the element names, or nil when it is not well-formed.
func xmlElements(_ svg: String) -> [String]? {
    final class Collector: NSObject, XMLParserDelegate {
        var names: [String] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            names.append(name)
        }
    }
    let parser = XMLParser(data: Data(svg.utf8))
    let collector = Collector()
    parser.delegate = collector
    return parser.parse() ? collector.names : nil
}

@Suite struct PlotTests {
    func plot(title: String = "Throughput <against> rank & more") -> LogLogPlot {
        LogLogPlot(title: title, xLabel: "rank", yLabel: "tokens/s", series: [
            .init(name: "flora", points: [.init(x: 1, y: 300), .init(x: 8, y: 100), .init(x: 64, y: 20)], style: .of(.flora)),
            .init(name: "lora-bmm", points: [.init(x: 1, y: 250), .init(x: 64, y: 200)], style: .of(.loraBMM)),
            .init(name: "single", points: [.init(x: 4, y: 150), .init(x: 8, y: .nan)], style: .of(.ia3)),
        ])
    }

    @Test func theSVGIsWellFormedXML() throws {
        let names = try #require(xmlElements(plot().svg))
        #expect(names.first == "svg")
        #expect(names.filter { $0 == "polyline" }.count == 2)  // the one-point series has markers only
        #expect(names.contains("text"))
    }

    @Test func textIsEscaped() {
        let svg = plot().svg
        #expect(svg.contains("Throughput &lt;against&gt; rank &amp; more"))
        #expect(xmlElements(plot(title: "a \"quoted\" 'title'").svg) != nil)
    }

    @Test func axesCoverWholePowersOfTwo() {
        let svg = plot().svg
        // x from 1 to 64, y from 16 to 512: a label at every power of two.
        for label in ["1", "2", "64", "16", "512"] { #expect(svg.contains(">\(label)</text>")) }
        #expect(!svg.contains(">1024</text>"))
    }

    @Test func anEmptyPlotIsStillValid() {
        let empty = LogLogPlot(title: "nothing", xLabel: "x", yLabel: "y", series: [])
        #expect(xmlElements(empty.svg) != nil)
    }
}
