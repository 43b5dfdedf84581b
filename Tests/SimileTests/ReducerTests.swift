import Testing
@testable import Simile

/// Each reducer's value and its gradient weights, on hand-made bags.
struct ReducerTests {
    let registry = Registry.builtin
    /// Anchors 0, 1, 2 with elements {1, 0, 3}, {}, {2}.
    let values: [[Double]] = [[1, 0, 3], [], [2]]
    let labels = [0, 1, 1]

    func bags(_ gate: ElementGate) -> [Bag] {
        values.map { elements in
            var bag = Bag()
            for v in elements { bag.add(v, gate: gate) }
            return bag
        }
    }

    func reduce(_ spec: String, kind: TermKind = .pair, divisor: Double? = nil) throws -> Reduction {
        let reducer = try registry.reducer(spec)
        return try reducer.reduce(bags(reducer.gate),
                                  ReductionContext(loss: "test", term: "loss", kind: kind, groupLabels: labels, divisor: divisor))
    }

    @Test func mean() throws {
        let r = try reduce("mean")
        #expect(r.value == 6.0 / 4)
        #expect(r.weight(0, group: 0) == 0.25 && r.weight(3, group: 2) == 0.25)
    }

    @Test func sum() throws {
        let r = try reduce("sum")
        #expect(r.value == 6 && r.weight(1, group: 0) == 1)
    }

    @Test func avgNonZeroSkipsZeros() throws {
        let r = try reduce("avg-non-zero")
        #expect(r.value == 2 && r.included == 3)
        #expect(r.weight(0, group: 0) == 0 && r.weight(1, group: 0) == 1.0 / 3)
    }

    @Test func threshold() throws {
        let r = try reduce("threshold(low=0.5, high=2.5)")
        #expect(r.value == 1.5)  // {1, 2}
        #expect(r.weight(3, group: 0) == 0 && r.weight(2, group: 2) == 0.5)
        #expect(throws: SimileError.self) { try registry.reducer("threshold") }
        #expect(throws: SimileError.self) { try registry.reducer("threshold(low=2, high=1)") }
    }

    @Test func divisorNeedsTheLossToGiveOne() throws {
        let r = try reduce("divisor", divisor: 3)
        #expect(r.value == 2 && r.weight(1, group: 0) == 1.0 / 3)
        #expect(try reduce("divisor", divisor: 0).value == 0)
        #expect(throws: SimileError.self) { try reduce("divisor") }
    }

    /// Per-element class weights (PML broadcasts (N,1) losses here for some losses; Simile does not).
    @Test func classWeightedWeighsByTheAnchorsClass() throws {
        let r = try reduce("class-weighted(weights=[2, 0.5])")
        // anchor 0 (class 0, weight 2): 1 + 0 + 3; anchor 2 (class 1, weight 0.5): 2 → (2·4 + 0.5·2) / 4
        #expect(abs(r.value - 9.0 / 4) < 1e-12)
        #expect(r.weight(1, group: 0) == 0.5 && r.weight(2, group: 2) == 0.125)
        #expect(throws: SimileError.self) { try reduce("class-weighted(weights=[1])") }  // label 1 has no weight
    }

    @Test func perAnchorAveragesEachAnchorThenReduces() throws {
        let r = try reduce("per-anchor")
        // anchor means 4/3, 0 (no elements), 2 → mean over 3 anchors
        #expect(abs(r.value - (4.0 / 3 + 0 + 2) / 3) < 1e-12)
        #expect(abs(r.weight(1, group: 0) - 1.0 / 9) < 1e-12)
        #expect(r.weight(1, group: 1) == 0)
        let sum = try reduce("per-anchor(aggregation=sum, reducer=avg-non-zero)")
        #expect(sum.value == (4.0 + 2) / 2 && sum.weight(5, group: 0) == 0.5)
        // Per-sample losses pass straight to the inner reducer.
        #expect(try reduce("per-anchor", kind: .element).value == 6.0 / 4)
    }

    @Test func emptyInputReducesToZero() throws {
        for spec in ["mean", "avg-non-zero", "threshold(high=1)", "class-weighted(weights=[1, 1])"] {
            let reducer = try registry.reducer(spec)
            let r = try reducer.reduce([Bag(), Bag()], ReductionContext(loss: "t", term: "loss", kind: .pair, groupLabels: [0, 1]))
            #expect(r.value == 0 && r.weight(1, group: 0) == 0, "\(spec)")
        }
    }

    /// Class weighting inside a real loss: with weights that select one class, N·L is the sum of
    /// that class's anchor losses; the weighted value is then Σ_c w_c·(class c's sum) / N.
    @Test func classWeightedMultiSimilarityMatchesTheDefinition() throws {
        let problem = Problems.standard()
        let n = Double(problem.embeddings.rows)
        let perClass = try (0..<4).map { c -> Double in
            let w = (0..<4).map { $0 == c ? "1" : "0" }.joined(separator: ",")
            let loss = try registry.loss("multi-similarity", ["reducer=class-weighted(weights=[\(w)])"])
            return try loss(problem.embeddings, problem.labels).value * n
        }
        let plain = try registry.loss("multi-similarity(reducer=sum)")
        let total = try plain(problem.embeddings, problem.labels).value
        #expect(abs(perClass.reduce(0, +) - total) < 1e-9)
        let weighted = try registry.loss("multi-similarity(reducer=class-weighted(weights=[1, 2, 0.5, 1.5]))")
        let expected = zip([1.0, 2.0, 0.5, 1.5], perClass).reduce(0) { $0 + $1.0 * $1.1 } / n
        #expect(abs(try weighted(problem.embeddings, problem.labels).value - expected) < 1e-9)
    }
}
