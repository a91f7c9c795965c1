// Benchmark results as a table: CSV (RFC 4180) for files, aligned columns for the terminal.

import Foundation

/// Rows of named columns, every cell already formatted.
public struct ResultTable: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String]]

    public init(columns: [String], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// Header line, then one line per row; cells holding a comma, a quote or a line break are
    /// quoted with inner quotes doubled (RFC 4180). Lines end with "\n".
    public var csv: String {
        ([columns] + rows).map { $0.map(Self.csvCell).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// Columns padded to their widest cell: the first left-aligned, the rest right-aligned
    /// (they hold numbers), `headers` (nil: the column names) above a rule.
    public func text(headers: [String]? = nil) -> String {
        let head = headers ?? columns
        var widths = head.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let fill = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return i == 0 ? cell + fill : fill + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(head), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    static func csvCell(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A number for a CSV or table cell: fixed decimals, "nan" when not finite, "" when absent.
public func formatNumber(_ value: Double?, decimals: Int = 3) -> String {
    guard let value else { return "" }
    guard value.isFinite else { return "nan" }
    return String(format: "%.\(decimals)f", value)
}
