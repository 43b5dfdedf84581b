extension Loss {
    /// Computes the loss and its gradients after checking every input.
    ///
    /// - Parameters:
    ///   - embeddings: N×D, finite.
    ///   - labels: N class labels (or continuous label vectors for a `ContinuousLabelLoss`).
    ///   - tuples: mined pairs or triplets (needs `TupleCapable`); nil means all of them.
    ///   - reference: M×D reference embeddings (needs `ReferenceCapable`), with `referenceLabels`.
    ///   - parameters: values of trainable parameters (needs `Trainable`); missing ones start at
    ///     `initialParameters()`.
    ///   - step: distinguishes training steps for losses that sample at random.
    /// - Throws: `SimileError` naming the offending input; never returns NaN.
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: Labels, tuples: Tuples? = nil,
        reference: Matrix<S>? = nil, referenceLabels: Labels? = nil,
        parameters: [String: Matrix<S>] = [:], step: UInt64 = 0
    ) throws -> LossOutput<S> {
        try LossInputValidator.run(self, embeddings, labels, tuples, reference, referenceLabels, parameters, step)
    }

    /// The same with plain integer class labels.
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: [Int], tuples: Tuples? = nil,
        reference: Matrix<S>? = nil, referenceLabels: [Int]? = nil,
        parameters: [String: Matrix<S>] = [:], step: UInt64 = 0
    ) throws -> LossOutput<S> {
        try self(embeddings, .classes(labels), tuples: tuples, reference: reference,
                 referenceLabels: referenceLabels.map { .classes($0) }, parameters: parameters, step: step)
    }

    /// Computes the loss on the triplets of a band miner (`TripletBandMiner.tripletBand`) without
    /// listing them: bit for bit `loss(embeddings, labels, tuples: miner.mine(...))`, in a fraction
    /// of the time and memory. Needs a `TripletBandCapable` loss.
    ///
    /// The miner must have mined without item ids (`MiningContext.referenceItems` nil), as the
    /// rule knows only the labels.
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: [Int], tripletsIn band: TripletBand,
        reference: Matrix<S>? = nil, referenceLabels: [Int]? = nil,
        parameters: [String: Matrix<S>] = [:], step: UInt64 = 0
    ) throws -> LossOutput<S> {
        try LossInputValidator.run(self, embeddings, .classes(labels), nil, reference, referenceLabels.map { .classes($0) },
                                   parameters, step, band: band)
    }
}

