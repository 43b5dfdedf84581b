extension SamplerData {
    /// A metadata column by name: the exact name first, then ignoring case, `-`, `_` and spaces
    /// (so `qt-bucket` finds `qt_bucket` and `inrange` finds `InRange`).
    public func column(named name: String) -> (name: String, column: MetadataColumn)? {
        if let column = metadata[name] { return (name, column) }
        let folded = Suggestions.fold(name)
        let matches = metadata.keys.filter { Suggestions.fold($0) == folded }.sorted()
        guard let first = matches.first else { return nil }
        return (first, metadata[first]!)
    }

    /// A metadata column that a sampler needs, or an error that names the sampler, the parameter
    /// and the columns there are.
    public func requireColumn(_ name: String, component: String, parameter: String) throws
        -> (name: String, column: MetadataColumn) {
        if let found = column(named: name) { return found }
        let names = metadata.keys.sorted()
        var message = "'\(component)': the data has no metadata column '\(name)' (parameter \(parameter))"
        if let suggestion = Suggestions.closest(to: name, among: names) { message += "; did you mean '\(suggestion)'?" }
        if names.isEmpty {
            message += "; it has no metadata columns at all (name them when loading the data, e.g. --metadata \(name))"
        } else {
            message += "; its metadata columns are \(names.map { "'\($0)'" }.joined(separator: ", "))"
        }
        throw SimileError.invalidInput(message)
    }

    /// Checks what every sampler relies on: at least one row, and one metadata value per row.
    public func validate(component: String) throws {
        guard count > 0 else { throw SimileError.empty("'\(component)': the data has no rows") }
        for (name, column) in metadata.sorted(by: { $0.key < $1.key }) where column.count != count {
            throw SimileError.shapeMismatch(
                "'\(component)': metadata column '\(name)' has \(column.count) values but there are \(count) rows")
        }
    }

    /// The rows of each class, classes in order of first appearance.
    var rowsByClass: [[Int]] {
        var index: [Int: Int] = [:]
        var groups: [[Int]] = []
        for (row, label) in labels.enumerated() {
            if let slot = index[label] {
                groups[slot].append(row)
            } else {
                index[label] = groups.count
                groups.append([row])
            }
        }
        return groups
    }
}

extension SamplerData {
    /// Groups classes by the values of metadata columns: each class takes, per column, the value
    /// most of its rows have (ties go to the value seen first; a missing value counts as
    /// "missing"). Groups come in order of first appearance.
    func groupClasses(_ classes: [Int], rowsByClass: [[Int]], columns: [MetadataColumn])
        -> (keys: [[String]], members: [[Int]]) {
        var keys: [[String]] = []
        var members: [[Int]] = []
        var index: [[String]: Int] = [:]
        for classIndex in classes {
            let key = columns.map { column -> String in
                var counts: [String: Int] = [:]
                var order: [String] = []
                for row in rowsByClass[classIndex] {
                    let value = column.text(at: row) ?? "missing"
                    if counts[value] == nil { order.append(value) }
                    counts[value, default: 0] += 1
                }
                var best = order[0]
                for value in order where counts[value]! > counts[best]! { best = value }
                return best
            }
            if let slot = index[key] {
                members[slot].append(classIndex)
            } else {
                index[key] = keys.count
                keys.append(key)
                members.append([classIndex])
            }
        }
        return (keys, members)
    }
}
