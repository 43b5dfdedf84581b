/// Retrieval and clustering evaluation of embeddings: PML's AccuracyCalculator metrics
/// (precision@1, R-precision, MAP@R, MAP, MRR, NMI, AMI) plus recall@k, intra/inter distance
/// ratios, pair-distance spread and per-dimension variance. docs/metrics.md defines each one.
///
/// Two modes, as in PML:
/// - leave-one-out (`reference` nil): every embedding is a query against all the others; the
///   query's own row is removed from its ranking by index;
/// - query/reference: queries are ranked against a separate reference set. With
///   `options.referenceIncludesQuery`, the reference starts with the query rows and query i's
///   own row (reference i) is removed, as PML's `ref_includes_query` does.
///
/// Queries with no same-label reference are left out of the neighbour metrics (but not of the
/// clustering or the statistics); `queriesWithoutMatch` counts them.
public enum Evaluation {
    /// Evaluates query embeddings against reference embeddings (or against each other).
    /// - Throws: `SimileError` for empty sets, mismatched lengths or dimensions, NaN or
    ///   infinity, and invalid options.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func evaluate<S: SimileFloat>(query: Matrix<S>, queryLabels: [Int], reference: Matrix<S>? = nil,
                                               referenceLabels: [Int]? = nil,
                                               options: EvaluationOptions = EvaluationOptions()) throws -> EvaluationReport {
        try options.validate()
        try check(query: query, queryLabels: queryLabels, reference: reference, referenceLabels: referenceLabels,
                  options: options)
        try BLAS.require()
        var queries = S.self == Float.self ? query as! Matrix<Float> : query.converted(to: Float.self)
        var references = reference.map { S.self == Float.self ? $0 as! Matrix<Float> : $0.converted(to: Float.self) }
        if options.geometry == .cosine {
            queries = normalizedRows(queries)
            references = references.map(normalizedRows)
        }
        try requireRepresentable(queries, "query embeddings")
        if let references { try requireRepresentable(references, "reference embeddings") }

        let includesQuery = reference != nil && options.referenceIncludesQuery
        let labels = EvaluationLabels(query: queryLabels, reference: referenceLabels ?? queryLabels,
                                      selfReference: reference == nil || includesQuery)
        let mode = reference == nil ? "leave-one-out" : (includesQuery ? "reference-includes-query" : "query-reference")
        var report = EvaluationReport(mode: mode, distance: options.geometry.rawValue, queries: queries.rows,
                                      references: references?.rows ?? queries.rows, dimensions: queries.columns,
                                      queryClasses: labels.queryClassCount, averageOfAverages: options.averageOfAverages)
        let metrics = options.metrics
        let neighbourMetrics = metrics.intersection(EvaluationOptions.Metric.neighbourMetrics)
        if !neighbourMetrics.isEmpty || metrics.contains(.pairDistances) {
            try scan(queries, references, labels: labels, neighbourMetrics: neighbourMetrics,
                     pairDistances: metrics.contains(.pairDistances), options: options, report: &report)
        }
        if metrics.contains(.pairDistances) {
            let (l1, sampled) = PairDistanceStatistics.l1(
                query: queries, reference: references ?? queries, labels: labels,
                exactLimit: options.exactL1PairLimit, samples: options.l1SamplePairs, seed: options.seed)
            report.meanIntraDistanceL1 = l1.meanIntra
            report.meanInterDistanceL1 = l1.meanInter
            report.intraInterRatioL1 = l1.ratio
            report.pairDistanceStdL1 = l1.standardDeviation
            report.l1SampledPairs = sampled
        }
        if !metrics.intersection(EvaluationOptions.Metric.clusteringMetrics).isEmpty {
            let k = labels.queryClassCount
            let clustering = try KMeans.cluster(queries, k: k, restarts: options.clustering.restarts,
                                                iterations: options.clustering.iterations, seed: options.seed)
            let clusters = clustering.assignments.map(Int.init)
            if metrics.contains(.nmi) { report.nmi = MutualInformation.normalized(labels: queryLabels, clusters: clusters) }
            if metrics.contains(.ami) { report.ami = MutualInformation.adjusted(labels: queryLabels, clusters: clusters) }
            report.clustering = EvaluationReport.Clustering(
                clusters: k, restarts: options.clustering.restarts, iterations: clustering.iterations,
                converged: clustering.converged, inertia: clustering.inertia, seed: options.seed)
        }
        if metrics.contains(.dimensionVariance) {
            let variances = DimensionVariance.of(queries)
            report.dimensionVariance = variances
            report.meanDimensionVariance = variances.map { $0.reduce(0, +) / Double(max(1, $0.count)) }
            if variances == nil { report.warnings.append("dimension variance needs at least two query embeddings") }
        }
        return report
    }

    /// The neighbour metrics and the exact L2 pair statistics, in one blocked pass.
    private static func scan(_ queries: Matrix<Float>, _ references: Matrix<Float>?, labels: EvaluationLabels,
                             neighbourMetrics: Set<EvaluationOptions.Metric>, pairDistances: Bool,
                             options: EvaluationOptions, report: inout EvaluationReport) throws {
        let n = queries.rows
        let m = references?.rows ?? n
        let selfCount = labels.selfReference ? 1 : 0
        let available = m - selfCount
        let relevant = (0..<n).map { labels.relevantCount(query: $0) }
        let included = (0..<n).filter { relevant[$0] > 0 }
        report.queriesWithoutMatch = n - included.count

        // PML's k, and how deep each query's ranking must go.
        var depth = 0
        var searchAll = false
        var search = 0
        if !neighbourMetrics.isEmpty && !included.isEmpty {
            let maxBinCount = Set(labels.queryClass).map { c in
                labels.referenceStart[Int(c) + 1] - labels.referenceStart[Int(c)] - selfCount
            }.max() ?? 0
            switch options.k {
            case .all:
                depth = available
                searchAll = true
            case .maxBinCount:
                depth = maxBinCount
            case let .count(value):
                depth = min(value, available)
                if value > available {
                    report.warnings.append("k=\(value) is more than the \(available) references each query can rank; used k=\(available)")
                }
                let needsR = neighbourMetrics.intersection([.rPrecision, .mapAtR])
                if value < maxBinCount && !needsR.isEmpty {
                    report.warnings.append("k=\(value) is below the largest class size (\(maxBinCount)), so \(needsR.map(\.rawValue).sorted().joined(separator: " and ")) count only the first \(value) neighbours (use k=max-bin-count or all)")
                }
            }
            report.k = depth
            let recallDepth = neighbourMetrics.contains(.recallAtK) ? (options.recallAt.max() ?? 1) : 1
            search = min(available, max(depth, recallDepth))
            // Deep searches count the ranks of all relevant references instead (O(M) per query
            // whatever the depth; ranks beyond the depth are then ignored).
            switch options.ranking {
            case .automatic: searchAll = searchAll || search * 16 > available
            case .counting: searchAll = true
            case .selection: searchAll = false
            }
        } else if !neighbourMetrics.isEmpty {
            let reason = available <= 0 ? "there is no other embedding to rank"
                : labels.selfReference && references == nil ? "no two embeddings share a label"
                : "no query label occurs among the references"
            report.warnings.append("\(reason); the neighbour metrics are undefined")
        }
        let runNeighbours = depth > 0
        var results = [RetrievalMetrics](repeating: RetrievalMetrics(), count: n)
        let pairMoments: DistanceMoments

        // Leave-one-out without a top-k selection: half the distance matrix serves every query.
        if references == nil && options.symmetricPass && (runNeighbours ? searchAll : pairDistances)
            && (!runNeighbours || SymmetricScan.stateBytes(labels) <= SymmetricScan.stateBudgetBytes) {
            let output = SymmetricScan.run(queries, labels: labels, ranking: runNeighbours, pairStatistics: pairDistances,
                                           tileRows: options.tileRows ?? SymmetricScan.defaultTileRows)
            if runNeighbours {
                output.ranks.withUnsafeBufferPointer { ranks in
                    for i in included {
                        let start = output.rankStart[i]
                        results[i] = RetrievalMetrics(ranks: UnsafeBufferPointer(rebasing: ranks[start..<(start + relevant[i])]),
                                                      relevant: relevant[i], depth: depth)
                    }
                }
            }
            pairMoments = output.moments
        } else {
            pairMoments = streamingScan(queries, references, labels: labels, runNeighbours: runNeighbours,
                                        searchAll: searchAll, search: search, depth: depth,
                                        pairDistances: pairDistances, options: options, results: &results)
        }
        if runNeighbours {
            let classOf = { (i: Int) in Int(labels.queryClass[i]) }
            let perClass = options.averageOfAverages
            func average(_ value: (RetrievalMetrics) -> Double) -> Double? {
                RetrievalMetrics.average({ value(results[$0]) }, included: included, classOf: classOf, perClass: perClass)
            }
            if neighbourMetrics.contains(.precisionAt1) { report.precisionAt1 = average(\.precisionAt1) }
            if neighbourMetrics.contains(.rPrecision) { report.rPrecision = average(\.rPrecision) }
            if neighbourMetrics.contains(.mapAtR) { report.mapAtR = average(\.mapAtR) }
            if neighbourMetrics.contains(.map) { report.map = average(\.map) }
            if neighbourMetrics.contains(.mrr) { report.mrr = average(\.reciprocalRank) }
            if neighbourMetrics.contains(.recallAtK) {
                var recall: [Int: Double] = [:]
                for k in Set(options.recallAt) {
                    recall[k] = average { $0.firstRank >= 1 && Int($0.firstRank) <= k ? 1 : 0 }
                }
                report.recallAtK = recall
            }
        }
        if pairDistances {
            let l2 = PairDistanceStatistics(exact: pairMoments)
            report.meanIntraDistanceL2 = l2.meanIntra
            report.meanInterDistanceL2 = l2.meanInter
            report.intraInterRatioL2 = l2.ratio
            report.pairDistanceStdL2 = l2.standardDeviation
            if l2.meanIntra == nil { report.warnings.append("no two evaluated embeddings share a label; the intra/inter ratios are undefined") }
            if l2.meanInter == nil { report.warnings.append("every evaluated pair shares a label; the intra/inter ratios are undefined") }
        }
    }

    /// The neighbour pass one block of query rows at a time against every reference: for
    /// query/reference evaluation, top-k selection, and state too large for `SymmetricScan`.
    /// Fills `results` for the queries with a match and returns the moments of the pair distances.
    private static func streamingScan(_ queries: Matrix<Float>, _ references: Matrix<Float>?, labels: EvaluationLabels,
                                      runNeighbours: Bool, searchAll: Bool, search: Int, depth: Int, pairDistances: Bool,
                                      options: EvaluationOptions, results: inout [RetrievalMetrics]) -> DistanceMoments {
        let n = queries.rows
        let m = references?.rows ?? n
        let scan = DistanceScan(query: queries, reference: references, blockRows: options.blockRows)
        var moments = [DistanceMoments](repeating: DistanceMoments(), count: n)
        let largestClass = (0..<labels.classCount).map { labels.referenceStart[$0 + 1] - labels.referenceStart[$0] }.max() ?? 0
        let selfReference = labels.selfReference
        let searchDepth = search, pmlDepth = depth, all = searchAll
        results.withUnsafeMutableBufferPointer { resultBuffer in
            moments.withUnsafeMutableBufferPointer { momentBuffer in
                labels.referenceRows.withUnsafeBufferPointer { classRows in
                    labels.referenceClass.withUnsafeBufferPointer { referenceClass in
                        let resultOut = SendablePointer(resultBuffer.baseAddress!)
                        let momentOut = SendablePointer(momentBuffer.baseAddress!)
                        let allClassRows = SendableConstPointer(classRows.baseAddress!)
                        let classOf = SendableConstPointer(referenceClass.baseAddress!)
                        scan.forEachChunk { range, rows in
                            let relevantRows = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, largestClass))
                            let ranks = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, largestClass))
                            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, searchDepth))
                            let ranker = RelevantRanks(capacity: all ? largestClass : 1)
                            let selector = NearestSelection.Selector(k: all ? 0 : searchDepth, rowLength: m)
                            defer {
                                relevantRows.deallocate()
                                ranks.deallocate()
                                keys.deallocate()
                            }
                            for i in range {
                                let row = rows + (i - range.lowerBound) * m
                                let excluded = selfReference ? i : -1
                                let c = Int(labels.queryClass[i])
                                var r = 0
                                for s in labels.referenceStart[c]..<labels.referenceStart[c + 1] {
                                    let p = allClassRows.pointer[s]
                                    if Int(p) == excluded { continue }
                                    relevantRows[r] = p
                                    r += 1
                                }
                                let relevant = UnsafeBufferPointer(start: relevantRows, count: r)
                                if pairDistances {
                                    momentOut.pointer[i] = DistanceMoments.row(row, count: m, excluding: excluded,
                                                                               relevant: relevant, squared: true)
                                }
                                guard runNeighbours, r > 0 else { continue }
                                var found = 0
                                if all {
                                    found = ranker.ranks(row, count: m, relevant: relevant, excluding: excluded, into: ranks)
                                } else {
                                    let selected = selector.smallest(row, count: m, excluding: excluded, into: keys)
                                    let own = Int32(c)
                                    for t in 0..<selected where classOf.pointer[NearestSelection.index(keys[t])] == own {
                                        ranks[found] = Int32(t + 1)
                                        found += 1
                                    }
                                }
                                resultOut.pointer[i] = RetrievalMetrics(
                                    ranks: UnsafeBufferPointer(start: ranks, count: found), relevant: r, depth: pmlDepth)
                            }
                        }
                    }
                }
            }
        }

        var total = DistanceMoments()
        for row in moments { total.merge(row) }
        return total
    }

    /// Rejects inputs that cannot be evaluated, with the reason.
    private static func check<S: SimileFloat>(query: Matrix<S>, queryLabels: [Int], reference: Matrix<S>?,
                                              referenceLabels: [Int]?, options: EvaluationOptions) throws {
        guard query.rows > 0 else { throw SimileError.empty("there are no query embeddings to evaluate") }
        guard query.columns > 0 else { throw SimileError.empty("the query embeddings have no dimensions") }
        guard queryLabels.count == query.rows else {
            throw SimileError.shapeMismatch("there are \(query.rows) query embeddings but \(queryLabels.count) query labels; give one label per embedding")
        }
        try query.requireFinite(reference == nil ? "embeddings" : "query embeddings")
        switch (reference, referenceLabels) {
        case (nil, nil):
            break
        case (nil, _?):
            throw SimileError.invalidInput("reference labels were given without reference embeddings")
        case (_?, nil):
            throw SimileError.invalidInput("reference embeddings were given without reference labels")
        case let (reference?, referenceLabels?):
            guard reference.rows > 0 else { throw SimileError.empty("there are no reference embeddings") }
            guard reference.columns == query.columns else {
                throw SimileError.shapeMismatch("query embeddings have \(query.columns) dimensions but reference embeddings have \(reference.columns); both need the same")
            }
            guard referenceLabels.count == reference.rows else {
                throw SimileError.shapeMismatch("there are \(reference.rows) reference embeddings but \(referenceLabels.count) reference labels; give one label per embedding")
            }
            try reference.requireFinite("reference embeddings")
            if options.referenceIncludesQuery {
                guard reference.rows >= query.rows else {
                    throw SimileError.shapeMismatch("the reference must start with the \(query.rows) queries (referenceIncludesQuery) but has only \(reference.rows) rows")
                }
                let d = query.columns
                for i in 0..<query.rows
                where queryLabels[i] != referenceLabels[i]
                    || query.elements[(i * d)..<((i + 1) * d)] != reference.elements[(i * d)..<((i + 1) * d)] {
                    throw SimileError.invalidInput("reference row \(i) differs from query row \(i) (embedding or label); with referenceIncludesQuery the reference must start with the queries, in order")
                }
            }
        }
    }

    /// Rows divided by their Euclidean norm (at least 1e-12, as `torch.nn.functional.normalize`).
    static func normalizedRows(_ x: Matrix<Float>) -> Matrix<Float> {
        var result = x
        let norms = DistanceScan.squaredNorms(x)
        result.scaleRows { 1 / max(Double(norms[$0]).squareRoot(), 1e-12) }
        return result
    }

    /// Squared norms must stay finite in Float for the distances to be.
    private static func requireRepresentable(_ x: Matrix<Float>, _ name: String) throws {
        let limit = Float.greatestFiniteMagnitude / 8
        for (i, norm) in DistanceScan.squaredNorms(x).enumerated() where !(norm < limit) {
            throw SimileError.invalidInput("\(name) row \(i) is too large (squared norm \(norm)); its distances would overflow in single precision — rescale the embeddings")
        }
    }
}