/// The checks every loss call goes through.
enum LossInputValidator {
    /// Validate, compute, check the result. Generic over the scalar only (the loss is an
    /// existential), so that it can be specialised: callers in other modules would otherwise run
    /// the scans over N×D inputs through unspecialised generic code.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func run<S: SimileFloat>(
        _ loss: any Loss, _ embeddings: Matrix<S>, _ labels: Labels, _ tuples: Tuples?, _ reference: Matrix<S>?,
        _ referenceLabels: Labels?, _ parameters: [String: Matrix<S>], _ step: UInt64, band: TripletBand? = nil
    ) throws -> LossOutput<S> {
        let input = try validate(loss: loss, embeddings: embeddings, labels: labels, tuples: tuples, reference: reference,
                                 referenceLabels: referenceLabels, parameters: parameters, step: step, band: band)
        let output = try loss.compute(input)
        try checkFinite(output, loss: loss.name)
        return output
    }

    static func validate<S: SimileFloat>(
        loss: any Loss, embeddings: Matrix<S>, labels: Labels, tuples: Tuples?, reference: Matrix<S>?,
        referenceLabels: Labels?, parameters: [String: Matrix<S>], step: UInt64, band: TripletBand? = nil
    ) throws -> LossInput<S> {
        let name = loss.name
        try BLAS.require()
        try checkBatch(embeddings, labels, what: "embeddings", labelsName: "labels", loss: loss)
        if let reference {
            guard loss is any ReferenceCapable else {
                throw SimileError.unsupported(
                    component: name,
                    message: "does not take reference embeddings; leave out reference_embeddings (or use a loss that takes them, e.g. contrastive)")
            }
            guard let referenceLabels else {
                throw SimileError.invalidInput("reference embeddings were given without reference labels; add reference_labels")
            }
            try checkBatch(reference, referenceLabels, what: "reference embeddings", labelsName: "reference labels", loss: loss)
            guard reference.columns == embeddings.columns else {
                throw SimileError.shapeMismatch(
                    "the reference embeddings have \(reference.columns) columns but the embeddings have \(embeddings.columns)")
            }
        } else if referenceLabels != nil {
            throw SimileError.invalidInput("reference labels were given without reference embeddings; add reference_embeddings")
        }
        let labels = try conform(labels, for: loss)
        let referenceLabels = try referenceLabels.map { try conform($0, for: loss) }
        var tripletOffsets: [Int]?
        if let tuples {
            guard loss is any TupleCapable else {
                throw SimileError.unsupported(component: name, message: "does not take mined tuples; leave out tuples")
            }
            tripletOffsets = try checkTuples(tuples, rows: embeddings.rows, referenceRows: reference?.rows ?? embeddings.rows,
                                             labels: labels.classes, referenceLabels: (referenceLabels ?? labels).classes,
                                             isSelf: reference == nil)
        }
        if band != nil, !(loss is any TripletBandCapable) {
            throw SimileError.unsupported(
                component: name,
                message: "cannot apply a miner's triplet band while it streams triplets; pass the mined triplets instead (tuples: miner.mine(...))")
        }
        let parameters = try checkParameters(parameters, loss: loss)
        return LossInput(embeddings: embeddings, labels: labels, reference: reference, referenceLabels: referenceLabels,
                         tuples: tuples, parameters: parameters, step: step, tripletOffsets: tripletOffsets, band: band)
    }

    private static func checkBatch<S: SimileFloat>(_ x: Matrix<S>, _ labels: Labels, what: String,
                                                 labelsName: String, loss: any Loss) throws {
        guard x.rows > 0 else {
            throw SimileError.empty("the batch is empty: \(what) have 0 rows; a loss needs at least one sample")
        }
        guard x.columns > 0 else {
            throw SimileError.empty("\(what) have 0 columns; each embedding needs at least one dimension")
        }
        guard labels.count == x.rows else {
            throw SimileError.shapeMismatch("\(what) have \(x.rows) rows but there are \(labels.count) \(labelsName); give one label per row")
        }
        try x.requireFinite(what)
        if case let .continuous(values) = labels { try values.requireFinite(labelsName) }
    }

    /// Class labels for class losses; continuous label vectors (a class label becomes a 1-vector) for the others.
    private static func conform(_ labels: Labels, for loss: any Loss) throws -> Labels {
        switch labels {
        case .classes(let classes) where loss is any ContinuousLabelLoss:
            return .continuous(Matrix(rows: classes.count, columns: 1, elements: classes.map(Double.init)))
        case .continuous where !(loss is any ContinuousLabelLoss):
            throw SimileError.unsupported(component: loss.name, message: "needs integer class labels, not continuous ones")
        default:
            return labels
        }
    }

    /// Checks mined tuples. For triplets grouped by anchor (anchors nondecreasing, as miners emit
    /// them) returns where each anchor's triplets start (N + 1 offsets), found in the same pass.
    ///
    /// Valid tuples take one parallel pass; only when it finds a problem does the ordered check
    /// run, so that the error names the first offending tuple.
    @discardableResult
    static func checkTuples(_ tuples: Tuples, rows: Int, referenceRows: Int, labels: [Int]?,
                            referenceLabels: [Int]?, isSelf: Bool) throws -> [Int]? {
        if case let .triplets(triplets) = tuples {
            let scan = TripletScan.run(triplets, rows: rows, referenceRows: referenceRows, labels: labels,
                                       referenceLabels: referenceLabels, isSelf: isSelf)
            if scan.valid { return scan.offsets }
        }
        try checkTuplesInOrder(tuples, rows: rows, referenceRows: referenceRows, labels: labels,
                               referenceLabels: referenceLabels, isSelf: isSelf)
        return nil
    }

    /// The check tuple by tuple, throwing at the first problem.
    static func checkTuplesInOrder(_ tuples: Tuples, rows: Int, referenceRows: Int, labels: [Int]?,
                                   referenceLabels: [Int]?, isSelf: Bool) throws {
        func check(_ kind: String, _ number: Int, _ anchor: Int, _ other: Int, positive: Bool) throws {
            guard (0..<rows).contains(anchor) else {
                throw SimileError.invalidTuples("\(kind) \(number) has anchor \(anchor), outside 0..<\(rows)")
            }
            guard (0..<referenceRows).contains(other) else {
                throw SimileError.invalidTuples("\(kind) \(number) has index \(other), outside 0..<\(referenceRows)")
            }
            if positive && isSelf && anchor == other {
                throw SimileError.invalidTuples("\(kind) \(number) pairs sample \(anchor) with itself")
            }
            if let labels, let referenceLabels {
                let same = labels[anchor] == referenceLabels[other]
                if positive && !same {
                    throw SimileError.invalidTuples(
                        "\(kind) \(number) = (\(anchor), \(other)) is a positive pair of different labels (\(labels[anchor]) and \(referenceLabels[other]))")
                }
                if !positive && same {
                    throw SimileError.invalidTuples(
                        "\(kind) \(number) = (\(anchor), \(other)) is a negative pair of the same label (\(labels[anchor]))")
                }
            }
        }
        switch tuples {
        case let .pairs(positive, negative):
            for (k, pair) in positive.enumerated() { try check("positive pair", k, pair.anchor, pair.other, positive: true) }
            for (k, pair) in negative.enumerated() { try check("negative pair", k, pair.anchor, pair.other, positive: false) }
        case let .triplets(triplets):
            for (k, t) in triplets.enumerated() {
                try check("triplet", k, t.anchor, t.positive, positive: true)
                try check("triplet", k, t.anchor, t.negative, positive: false)
            }
        }
    }

    private static func checkParameters<S: SimileFloat>(_ given: [String: Matrix<S>], loss: any Loss) throws
        -> [String: Matrix<S>] {
        guard let trainable = loss as? any Trainable else {
            if let name = given.keys.sorted().first {
                throw SimileError.unsupported(component: loss.name, message: "has no trainable parameter '\(name)'; it has none")
            }
            return [:]
        }
        let initial = trainable.initialParameters()
        var result: [String: Matrix<S>] = [:]
        for name in given.keys.sorted() where initial[name] == nil {
            throw SimileError.unsupported(
                component: loss.name,
                message: "has no trainable parameter '\(name)'; its parameters are \(initial.keys.sorted().joined(separator: ", "))")
        }
        for (name, start) in initial {
            if let value = given[name] {
                guard value.rows == start.rows, value.columns == start.columns else {
                    throw SimileError.shapeMismatch(
                        "parameter '\(name)' of '\(loss.name)' must be \(start.rows)×\(start.columns), but \(value.rows)×\(value.columns) was given")
                }
                try value.requireFinite("parameter '\(name)'")
                result[name] = value
            } else {
                result[name] = start.converted(to: S.self)
            }
        }
        return result
    }

    /// A loss must never hand back NaN or infinity silently.
    static func checkFinite<S: SimileFloat>(_ output: LossOutput<S>, loss: String) throws {
        guard output.value.isFinite else {
            throw SimileError.numericalFailure(component: loss, message: "produced a non-finite value (\(output.value)) from finite inputs; this is a bug, please report it with the input")
        }
        var matrices = [("gradient", output.gradient)]
        if let reference = output.referenceGradient { matrices.append(("reference gradient", reference)) }
        matrices += output.parameterGradients.sorted { $0.key < $1.key }.map { ("gradient of '\($0.key)'", $0.value) }
        for (what, matrix) in matrices {
            if let bad = matrix.firstNonFinite() {
                throw SimileError.numericalFailure(
                    component: loss,
                    message: "produced a non-finite \(what) (\(bad.value) at row \(bad.row), column \(bad.column)) from finite inputs; this is a bug, please report it with the input")
            }
        }
    }
}

