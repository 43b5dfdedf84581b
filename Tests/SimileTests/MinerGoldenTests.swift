import Foundation
import Testing
@testable import Simile

/// Simile's deterministic miners return exactly pytorch-metric-learning 2.9.0's tuples on the
/// committed fixtures (Tests/Fixtures/pml/miners, made by Tests/Fixtures/generate_pml_miners.py).
struct MinerGoldenTests {
    struct File: Decodable {
        let miner: String
        let cases: [Case]
    }

    struct Case: Decodable, Sendable, CustomStringConvertible {
        let id: String
        let parameters: [String]
        let input: MinerRequest
        let expected: TuplesJSON
        var miner: String { String(id.split(separator: "/").first ?? "") }
        var description: String { id }
    }

    static let directory = Fixtures.directory.appendingPathComponent("miners")

    static var cases: [Case] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { $0.hasSuffix(".json") }.flatMap { name -> [Case] in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)),
                  let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
            return file.cases
        }
    }

    /// Miners whose PML output is in index order (by anchor, then positive, then negative, or
    /// row-major pairs), so that Simile's order must match too. HDC (topk order) and
    /// multi-similarity (sorted by value) are compared as sets only.
    static let orderedMiners: Set<String> = ["batch-all", "batch-hard", "batch-easy-hard", "triplet-margin", "semi-hard",
                                             "pair-margin", "angular"]

    @Test func everyDeterministicMinerHasFixtures() {
        let covered = Set(Self.cases.map(\.miner))
        let deterministic: Set<String> = ["batch-all", "batch-hard", "batch-easy-hard", "triplet-margin", "semi-hard",
                                          "pair-margin", "multi-similarity", "angular", "hdc"]
        #expect(covered == deterministic, "fixtures for \(covered.sorted()); expected \(deterministic.sorted())")
        #expect(Self.cases.count >= 70)
    }

    @Test(arguments: cases)
    func matchesPML(_ fixture: Case) throws {
        let registry = Registry.builtin
        let miner = try registry.miner(try registry.spec(fixture.miner, fixture.parameters))
        let tuples = try fixture.input.mine(miner, as: Double.self)
        let expected = try fixture.expected.tuples()
        switch (tuples, expected) {
        case let (.triplets(got), .triplets(want)):
            #expect(Set(got) == Set(want), "\(fixture.id): \(Set(got).subtracting(want).count) extra, \(Set(want).subtracting(got).count) missing")
            #expect(got.count == want.count, "\(fixture.id): duplicates")
            if Self.orderedMiners.contains(fixture.miner) { #expect(got == want, "\(fixture.id): order") }
        case let (.pairs(gotPositive, gotNegative), .pairs(wantPositive, wantNegative)):
            #expect(Set(gotPositive) == Set(wantPositive),
                    "\(fixture.id) positives: extra \(Set(gotPositive).subtracting(wantPositive).sorted { ($0.anchor, $0.other) < ($1.anchor, $1.other) }.prefix(5)), missing \(Set(wantPositive).subtracting(gotPositive).sorted { ($0.anchor, $0.other) < ($1.anchor, $1.other) }.prefix(5))")
            #expect(Set(gotNegative) == Set(wantNegative),
                    "\(fixture.id) negatives: extra \(Set(gotNegative).subtracting(wantNegative).count), missing \(Set(wantNegative).subtracting(gotNegative).count)")
            #expect(gotPositive.count == wantPositive.count && gotNegative.count == wantNegative.count, "\(fixture.id): duplicates")
            if Self.orderedMiners.contains(fixture.miner) {
                #expect(gotPositive == wantPositive && gotNegative == wantNegative, "\(fixture.id): order")
            }
        default:
            Issue.record("\(fixture.id): Simile returned \(tuples.isEmpty ? "empty " : "")\(tuples) in the other form")
        }
    }

    /// In float32 the fixtures give PML's float64 tuples too, except where float32 rounding moves a
    /// value across a decision boundary: the cases keep 1e-8 from every boundary, less than float32's
    /// resolution, so a few flips are allowed (none happen on this machine's BLAS).
    @Test func floatAgreesOnAlmostEveryCase() throws {
        let registry = Registry.builtin
        var disagreeing: [String] = []
        for fixture in Self.cases {
            let miner = try registry.miner(try registry.spec(fixture.miner, fixture.parameters))
            let single = try fixture.input.mine(miner, as: Float.self)
            let expected = try fixture.expected.tuples()
            let same: Bool
            switch (single, expected) {
            case let (.triplets(got), .triplets(want)): same = Set(got) == Set(want) && got.count == want.count
            case let (.pairs(gp, gn), .pairs(wp, wn)): same = Set(gp) == Set(wp) && Set(gn) == Set(wn) && gp.count == wp.count && gn.count == wn.count
            default: same = false
            }
            if !same { disagreeing.append(fixture.id) }
        }
        #expect(disagreeing.count * 20 <= Self.cases.count, "float32 differs from PML on \(disagreeing)")
    }
}
