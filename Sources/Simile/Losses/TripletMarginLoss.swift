import RealModule

/// The triplet margin loss: each anchor's positive should be closer than its negative by a margin.
public struct TripletMarginLoss: Loss, ReferenceCapable, TripletBandCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "triplet-margin", aliases: ["triplet"],
        summary: "Each triplet (a, p, n): the positive should be closer than the negative by a margin.",
        formula: """
            ℓ(a,p,n) = [m(d(a,p), d(a,n)) + margin]₊   (softplus instead of [·]₊ when smooth-loss)
            swap: d(a,n) ← the smaller of d(a,n), d(p,n)
            L = reduce over triplets (all same-label p and other-label n of every anchor a, or the mined ones)
            """,
        discussion: """
            All triplets are streamed per anchor (never listed), so N = 4096 runs in O(N²) memory. \
            With triplets-per-anchor = k, k random triplets per anchor are drawn from `seed` and the \
            call's step. swap needs positive–negative distances, so it is not available with reference embeddings. \
            Given a miner's triplet band (`triplet-margin`, `semi-hard`), it applies the band while it \
            streams every triplet, with the same result as the mined list (see docs/mining.md).
            """,
        reference: "Weinberger & Saul 2009; Schroff et al. (FaceNet) 2015; PML TripletMarginLoss",
        parameters: [
            .double("margin", 0.05, doc: "the required gap between negative and positive distance"),
            .bool("swap", false, doc: "use the positive–negative distance when it violates the margin more"),
            .bool("smooth-loss", false, doc: "log(1 + exp(·)) instead of the hinge"),
            ParameterSpec("triplets-per-anchor", .intOrChoice(["all"]), default: .value(.choice("all")),
                          range: .atLeast(1), doc: "all triplets, or this many random ones per anchor"),
            .int("seed", 0, range: .atLeast(0), doc: "seed for triplets-per-anchor sampling"),
            .distance(default: "lp"),
            .reducer(default: "avg-non-zero"),
        ],
        examples: [[], ["margin=0.2", "swap=true"], ["smooth-loss=true", "distance=cosine"], ["triplets-per-anchor=5"]])

    public let margin: Double
    public let swap: Bool
    public let smooth: Bool
    let selection: TripletIndex.Selection
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        margin = try arguments.double("margin")
        swap = try arguments.bool("swap")
        smooth = try arguments.bool("smooth-loss")
        selection = try TripletIndex.Selection(arguments)
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    /// The loss of one triplet and dℓ/dv, with v = m(d_ap, d_an) + margin.
    @inline(__always)
    static func element(_ v: Double, smooth: Bool) -> (value: Double, slope: Double) {
        if smooth {
            let value = Elementwise.softplus(v)
            return (value, 1 / (1 + Double.exp(-v)))
        }
        return v > 0 ? (v, 1) : (0, 0)
    }

    /// The hinge without swap over product-form triplets, as tight loops: for each positive p of
    /// anchor a, one branch-free pass over a's negatives (their distances gathered first), with
    /// the gradient for the negatives accumulated per negative and written once. Returns false
    /// for explicit triplets. `scratch` needs 4·columns Int32s followed by 2·columns scalars.
    @inline(__always)
    static func hingeProduct<S: SimileFloat>(
        anchor a: Int, triplets: TripletIndex, row: UnsafePointer<S>, outRow: UnsafeMutablePointer<S>, columns m: Int,
        scratch: UnsafeMutablePointer<Int32>, sign: S, margin: S, gate: ElementGate, bag: inout Bag
    ) -> Bool {
        let low = S(Swift.max(gate.low, -Double(S.greatestFiniteMagnitude)))
        let high = S(Swift.min(gate.high, Double(S.greatestFiniteMagnitude)))
        let distances = UnsafeMutableRawPointer(scratch + 4 * m).bindMemory(to: S.self, capacity: m)
        return triplets.withProduct(anchor: a, columns: m, scratch: scratch) { positives, positiveCounts, negatives, negativeCounts in
            let count = negatives.count
            guard count > 0, !positives.isEmpty else { return }
            // Per negative: its distance and its accumulated gradient weight (in the weights slot).
            let weights = UnsafeMutableRawPointer(scratch + 4 * m).bindMemory(to: S.self, capacity: 2 * m) + m
            for k in 0..<count {
                distances[k] = row[Int(negatives[k])]
                weights[k] = 0
            }
            var total = 0
            for (index, p) in positives.enumerated() {
                let mp = S(positiveCounts[index])
                let c = sign * row[Int(p)] + margin
                var sum: S = 0, included: S = 0, active: S = 0
                for k in 0..<count {
                    let w = S(negativeCounts[k]) * mp
                    let v = c - sign * distances[k]
                    let value = Swift.max(v, 0)
                    let inside: S = value > low && value < high ? w : 0
                    let slope: S = v > 0 ? inside : 0
                    sum = Relaxed.sum(sum, value * inside)
                    included = Relaxed.sum(included, inside)
                    active = Relaxed.sum(active, slope)
                    weights[k] += slope
                }
                bag.sum += Double(sum)
                bag.count += Int(Double(included).rounded())
                outRow[Int(p)] += sign * active
                total += Int(positiveCounts[index])
            }
            var negativeTotal = 0
            for k in 0..<count {
                outRow[Int(negatives[k])] -= sign * weights[k]
                negativeTotal += Int(negativeCounts[k])
            }
            bag.total += total * negativeTotal
        }
    }

    /// The hinge without swap over the triplets of a band, for product-form triplets (every
    /// positive × negative of anchor a, each once): a triplet is kept when the band holds its
    /// margin on `bandRow`, tested in S as the miner tests it; the hinge is taken on `row` in Double
    /// and summed in the miner's order (positive, then negative), as `hingeExplicit` does on the
    /// mined list. A triplet outside the band adds +0 to the sum and 0 to the gradient, which
    /// changes neither, so value and gradient are bit for bit those of the list. `scratch` needs
    /// 4·columns Int32s followed by 3·columns scalars.
    @inline(__always)
    static func hingeBand<S: SimileFloat>(
        anchor a: Int, triplets: TripletIndex, row: UnsafePointer<S>, bandRow: UnsafePointer<S>,
        outRow: UnsafeMutablePointer<S>, columns m: Int, scratch: UnsafeMutablePointer<Int32>, sign: Double,
        margin: Double, gate: ElementGate, band: TripletBand.Test<S>
    ) -> Bag {
        let values = UnsafeMutableRawPointer(scratch + 4 * m).bindMemory(to: S.self, capacity: 3 * m)
        let bandValues = values + m, weights = values + 2 * m
        var bag = Bag()
        _ = triplets.withProduct(anchor: a, columns: m, scratch: scratch) { positives, _, negatives, _ in
            let count = negatives.count
            guard count > 0, !positives.isEmpty else { return }
            for k in 0..<count {
                let j = Int(negatives[k])
                values[k] = row[j]
                bandValues[k] = bandRow[j]
                weights[k] = 0
            }
            let low = gate.low, high = gate.high
            let g = S(sign)
            var sum = 0.0, included = 0, kept = 0
            for p in positives {
                let p = Int(p)
                let dap = Double(row[p]), bap = bandRow[p]
                var active = 0
                for k in 0..<count {
                    let inBand = band.keeps(negative: bandValues[k], positive: bap)
                    let (value, positive, gated) = hinge(dap, Double(values[k]), sign: sign, margin: margin, low: low,
                                                         high: high)
                    let inside = gated & inBand
                    sum += value * Double(inside)
                    included &+= inside
                    kept &+= inBand
                    let hit = inside & positive
                    active &+= hit
                    weights[k] += S(hit)
                }
                if active > 0 { outRow[p] += S(active) * g }
            }
            for k in 0..<count { outRow[Int(negatives[k])] -= weights[k] * g }
            bag = Bag(sum: sum, count: included, total: kept)
        }
        return bag
    }

    /// All ones for 1, zero for 0.
    @inline(__always)
    private static func mask(_ bit: Int) -> UInt64 { UInt64(bitPattern: Int64(0 &- bit)) }

    /// One triplet's hinge, branch-free (x86 lowers a select between doubles to a branch, and
    /// whether a mined triplet is active is a coin flip): v = sign·(d_ap − d_an) + margin, its
    /// value [v]₊ (v times 0 or 1: finite and not negative, so v or +0), whether v > 0, and
    /// whether the value passes the reducer's gate (low, high).
    @inline(__always)
    static func hinge(_ dap: Double, _ dan: Double, sign: Double, margin: Double, low: Double, high: Double)
        -> (value: Double, positive: Int, inside: Int) {
        let v = sign * (dap - dan) + margin
        let positive = v > 0 ? 1 : 0
        let value = Double(bitPattern: v.bitPattern & mask(positive))
        return (value, positive, (value > low ? 1 : 0) & (value < high ? 1 : 0))
    }

    /// The hinge without swap over one anchor's explicit (mined or sampled) triplets, in their
    /// order, as a tight loop: each run of triplets sharing a positive reads d(a,p) once, and the
    /// positive's gradient is written once per run. Gives exactly what the per-triplet loop gives:
    /// the same Double values summed in the same order, and gradient entries that are sums of ±1
    /// (exact in either order).
    @inline(__always)
    static func hingeExplicit<S: SimileFloat, L: AnchorTriplets>(
        _ list: L, row: UnsafePointer<S>, outRow: UnsafeMutablePointer<S>, sign: Double, margin: Double,
        gate: ElementGate
    ) -> Bag {
        let count = list.count
        let low = gate.low, high = gate.high
        let g = S(sign)
        // Branch-free (`hinge`): a gated value is multiplied by 0 or 1, a gradient entry gets 0
        // or 1 times ±1.
        var sum = 0.0, included = 0
        var k = 0
        while k < count {
            let p = list.positive(k)
            let dap = Double(row[p])
            var active = 0
            repeat {
                let neg = list.negative(k)
                let (value, positive, inside) = hinge(dap, Double(row[neg]), sign: sign, margin: margin, low: low, high: high)
                // Adding +0 leaves a sum unchanged, and so does subtracting 0 from an integer-valued
                // gradient entry (never −0: it starts at +0 and only ever gains ±1 or ±0).
                sum += value * Double(inside)
                included &+= inside
                let hit = inside & positive
                active &+= hit
                outRow[neg] -= S(hit) * g
                k &+= 1
            } while k < count && list.positive(k) == p
            if active > 0 { outRow[p] += S(active) * g }
        }
        return Bag(sum: sum, count: included, total: count)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        if swap && !input.isSelfComparison {
            throw SimileError.unsupported(
                component: name, message: "cannot swap with reference embeddings (it needs positive–negative distances); use swap=false")
        }
        // A band takes every triplet of the labels and keeps those it holds (`hingeBand`).
        let triplets = try TripletIndex(input, loss: name, selection: input.band == nil ? selection : .all)
        guard !triplets.isEmpty else { return .zero(for: input, subLosses: ["loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let distance = self.distance, margin = self.margin, smooth = self.smooth, swap = self.swap
        let gate = reducer.gate
        let sign = distance.sign
        let n = matrix.rows, m = matrix.columns
        // The band is tested on the miner's matrix: this loss's own when the distances agree.
        let bandMatrix = try input.band.map { band in
            band.distance.isSame(as: distance) ? matrix.values : try band.distance.forward(input.embeddings, input.reference).values
        } ?? matrix.values
        let band = input.band?.test(S.self)

        var upstream = Matrix<S>(rows: n, columns: m)
        let bags: [Bag] = matrix.values.elements.withUnsafeBufferPointer { values in
            bandMatrix.elements.withUnsafeBufferPointer { bandBuffer in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let mat = SendableConstPointer(values.baseAddress!)
                let bandValues = SendableConstPointer(bandBuffer.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                let chunks = Parallel.map(n, grain: 8) { range -> [Bag] in
                    // 4·m Int32s for the index lists, then 3·m scalars for hingeProduct and hingeBand.
                    let bytes = (4 * MemoryLayout<Int32>.stride + 3 * MemoryLayout<S>.stride) * max(m, 1)
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                        .bindMemory(to: Int32.self, capacity: bytes / 4)
                    defer { scratch.deallocate() }
                    return range.map { a in
                        var bag = Bag()
                        let row = mat.pointer + a * m
                        let outRow = out.pointer + a * m
                        let bandRow = bandValues.pointer + a * m
                        if let band, !swap && !smooth {
                            return Self.hingeBand(anchor: a, triplets: triplets, row: row, bandRow: bandRow, outRow: outRow,
                                                  columns: m, scratch: scratch, sign: sign, margin: margin, gate: gate,
                                                  band: band)
                        }
                        if band == nil, !swap && !smooth,
                           Self.hingeProduct(anchor: a, triplets: triplets, row: row, outRow: outRow, columns: m,
                                             scratch: scratch, sign: S(sign), margin: S(margin), gate: gate, bag: &bag) {
                            return bag
                        }
                        if !swap && !smooth, let explicit = triplets.withExplicit(
                            anchor: a,
                            grouped: { list in
                                Self.hingeExplicit(GroupedTriplets(list), row: row, outRow: outRow, sign: sign,
                                                   margin: margin, gate: gate)
                            },
                            split: { positives, negatives in
                                Self.hingeExplicit(SplitTriplets(positives: positives, negatives: negatives), row: row,
                                                   outRow: outRow, sign: sign, margin: margin, gate: gate)
                            }) {
                            return explicit
                        }
                        triplets.forEach(anchor: a, columns: m, scratch: scratch) { p, neg, multiplicity in
                            if let band, band.keeps(negative: bandRow[neg], positive: bandRow[p]) == 0 { return }
                            let dap = Double(row[p])
                            var dan = Double(row[neg])
                            if swap {
                                let dpn = Double(mat.pointer[p * m + neg])
                                dan = sign > 0 ? Swift.min(dan, dpn) : Swift.max(dan, dpn)
                            }
                            let (value, slope) = Self.element(sign * (dap - dan) + margin, smooth: smooth)
                            bag.add(value, gate: gate, multiplicity: multiplicity)
                            // Without swap every write stays in row a, so the unscaled gradient is
                            // accumulated now and scaled by the reducer afterwards.
                            if !swap, slope != 0, gate.includes(value) {
                                let g = S(slope * sign * Double(multiplicity))
                                outRow[p] += g
                                outRow[neg] -= g
                            }
                        }
                        return bag
                    }
                }
                return chunks.flatMap { $0 }
            }
            }
        }
        let tripletCount = bags.reduce(0) { $0 + $1.total }
        // An empty band is an empty mined list, which gives zero.
        if input.band != nil && tripletCount == 0 { return .zero(for: input, subLosses: ["loss"]) }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .triplet,
                                                labels: input.labels)
        if swap {
            // Second pass, serial: swapped terms write into the positive's row.
            upstream = Matrix(rows: n, columns: m)
            let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * max(m, 1))
            defer { scratch.deallocate() }
            for a in 0..<n {
                triplets.forEach(anchor: a, columns: m, scratch: scratch) { p, neg, multiplicity in
                    if let band, band.keeps(negative: bandMatrix[a, neg], positive: bandMatrix[a, p]) == 0 { return }
                    let dap = Double(matrix.values[a, p])
                    let dan = Double(matrix.values[a, neg]), dpn = Double(matrix.values[p, neg])
                    let usePN = sign > 0 ? dpn < dan : dpn > dan
                    let (value, slope) = Self.element(sign * (dap - (usePN ? dpn : dan)) + margin, smooth: smooth)
                    let weight = reduction.weight(value, group: a) * slope * sign * Double(multiplicity)
                    guard weight != 0 else { return }
                    upstream[a, p] += S(weight)
                    if usePN { upstream[p, neg] -= S(weight) } else { upstream[a, neg] -= S(weight) }
                }
            }
        } else {
            upstream.scaleRows { reduction.scale(group: $0) }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)],
                                   stats: ["triplets": Double(tripletCount)])
    }
}
