/// `temporal-pk`: P×K batches whose K rows of a class are exams far apart in time.
public struct TemporalPKSampler: BatchSampler {
    public static let descriptor = ComponentDescriptor(
        kind: .sampler, name: "temporal-pk",
        summary: "P classes × K rows per batch, the K rows of a class at least min-gap-days apart (hard, time-separated positives).",
        formula: """
            batch = P classes × K rows; for rows i ≠ j of one class in a batch: |t_i − t_j| ≥ min-gap-days
            epoch: every row that belongs to some such K-set is visited at least once
            """,
        discussion: """
            Positives that model physiological change: a patient's exams years apart differ more than \
            exams a week apart, and a model that matches them has learned the person rather than the \
            day. Every pair of same-class rows in a batch is at least min-gap-days apart in the date \
            column.

            The date column is `date-column`, or when unset the first metadata column named exam_date, \
            date, exam_day, day or days (ignoring case, '-' and '_'); it must be numeric (ISO dates \
            YYYY-MM-DD are read as day numbers). A row can be drawn only if its class has K − 1 other \
            rows that, together with it, are pairwise min-gap-days apart: with a class's dates sorted, \
            that holds when the longest chain of gap-separated dates before it plus the longest after \
            it reaches K − 1. Rows without that, and rows without a date, are never drawn; a class with \
            no drawable row is left out. Each chunk grows from an unvisited row, adding gap-compatible \
            rows (unvisited first, at random) while a valid completion still exists.

            Epoch semantics: every drawable row is visited at least once (rows may repeat, because a \
            chunk may need visited rows to reach K). Chunks are scheduled as in pk, including the \
            last-batch policy. With the synthetic ECG cohort (4–8 exams 30–400 days apart) and the \
            defaults, about 90% of rows are drawable.

            PML has no temporal sampler.
            """,
        reference: "Simile; time-separated positives for longitudinal identification",
        parameters: [
            ParameterSpec.string("date-column", nil, unsetMeaning: "the first of exam_date, date, exam_day, day, days",
                                 doc: "the metadata column with each row's date (ISO date or day number)"),
            .double("min-gap-days", 90, range: .atLeast(0), doc: "least time between two rows of a class in a batch, in days"),
            SamplerParameters.classesPerBatch(), SamplerParameters.samplesPerClass(), SamplerParameters.lastBatch(),
            SamplerParameters.seed,
        ],
        examples: [[], ["min-gap-days=365", "samples-per-class=2"], ["date-column=exam_date", "classes-per-batch=8", "last-batch=keep"]])

    public let dateColumn: String?
    public let minGapDays: Double
    public let classesPerBatch: Int
    public let samplesPerClass: Int
    let lastBatch: LastBatchPolicy
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        dateColumn = try arguments.optionalString("date-column")
        minGapDays = try arguments.double("min-gap-days")
        classesPerBatch = try arguments.int("classes-per-batch")
        samplesPerClass = try arguments.int("samples-per-class")
        lastBatch = LastBatchPolicy(rawValue: try arguments.choice("last-batch"))!
        seed = try arguments.int("seed")
    }

    /// The date of each row, from the date column.
    public func dates(_ data: SamplerData) throws -> (column: String, days: [Double?]) {
        let name = Self.descriptor.name
        let found: (name: String, column: MetadataColumn)
        if let dateColumn {
            found = try data.requireColumn(dateColumn, component: name, parameter: "date-column")
        } else if let first = DatasetLoadOptions.recognizedDateNames.lazy.compactMap({ data.column(named: $0) }).first {
            found = first
        } else {
            throw SimileError.invalidInput(
                "'\(name)': the data has no date column (none is named \(DatasetLoadOptions.recognizedDateNames.joined(separator: ", "))); name one with date-column=NAME")
        }
        guard case let .numeric(days) = found.column else {
            throw SimileError.invalidInput(
                "'\(name)': column '\(found.name)' is \(found.column.typeName), not dates; date-column needs ISO dates (YYYY-MM-DD) or day numbers")
        }
        return (found.name, days)
    }

    /// Which rows can be drawn (belong to some K-set of pairwise gap-separated rows of their class).
    public func drawableRows(_ data: SamplerData) throws -> [Bool] {
        try data.validate(component: Self.descriptor.name)
        let days = try dates(data).days
        var drawable = [Bool](repeating: false, count: data.count)
        for rows in data.rowsByClass {
            let timeline = Timeline(rows: rows, days: days, gap: minGapDays)
            for i in timeline.rows.indices where timeline.isDrawable(i, k: samplesPerClass) {
                drawable[timeline.rows[i]] = true
            }
        }
        return drawable
    }

    public func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] {
        let name = Self.descriptor.name
        try data.validate(component: name)
        let days = try dates(data).days
        var random = try SamplerParameters.generator(seed: seed, epoch: epoch, component: name)
        let k = samplesPerClass
        let timelines = data.rowsByClass.map { Timeline(rows: $0, days: days, gap: minGapDays) }
        var eligible: [Int] = []
        var chunks: [Chunk] = []
        for (classIndex, timeline) in timelines.enumerated() {
            let drawable = timeline.rows.indices.filter { timeline.isDrawable($0, k: k) }
            guard !drawable.isEmpty else { continue }
            eligible.append(classIndex)
            var visited = [Bool](repeating: false, count: timeline.rows.count)
            var unvisited = random.shuffled(drawable)
            while let start = unvisited.popLast() {
                guard !visited[start] else { continue }
                let members = timeline.chunk(from: start, k: k, visited: visited, random: &random)
                for member in members { visited[member] = true }
                chunks.append(Chunk(classIndex: classIndex, rows: members.map { timeline.rows[$0] }))
            }
        }
        guard eligible.count >= classesPerBatch else {
            throw SamplerParameters.tooFewClasses(
                name, eligible: eligible.count, total: timelines.count, needed: classesPerBatch,
                reason: "have \(k) dated rows pairwise at least \(ParameterValue.format(minGapDays)) days apart (lower min-gap-days or samples-per-class)")
        }
        let batches = assemblePK(
            chunks: chunks, classes: eligible, p: classesPerBatch, lastBatch: lastBatch,
            freshChunk: { classIndex, random in
                let timeline = timelines[classIndex]
                let drawable = timeline.rows.indices.filter { timeline.isDrawable($0, k: k) }
                let start = drawable[random.below(drawable.count)]
                let visited = [Bool](repeating: false, count: timeline.rows.count)
                return timeline.chunk(from: start, k: k, visited: visited, random: &random).map { timeline.rows[$0] }
            },
            random: &random)
        return batches.map { SampledBatch(rows: $0.flatMap(\.rows)) }
    }
}

