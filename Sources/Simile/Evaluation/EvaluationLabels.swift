/// Query and reference labels as dense class ids, with each class's reference rows.
///
/// Class ids follow the sorted label values (as `torch.unique` orders them), so per-class
/// averages come out in a fixed order.
struct EvaluationLabels: Sendable {
    /// The class id of each query.
    let queryClass: [Int32]
    /// The class id of each reference.
    let referenceClass: [Int32]
    /// The label value of each class id.
    let labelOfClass: [Int]
    /// Reference rows of class c: `referenceRows[referenceStart[c]..<referenceStart[c + 1]]`, ascending.
    let referenceStart: [Int]
    let referenceRows: [Int32]
    /// The reference row that is query i itself (leave-one-out, or a reference that starts with
    /// the queries), or nil when queries and references are separate.
    let selfReference: Bool

    init(query: [Int], reference: [Int], selfReference: Bool) {
        let values = Array(Set(query).union(reference)).sorted()
        var id: [Int: Int32] = [:]
        id.reserveCapacity(values.count)
        for (index, value) in values.enumerated() { id[value] = Int32(index) }
        queryClass = query.map { id[$0]! }
        referenceClass = reference.map { id[$0]! }
        labelOfClass = values
        var start = [Int](repeating: 0, count: values.count + 1)
        for c in referenceClass { start[Int(c) + 1] += 1 }
        for c in 0..<values.count { start[c + 1] += start[c] }
        var fill = start
        var rows = [Int32](repeating: 0, count: reference.count)
        for (row, c) in referenceClass.enumerated() {
            rows[fill[Int(c)]] = Int32(row)
            fill[Int(c)] += 1
        }
        referenceStart = start
        referenceRows = rows
        self.selfReference = selfReference
    }

    var classCount: Int { labelOfClass.count }

    /// References that share query i's label, not counting query i itself: PML's R.
    func relevantCount(query i: Int) -> Int {
        let c = Int(queryClass[i])
        return referenceStart[c + 1] - referenceStart[c] - (selfReference ? 1 : 0)
    }

    /// The reference rows of class c.
    func rows(ofClass c: Int) -> ArraySlice<Int32> {
        referenceRows[referenceStart[c]..<referenceStart[c + 1]]
    }

    /// The number of distinct query labels.
    var queryClassCount: Int { Set(queryClass).count }
}
