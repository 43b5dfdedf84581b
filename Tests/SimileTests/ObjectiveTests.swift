import Testing
@testable import Simile

/// The pipeline's per-batch objective: weighted losses and regularizers, phases, filtering.
struct ObjectiveTests {
    func pipeline(_ stages: [Stage]) -> Pipeline {
        Pipeline(name: "t", stages: stages)
    }

    @Test func weightedTermsHaveTheGradientOfTheirSum() throws {
        let objective = try Objective(pipeline([
            Stage("main", .loss, "multi-similarity"),
            Stage("angular", .loss, "contrastive", weight: 0.5, mined: false),  // circle detaches its weights (as PML), so FD cannot check it
            Stage("margin", .loss, "margin(learn-beta=true)", weight: 0.25),
            Stage("beta-l2", .regularizer, "lp(power=2)", weight: 0.1, target: "margin.beta"),
            Stage("center", .regularizer, "center", weight: 0.3),
            Stage("spread", .regularizer, "batch-variance", weight: 0.2),
        ]), numClasses: 3, embeddingSize: 4)
        let x = Problems.gaussian(rows: 9, columns: 4, seed: 3)
        let labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
        var point = objective.initialParameters(Double.self)
        #expect(Set(point.keys) == ["margin.beta", "center.centers"])
        #expect(objective.learningRateMultipliers["center.centers"] != nil)
        let output = try objective(x, labels, epoch: 1, step: 0, parameters: point)
        #expect(output.terms.map(\.name) == ["main", "angular", "margin", "center", "spread"])
        #expect(abs(output.terms.map(\.value).reduce(0, +) - output.value) < 1e-12)
        point["x"] = x
        var gradients = output.parameterGradients
        gradients["x"] = output.gradient
        let problems = try GradientCheck.mismatches(of: { p in
            var parameters = p
            let x = parameters.removeValue(forKey: "x")!
            return try objective(x, labels, epoch: 1, step: 0, parameters: parameters).value
        }, at: point, gradients: gradients)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test func stagesFollowTheirEpochs() throws {
        let objective = try Objective(pipeline([
            Stage("early", .loss, "contrastive", epochs: "1-2"),
            Stage("late", .loss, "multi-similarity", epochs: "3-"),
        ]), numClasses: 2, embeddingSize: 3)
        let x = Problems.gaussian(rows: 6, columns: 3, seed: 1)
        let labels = [0, 0, 0, 1, 1, 1]
        #expect(try objective(x, labels, epoch: 2, step: 0, parameters: [:]).terms.map(\.name) == ["early"])
        #expect(try objective(x, labels, epoch: 3, step: 0, parameters: [:]).terms.map(\.name) == ["late"])
    }

    @Test func excludedRowsLeaveNegativeRelationsOnly() {
        let labels = [0, 0, 1, 1]
        guard case let .pairs(positive, negative) = Objective.allPairs(labels, excluding: [2]) else {
            Issue.record("expected pairs")
            return
        }
        #expect(positive.count == 4)
        #expect(negative.allSatisfy { $0.anchor != 2 && $0.other != 2 } && negative.count == 4)
        let joined = Objective.join([.triplets([Triplet(0, 1, 2), Triplet(0, 1, 3), Triplet(2, 3, 0)])],
                                    excluding: [2], labels: labels)
        #expect(joined == .triplets([Triplet(0, 1, 3)]))
        let mixed = Objective.join([.triplets([Triplet(0, 1, 3)]), .pairs(positive: [IndexPair(2, 3)], negative: [IndexPair(2, 0)])],
                                   excluding: [2], labels: labels)
        #expect(mixed == .pairs(positive: [IndexPair(0, 1), IndexPair(2, 3)], negative: [IndexPair(0, 3)]))
    }

    @Test func stageErrorsNameTheStage() {
        #expect(throws: SimileError.self) {
            try Objective(pipeline([Stage("main", .loss, "multisim")]), numClasses: 2, embeddingSize: 2)
        }
        do {
            _ = try Objective(pipeline([Stage("main", .loss, "contrastive"),
                                        Stage("r", .regularizer, "lp", target: "main.proxies")]),
                              numClasses: 2, embeddingSize: 2)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("main") && "\(error)".contains("proxies"), "\(error)")
        }
    }
}
