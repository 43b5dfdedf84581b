import Testing
@testable import Simile

/// A band miner fused with a band-capable loss (`loss(x, labels, tripletsIn: miner.tripletBand)`)
/// must give bit for bit what the miner's list passed to the loss gives: the same triplets, the
/// same sums in the same order.
struct TripletBandFusionTests {
    static let registry = Registry.builtin

    /// Embeddings with a duplicated row (exact ties: t = 0 sits on the semi-hard band's open end)
    /// and a label with a single member (an anchor without positives).
    static func batch<S: SimileFloat>(_: S.Type, rows: Int = 40, seed: UInt64 = 21) -> (Matrix<S>, [Int]) {
        var x = Problems.gaussian(rows: rows, columns: 5, seed: seed).converted(to: S.self)
        for t in 0..<x.columns { x[1, t] = x[0, t] }
        var labels = (0..<rows).map { $0 % 9 }
        labels[rows - 1] = 99
        return (x, labels)
    }

    static func expectIdentical<S: SimileFloat>(_ fused: LossOutput<S>, _ listed: LossOutput<S>, _ what: String) {
        #expect(fused.value.bitPattern == listed.value.bitPattern, "\(what): \(fused.value) vs \(listed.value)")
        let same = zip(fused.gradient.elements, listed.gradient.elements).allSatisfy { $0 == $1 }
        #expect(same, "\(what): gradients differ")
        #expect(fused.stats == listed.stats, "\(what): \(fused.stats) vs \(listed.stats)")
    }

    static let cases: [(miner: String, loss: String)] = [
        ("semi-hard", "triplet-margin"),
        ("semi-hard(margin=0.8)", "triplet-margin(margin=0.3, reducer=mean)"),
        ("triplet-margin", "triplet-margin(reducer=sum)"),
        ("triplet-margin(type-of-triplets=hard, margin=0.1)", "triplet-margin(distance=cosine)"),
        ("semi-hard(distance=cosine, margin=0.3)", "triplet-margin(distance=cosine, margin=0.2)"),
        ("triplet-margin(type-of-triplets=easy, margin=0.2)", "triplet-margin(margin=2)"),
        ("semi-hard(margin=0.8)", "triplet-margin(smooth-loss=true)"),
        ("semi-hard(margin=0.8)", "triplet-margin(swap=true, margin=0.5)"),
    ]

