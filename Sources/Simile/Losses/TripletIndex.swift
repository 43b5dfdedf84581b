/// The triplets (a, p, n) of a batch, grouped by anchor, without ever listing all of them.
///
/// * No tuples, `all`: every positive × every negative of each anchor (PML's
///   `get_all_triplets_indices`), iterated as a product, so memory is O(N·M), not O(N³).
/// * Pair tuples: every mined positive pair (a, p) × every mined negative pair (a, n) of the same
///   anchor (PML's pairs → triplets conversion), again as a product with multiplicities.
/// * Triplet tuples, or `count` triplets sampled per anchor: an explicit list per anchor. Mined
///   triplets come grouped by anchor; the input checks then find each anchor's group in the same
///   pass, and the list is read in place (no copy). Other triplets are bucketed by anchor.
struct TripletIndex: Sendable {
    let anchors: Int
    private let storage: Storage

    private enum Storage: Sendable {
        case product(PairIndex)
        case explicit(offsets: [Int], positives: [Int32], negatives: [Int32])
        /// The caller's triplets, already grouped by anchor: anchor a's are `offsets[a]..<offsets[a + 1]`.
        case grouped(triplets: [Triplet], offsets: [Int])
    }

    /// How a loss without tuples chooses triplets.
    enum Selection: Sendable, Equatable {
        case all
        /// `count` random triplets per anchor (PML's `triplets_per_anchor=int`), seeded.
        case sampled(count: Int, seed: UInt64)

        /// From a loss's `triplets-per-anchor` and `seed` parameters.
        init(_ arguments: Arguments) throws {
            switch try arguments.intOrChoice("triplets-per-anchor") {
            case let .int(count): self = .sampled(count: count, seed: UInt64(try arguments.int("seed")))
            case .choice: self = .all
            }
        }
    }

    init<S: SimileFloat>(_ input: LossInput<S>, loss: String, selection: Selection) throws {
        let labels = try input.classLabels(loss)
        let reference = try input.referenceClassLabels(loss)
        anchors = labels.count
        switch (input.tuples, selection) {
        case let (.triplets(triplets)?, _):
            if let offsets = input.tripletOffsets, offsets.count == anchors + 1, offsets.last == triplets.count {
                storage = .grouped(triplets: triplets, offsets: offsets)
            } else {
                storage = TripletIndex.explicit(triplets, anchors: anchors)
            }
        case (.pairs?, _), (nil, .all):
            storage = .product(PairIndex(labels: labels, referenceLabels: reference, isSelf: input.isSelfComparison,
                                         tuples: input.tuples))
        case let (nil, .sampled(count, seed)):
            var generator = SeededGenerator(seed: seed, stream: input.step)
            storage = TripletIndex.explicit(
                TripletIndex.sample(labels: labels, reference: reference, isSelf: input.isSelfComparison,
                                    perAnchor: count, using: &generator),
                anchors: anchors)
        }
    }

    private static func explicit(_ triplets: [Triplet], anchors: Int) -> Storage {
        var offsets = [Int](repeating: 0, count: anchors + 1)
        for t in triplets { offsets[t.anchor + 1] += 1 }
        for a in 0..<anchors { offsets[a + 1] += offsets[a] }
        var fill = offsets
        var positives = [Int32](repeating: 0, count: triplets.count)
        var negatives = positives
        for t in triplets {
            positives[fill[t.anchor]] = Int32(t.positive)
            negatives[fill[t.anchor]] = Int32(t.negative)
            fill[t.anchor] += 1
        }
        return .explicit(offsets: offsets, positives: positives, negatives: negatives)
    }

    /// PML's random triplets: for each anchor with a positive and a negative, `perAnchor` triplets
    /// with a uniformly drawn positive and a uniformly drawn negative.
    static func sample(labels: [Int], reference: [Int], isSelf: Bool, perAnchor: Int,
                       using generator: inout SeededGenerator) -> [Triplet] {
        var byLabel: [Int: [Int]] = [:]
        for (j, label) in reference.enumerated() { byLabel[label, default: []].append(j) }
        var triplets: [Triplet] = []
        for (a, label) in labels.enumerated() {
            let positives = (byLabel[label] ?? []).filter { !(isSelf && $0 == a) }
            let negativeCount = reference.count - (byLabel[label]?.count ?? 0)
            guard !positives.isEmpty, negativeCount > 0 else { continue }
            for _ in 0..<perAnchor {
                let p = positives[Int.random(in: 0..<positives.count, using: &generator)]
                var n: Int
                repeat { n = Int.random(in: 0..<reference.count, using: &generator) } while reference[n] == label
                triplets.append(Triplet(a, p, n))
            }
        }
        return triplets
    }

    /// Whether there is any triplet at all.
    var isEmpty: Bool {
        switch storage {
        case let .product(pairs):
            return !(0..<anchors).contains { pairs.positiveCount($0) > 0 && pairs.negativeCount($0) > 0 }
        case let .explicit(offsets, _, _):
            return offsets.last == 0
        case let .grouped(triplets, _):
            return triplets.isEmpty
        }
    }