/// One parallel pass over triplets: whether every one is valid (indices in range, no self-pair as
/// a positive, positives of the anchor's label and negatives of another, when there are class
/// labels), and, when the anchors are nondecreasing, where each anchor's triplets start.
enum TripletScan {
    struct Result {
        let valid: Bool
        /// N + 1 start offsets when the triplets are grouped by anchor, else nil.
        let offsets: [Int]?
    }

    private struct Chunk: Sendable {
        var valid = true
        var grouped = true
        var firstAnchor = -1
        var lastAnchor = -1
        /// (anchor, index of its first triplet in this chunk), flattened, while grouped.
        var starts: [Int] = []
    }

    static func run(_ triplets: [Triplet], rows: Int, referenceRows: Int, labels: [Int]?, referenceLabels: [Int]?,
                    isSelf: Bool) -> Result {
        guard !triplets.isEmpty else { return Result(valid: true, offsets: [Int](repeating: 0, count: rows + 1)) }
        let hasLabels = labels != nil && referenceLabels != nil
        let labels = labels ?? [], referenceLabels = referenceLabels ?? []
        let chunks: [Chunk] = triplets.withUnsafeBufferPointer { list in
            labels.withUnsafeBufferPointer { anchorLabels in
                referenceLabels.withUnsafeBufferPointer { otherLabels in
                    let base = SendableConstPointer(list.baseAddress!)
                    let own = anchorLabels.baseAddress.map { SendableConstPointer($0) }
                    let other = otherLabels.baseAddress.map { SendableConstPointer($0) }
                    return Parallel.map(list.count, grain: 1 << 14) { range in
                        scan(base.pointer, range, rows: rows, referenceRows: referenceRows,
                             labels: hasLabels ? own?.pointer : nil, referenceLabels: hasLabels ? other?.pointer : nil,
                             isSelf: isSelf)
                    }
                }
            }
        }
        guard chunks.allSatisfy(\.valid) else { return Result(valid: false, offsets: nil) }
        guard chunks.allSatisfy(\.grouped) else { return Result(valid: true, offsets: nil) }
        for i in 1..<chunks.count where chunks[i - 1].lastAnchor > chunks[i].firstAnchor {
            return Result(valid: true, offsets: nil)
        }
        // offsets[x] = the first triplet whose anchor is at least x.
        var offsets = [Int](repeating: triplets.count, count: rows + 1)
        var previous = -1
        for chunk in chunks {
            var k = 0
            while k < chunk.starts.count {
                let anchor = chunk.starts[k], start = chunk.starts[k + 1]
                if anchor > previous {
                    for x in (previous + 1)...anchor { offsets[x] = start }
                    previous = anchor
                }
                k += 2
            }
        }
        return Result(valid: true, offsets: offsets)
    }