    @Test(arguments: cases)
    func fusedEqualsTheMinedListInFloat(_ pair: (miner: String, loss: String)) throws {
        let miner = try Self.registry.miner(pair.miner)
        let loss = try Self.registry.loss(pair.loss)
        let band = try #require((miner as? any TripletBandMiner)?.tripletBand)
        let (x, labels) = Self.batch(Float.self)
        let mined = try miner(x, labels)
        #expect(!mined.isEmpty)
        let listed = try loss(x, labels, tuples: mined)
        let fused = try loss(x, labels, tripletsIn: band)
        Self.expectIdentical(fused, listed, "\(pair)")
        if case let .triplets(list) = mined { #expect(fused.stats["triplets"] == Double(list.count)) }
    }

    @Test(arguments: cases.prefix(5))
    func fusedEqualsTheMinedListInDoubleAndAgainstAReference(_ pair: (miner: String, loss: String)) throws {
        let miner = try Self.registry.miner(pair.miner)
        let loss = try Self.registry.loss(pair.loss)
        let band = try #require((miner as? any TripletBandMiner)?.tripletBand)
        let (x, labels) = Self.batch(Double.self)
        Self.expectIdentical(try loss(x, labels, tripletsIn: band), try loss(x, labels, tuples: try miner(x, labels)),
                             "\(pair), Double")
        let (reference, referenceLabels) = Self.batch(Double.self, rows: 25, seed: 5)
        let query = Matrix(rows: 12, columns: x.columns, elements: Array(x.elements[0..<(12 * x.columns)]))
        let queryLabels = Array(labels[0..<12])
        let mined = try miner(query, queryLabels, reference: reference, referenceLabels: referenceLabels)
        #expect(!mined.isEmpty)
        Self.expectIdentical(
            try loss(query, queryLabels, tripletsIn: band, reference: reference, referenceLabels: referenceLabels),
            try loss(query, queryLabels, tuples: mined, reference: reference, referenceLabels: referenceLabels),
            "\(pair), reference")
    }

    @Test func anEmptyBandIsAnEmptyList() throws {
        let miner = try Self.registry.miner("semi-hard(margin=1e-9)")
        let loss = try Self.registry.loss("triplet-margin")
        let (x, labels) = Self.batch(Float.self, rows: 6)
        #expect(try miner(x, labels).isEmpty)
        let band = try #require((miner as? any TripletBandMiner)?.tripletBand)
        Self.expectIdentical(try loss(x, labels, tripletsIn: band), try loss(x, labels, tuples: .triplets([])), "empty")
    }

    @Test func aLossThatNeedsTheListSaysSo() throws {
        let miner = try Self.registry.miner("semi-hard")
        let band = try #require((miner as? any TripletBandMiner)?.tripletBand)
        let loss = try Self.registry.loss("contrastive")
        let (x, labels) = Self.batch(Float.self, rows: 8)
        #expect(throws: SimileError.self) { _ = try loss(x, labels, tripletsIn: band) }
        do {
            _ = try loss(x, labels, tripletsIn: band)
        } catch {
            #expect("\(error)".contains("contrastive") && "\(error)".contains("tuples: miner.mine"))
        }
    }

    @Test func distancesKnowWhenTheyAreTheSame() throws {
        let lp = try Self.registry.distance("lp")
        #expect(lp.isSame(as: try Self.registry.distance("lp")))
        #expect(!lp.isSame(as: try Self.registry.distance("lp(power=2)")))
        #expect(!lp.isSame(as: try Self.registry.distance("lp(normalize=false)")))
        #expect(!lp.isSame(as: try Self.registry.distance("cosine")))
        #expect(try Self.registry.distance("cosine").isSame(as: try Self.registry.distance("cosine")))
    }

    /// The objective fuses a lone band miner with band-capable losses, and lists the triplets when
    /// another mined loss needs them; both give the miner-then-loss result.
    @Test func theObjectiveFusesAndFallsBackWithTheSameResult() throws {
        let (x, labels) = Self.batch(Float.self)
        let miner = try Self.registry.miner("semi-hard(margin=0.8)")
        let mined = try miner(x, labels)
        guard case let .triplets(list) = mined else {
            Issue.record("semi-hard mines triplets")
            return
        }
        let loss = try Self.registry.loss("triplet-margin(margin=0.3)")
        let expected = try loss(x, labels, tuples: mined)

        let fused = try Objective(Pipeline(name: "fused", stages: [
            Stage("mine", .miner, "semi-hard(margin=0.8)"),
            Stage("main", .loss, "triplet-margin(margin=0.3)"),
        ]), numClasses: 10, embeddingSize: 5)
        #expect(Objective.fusableBand(fused.miners, fused.losses, excluded: [], context: MiningContext()) != nil)
        let out = try fused(x, labels, epoch: 1, step: 0, parameters: [:])
        #expect(out.value.bitPattern == expected.value.bitPattern)
        #expect(out.gradient.elements == expected.gradient.elements)
        #expect(out.tuples == list.count)
        #expect(out.miners == ["mine"])

        let mixed = try Objective(Pipeline(name: "mixed", stages: [
            Stage("mine", .miner, "semi-hard(margin=0.8)"),
            Stage("main", .loss, "triplet-margin(margin=0.3)"),
            Stage("pairs", .loss, "contrastive", weight: 0.5),
        ]), numClasses: 10, embeddingSize: 5)
        #expect(Objective.fusableBand(mixed.miners, mixed.losses, excluded: [], context: MiningContext()) == nil)
        let both = try mixed(x, labels, epoch: 1, step: 0, parameters: [:])
        let contrastive = try Self.registry.loss("contrastive")
        let pairs = try contrastive(x, labels, tuples: mined)
        #expect(abs(both.value - (expected.value + 0.5 * pairs.value)) <= 1e-12 * max(1, abs(both.value)))
        #expect(both.tuples == list.count)
        #expect(Objective.fusableBand(fused.miners, fused.losses, excluded: [3], context: MiningContext()) == nil)
    }
}
