import Testing
@testable import Simile

/// The fast path for mined triplets: one parallel pass checks them and finds each anchor's group,
/// and the loss reads them in place. It must give what the general path gives, and report the
/// same first error.
struct MinedTripletPathTests {
    static let registry = Registry.builtin

    /// The same triplets with the anchor groups in reverse order (each anchor's own order kept):
    /// not grouped, so they are bucketed by anchor instead.
    static func reversedGroups(_ triplets: [Triplet]) -> [Triplet] {
        var byAnchor: [Int: [Triplet]] = [:]
        for t in triplets { byAnchor[t.anchor, default: []].append(t) }
        return byAnchor.keys.sorted(by: >).flatMap { byAnchor[$0]! }
    }

    static func triplets(_ tuples: Tuples) -> [Triplet] {
        guard case let .triplets(triplets) = tuples else { return [] }
        return triplets
    }

    @Test(arguments: ["triplet-margin", "triplet-margin(margin=0.3, reducer=mean)", "triplet-margin(reducer=sum)",
                      "triplet-margin(distance=cosine)", "triplet-margin(smooth-loss=true)", "triplet-margin(swap=true)",
                      "margin"])
    func groupedAndBucketedTripletsGiveIdenticalResults(_ spec: String) throws {
        let loss = try Self.registry.loss(spec)
        let x = Problems.gaussian(rows: 48, columns: 6, seed: 17).converted(to: Float.self)
        let labels = (0..<48).map { $0 / 4 }
        let miner = try Self.registry.miner("semi-hard(margin=0.5)")
        let mined = Self.triplets(try miner(x, labels))
        #expect(mined.count > 100)
        let grouped = try loss(x, labels, tuples: .triplets(mined))
        let bucketed = try loss(x, labels, tuples: .triplets(Self.reversedGroups(mined)))
        #expect(grouped.value.bitPattern == bucketed.value.bitPattern)
        let same = zip(grouped.gradient.elements, bucketed.gradient.elements).allSatisfy { $0.bitPattern == $1.bitPattern }
        #expect(same)
        #expect(grouped.stats == bucketed.stats)
    }

    /// Every triplet listed explicitly (batch-all, grouped by anchor) against all triplets as a
    /// product (no tuples): two independent loops over the same triplets.
    @Test(arguments: ["triplet-margin", "triplet-margin(margin=0.4, reducer=mean)", "triplet-margin(distance=cosine)"])
    func explicitHingeMatchesTheProductForm(_ spec: String) throws {
        let loss = try Self.registry.loss(spec)
        let x = Problems.gaussian(rows: 30, columns: 5, seed: 4)
        let labels = (0..<30).map { ($0 * 7) % 6 }
        let miner = try Self.registry.miner("batch-all")
        let all = try miner(x, labels)
        let explicit = try loss(x, labels, tuples: all)
        let product = try loss(x, labels)
        #expect(abs(explicit.value - product.value) <= 1e-12 * max(1, abs(product.value)))
        #expect(explicit.stats == product.stats)
        for (e, p) in zip(explicit.gradient.elements, product.gradient.elements) { #expect(abs(e - p) <= 1e-12) }
    }

    /// The loss value of mined triplets against a brute-force sum written here.
    @Test func minedHingeValueMatchesBruteForce() throws {
        let x = Problems.gaussian(rows: 40, columns: 4, seed: 9)
        let labels = (0..<40).map { $0 % 7 }
        let miner = try Self.registry.miner("triplet-margin(margin=0.3)")
        let mined = Self.triplets(try miner(x, labels))
        let loss = try Self.registry.loss("triplet-margin(margin=0.1)")
        let output = try loss(x, labels, tuples: .triplets(mined))
        let d = try Registry.builtin.distance("lp").forward(x, nil).values
        var sum = 0.0, positive = 0
        for t in mined {
            let v = d[t.anchor, t.positive] - d[t.anchor, t.negative] + 0.1
            if v > 0 { sum += v; positive += 1 }
        }
        #expect(positive > 0)
        #expect(abs(output.value - sum / Double(positive)) <= 1e-12)
    }

    /// Many triplets (several chunks of the parallel check), anchors without triplets at the
    /// start, in the middle and at the end: the offsets the check finds.
    @Test func scanFindsEachAnchorsGroupAcrossChunks() throws {
        let rows = 40, labels = (0..<rows).map { $0 / 4 }
        var triplets: [Triplet] = []
        for a in 0..<rows where a != 0 && a != 17 && a != 18 && a < 38 {
            let p = a % 4 == 0 ? a + 1 : a - 1
            for r in 0..<(a * 137 % 4000 + 1) { triplets.append(Triplet(a, p, (a + 4 + r % 30) % rows)) }
        }
        #expect(triplets.count > 3 << 14)
        let valid = triplets.filter { labels[$0.anchor] != labels[$0.negative] }
        var expected = [Int](repeating: valid.count, count: rows + 1)
        for x in stride(from: rows, through: 0, by: -1) {
            if let first = valid.firstIndex(where: { $0.anchor >= x }) { expected[x] = first }
        }
        let scan = TripletScan.run(valid, rows: rows, referenceRows: rows, labels: labels, referenceLabels: labels, isSelf: true)
        #expect(scan.valid)
        #expect(scan.offsets == expected)
        // Out of order across a chunk boundary: still valid, not grouped.
        var swapped = valid
        swapped.swapAt(0, swapped.count - 1)
        let unordered = TripletScan.run(swapped, rows: rows, referenceRows: rows, labels: labels, referenceLabels: labels,
                                        isSelf: true)
        #expect(unordered.valid && unordered.offsets == nil)
    }

    /// A bad triplet deep in a long list is reported by its position, as the ordered check does.
    @Test func firstBadTripletIsNamed() throws {
        let x = Problems.gaussian(rows: 128, columns: 3, seed: 2)
        let labels = (0..<128).map { $0 / 4 }
        let miner = try Self.registry.miner("batch-all")
        var mined = Self.triplets(try miner(x, labels))
        #expect(mined.count > 1 << 15)
        let loss = try Self.registry.loss("triplet-margin")
        mined[40_000] = Triplet(mined[40_000].anchor, mined[40_000].positive, mined[40_000].anchor)
        mined[45_000] = Triplet(3, 128, 9)
        do {
            _ = try loss(x, labels, tuples: .triplets(mined))
            Issue.record("a negative of the anchor's own label was accepted")
        } catch let error as SimileError {
            #expect("\(error)".contains("triplet 40000 "), "\(error)")
        }
    }
}