    /// Calls `body(p, n, multiplicity)` for every triplet of anchor a. `scratch` needs room for
    /// 4·`columns` Int32s.
    @inline(__always)
    func forEach(anchor a: Int, columns: Int, scratch: UnsafeMutablePointer<Int32>,
                 _ body: (Int, Int, Int) -> Void) {
        switch storage {
        case let .product(pairs):
            let pos = scratch, neg = scratch + columns
            pairs.fill(a, positives: pos, negatives: neg)
            // Compact the negatives once so that the inner loop runs over them only.
            let negList = scratch + 2 * columns, negMult = scratch + 3 * columns
            var negatives = 0
            for j in 0..<columns where neg[j] > 0 {
                negList[negatives] = Int32(j)
                negMult[negatives] = neg[j]
                negatives += 1
            }
            guard negatives > 0 else { return }
            for p in 0..<columns where pos[p] > 0 {
                let mp = Int(pos[p])
                for k in 0..<negatives { body(p, Int(negList[k]), mp * Int(negMult[k])) }
            }
        case let .explicit(offsets, positives, negatives):
            for k in offsets[a]..<offsets[a + 1] { body(Int(positives[k]), Int(negatives[k]), 1) }
        case let .grouped(triplets, offsets):
            triplets.withUnsafeBufferPointer { list in
                for k in offsets[a]..<offsets[a + 1] { body(list[k].positive, list[k].negative, 1) }
            }
        }
    }

    /// For explicit triplets (mined or sampled): anchor a's triplets in their given order, passed
    /// to `grouped` (the caller's list, read in place) or `split` (bucketed positives and
    /// negatives), so that a loss can run a tight loop over them. Returns nil (and calls neither)
    /// for product-form triplets.
    @inline(__always)
    func withExplicit<R>(anchor a: Int, grouped: (UnsafeBufferPointer<Triplet>) -> R,
                         split: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int32>) -> R) -> R? {
        switch storage {
        case .product:
            return nil
        case let .explicit(offsets, positives, negatives):
            let start = offsets[a], count = offsets[a + 1] - offsets[a]
            return positives.withUnsafeBufferPointer { p in
                negatives.withUnsafeBufferPointer { n in
                    split(UnsafeBufferPointer(rebasing: p[start..<start + count]),
                          UnsafeBufferPointer(rebasing: n[start..<start + count]))
                }
            }
        case let .grouped(triplets, offsets):
            return triplets.withUnsafeBufferPointer { list in
                grouped(UnsafeBufferPointer(rebasing: list[offsets[a]..<offsets[a + 1]]))
            }
        }
    }

    /// For product-form triplets (all, or from mined pairs): anchor a's positives and negatives
    /// as compact lists with multiplicities, so that a loss can run a tight loop over the
    /// negatives for each positive. Returns false (and calls nothing) for explicit triplets.
    /// `scratch` needs room for 4·`columns` Int32s.
    @inline(__always)
    func withProduct(anchor a: Int, columns: Int, scratch: UnsafeMutablePointer<Int32>,
                     _ body: (_ positives: UnsafeBufferPointer<Int32>, _ positiveMultiplicities: UnsafeBufferPointer<Int32>,
                              _ negatives: UnsafeBufferPointer<Int32>, _ negativeMultiplicities: UnsafeBufferPointer<Int32>) -> Void)
        -> Bool {
        guard case let .product(pairs) = storage else { return false }
        let pos = scratch, neg = scratch + columns
        pairs.fill(a, positives: pos, negatives: neg)
        // Compact in place: list k of each kind goes to the front, multiplicities after it.
        let posList = scratch + 2 * columns, negList = scratch + 3 * columns
        var positives = 0, negatives = 0
        for j in 0..<columns {
            if pos[j] > 0 {
                posList[positives] = Int32(j)
                positives += 1
            }
        }
        for j in 0..<columns {
            if neg[j] > 0 {
                negList[negatives] = Int32(j)
                negatives += 1
            }
        }
        // Multiplicities, gathered into the (now free) first half.
        let posMult = scratch, negMult = scratch + columns
        for k in 0..<positives { posMult[k] = pos[Int(posList[k])] }
        for k in 0..<negatives { negMult[k] = neg[Int(negList[k])] }
        body(UnsafeBufferPointer(start: posList, count: positives), UnsafeBufferPointer(start: posMult, count: positives),
             UnsafeBufferPointer(start: negList, count: negatives), UnsafeBufferPointer(start: negMult, count: negatives))
        return true
    }
}

/// One anchor's explicit triplets as positive and negative at position k, for loops generic over
/// how they are stored.
protocol AnchorTriplets {
    var count: Int { get }
    func positive(_ k: Int) -> Int
    func negative(_ k: Int) -> Int
}

/// The caller's `Triplet`s of one anchor, read in place.
struct GroupedTriplets: AnchorTriplets {
    let list: UnsafeBufferPointer<Triplet>
    init(_ list: UnsafeBufferPointer<Triplet>) { self.list = list }
    var count: Int { list.count }
    @inline(__always) func positive(_ k: Int) -> Int { list.baseAddress.unsafelyUnwrapped[k].positive }
    @inline(__always) func negative(_ k: Int) -> Int { list.baseAddress.unsafelyUnwrapped[k].negative }
}

/// Bucketed positives and negatives of one anchor.
struct SplitTriplets: AnchorTriplets {
    let positives: UnsafeBufferPointer<Int32>
    let negatives: UnsafeBufferPointer<Int32>
    var count: Int { positives.count }
    @inline(__always) func positive(_ k: Int) -> Int { Int(positives.baseAddress.unsafelyUnwrapped[k]) }
    @inline(__always) func negative(_ k: Int) -> Int { Int(negatives.baseAddress.unsafelyUnwrapped[k]) }
}