/// One class's dated rows, sorted by date, with the longest gap-separated chains before and after
/// each row.
struct Timeline {
    /// Row indices into the data, by date (ties by row).
    let rows: [Int]
    let days: [Double]
    let gap: Double
    /// The longest chain of pairwise gap-separated rows ending at i, going back in time (i included).
    let before: [Int]
    /// The same going forward.
    let after: [Int]

    init(rows classRows: [Int], days allDays: [Double?], gap: Double) {
        let dated = classRows.compactMap { row in allDays[row].map { (row, $0) } }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        let days = dated.map(\.1)
        rows = dated.map(\.0)
        self.days = days
        self.gap = gap
        // The nearest gap-separated neighbour is the best link (a chain ending later leaves more
        // room), found by binary search in the sorted dates.
        func firstIndex(from low: Int, to high: Int, where isAfter: (Double) -> Bool) -> Int {
            var (low, high) = (low, high)
            while low < high {
                let middle = (low + high) / 2
                if isAfter(days[middle]) { high = middle } else { low = middle + 1 }
            }
            return low
        }
        var before = [Int](repeating: 1, count: dated.count)
        for i in dated.indices {
            // The last j < i with days[j] ≤ days[i] − gap.
            let j = firstIndex(from: 0, to: i) { $0 > days[i] - gap } - 1
            if j >= 0 { before[i] = before[j] + 1 }
        }
        var after = [Int](repeating: 1, count: dated.count)
        for i in dated.indices.reversed() {
            // The first j > i with days[j] ≥ days[i] + gap.
            let j = firstIndex(from: i + 1, to: dated.count) { $0 >= days[i] + gap }
            if j < dated.count { after[i] = after[j] + 1 }
        }
        self.before = before
        self.after = after
    }

    /// Whether row i is in some set of k pairwise gap-separated rows.
    func isDrawable(_ i: Int, k: Int) -> Bool {
        before[i] + after[i] - 1 >= k
    }

    /// k pairwise gap-separated positions including `start`, preferring unvisited ones.
    func chunk(from start: Int, k: Int, visited: [Bool], random: inout SeededGenerator) -> [Int] {
        let lowBack = max(0, (k - 1) - (after[start] - 1))
        let highBack = min(k - 1, before[start] - 1)
        let back = lowBack + random.below(highBack - lowBack + 1)
        var members = [start]
        // Backwards: each next position leaves room for the rest of the chain.
        var current = start
        var need = back
        while need > 0 {
            let candidates = (0..<current).filter { days[$0] <= days[current] - gap && before[$0] >= need }
            current = pick(candidates, visited: visited, random: &random)
            members.append(current)
            need -= 1
        }
        current = start
        need = k - 1 - back
        while need > 0 {
            let candidates = ((current + 1)..<rows.count).filter { days[$0] >= days[current] + gap && after[$0] >= need }
            current = pick(candidates, visited: visited, random: &random)
            members.append(current)
            need -= 1
        }
        return members.sorted()
    }

    private func pick(_ candidates: [Int], visited: [Bool], random: inout SeededGenerator) -> Int {
        let fresh = candidates.filter { !visited[$0] }
        let pool = fresh.isEmpty ? candidates : fresh
        return pool[random.below(pool.count)]
    }
}