    private static func scan(_ list: UnsafePointer<Triplet>, _ range: Range<Int>, rows: Int, referenceRows: Int,
                             labels: UnsafePointer<Int>?, referenceLabels: UnsafePointer<Int>?, isSelf: Bool) -> Chunk {
        var chunk = Chunk()
        let rowLimit = UInt(bitPattern: rows), referenceLimit = UInt(bitPattern: referenceRows)
        // The labels of the current anchor and positive are looked up once per run of them.
        var anchor = -1, positive = -1, label = 0
        for k in range {
            let t = list[k]
            let a = t.anchor, p = t.positive, n = t.negative
            guard UInt(bitPattern: a) < rowLimit, UInt(bitPattern: p) < referenceLimit,
                  UInt(bitPattern: n) < referenceLimit, !(isSelf && a == p) else {
                chunk.valid = false
                return chunk
            }
            if a != anchor {
                if a < anchor { chunk.grouped = false }
                if chunk.grouped {
                    chunk.starts.append(a)
                    chunk.starts.append(k)
                }
                if anchor < 0 { chunk.firstAnchor = a }
                anchor = a
                positive = -1
                if let labels { label = labels[a] }
            }
            if let referenceLabels {
                if p != positive {
                    guard referenceLabels[p] == label else {
                        chunk.valid = false
                        return chunk
                    }
                    positive = p
                }
                guard referenceLabels[n] != label else {
                    chunk.valid = false
                    return chunk
                }
            }
        }
        chunk.lastAnchor = anchor
        return chunk
    }
}
