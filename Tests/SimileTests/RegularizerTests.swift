import Foundation
import Testing
@testable import Simile

/// Values by hand, bad inputs, and the composition's bookkeeping.
struct RegularizerTests {
    let registry = Registry.builtin

    func regularizer(_ text: String) throws -> any Regularizer { try registry.regularizer(text) }

    // MARK: Registry

    @Test func allSevenAreRegisteredWithTheirTargets() throws {
        let names = registry.descriptors(.regularizer).map(\.name)
        #expect(names == ["batch-variance", "center", "center-invariant", "lp", "regular-face", "sparse-centers", "zero-mean"])
        #expect(try regularizer("lp").applies(to: .parameters) && regularizer("lp").applies(to: .embeddings))
        #expect(try !regularizer("regular-face").applies(to: .embeddings))
        #expect(try !regularizer("sparse-centers(num-classes=2, centers-per-class=2)").applies(to: .embeddings))
        #expect(try !regularizer("center(num-classes=2, embedding-size=3)").applies(to: .parameters))
        #expect(try !regularizer("batch-variance").applies(to: .parameters))
        #expect(CenterRegularizer.defaultWeight == 1e-3 && LpRegularizer.defaultWeight == 1)
    }

    @Test func constructionErrorsNameTheFix() throws {
        #expect(throws: SimileError.self) { try self.regularizer("center(num-classes=3)") }  // embedding-size missing
        do {
            _ = try regularizer("sparse-centers(num-classes=3, centers-per-class=1)")
            Issue.record("one center per class was accepted")
        } catch let error as SimileError {
            guard case let .parameterOutOfRange(_, parameter, _, _) = error else {
                Issue.record("expected an out-of-range error, got \(error)")
                return
            }
            #expect(parameter == "centers-per-class")
        }
        do {
            _ = try regularizer("regular-face(distance=lp)")
            Issue.record("regular-face accepted a distance")
        } catch let error as SimileError {
            #expect(error.description.contains("needs a similarity") && error.description.contains("distance=cosine"))
        }
        do {
            _ = try regularizer("lp(reducer=divisor)")
            Issue.record("lp accepted the divisor reducer")
        } catch let error as SimileError {
            #expect(error.description.contains("divisor") && error.description.contains("mean"))
        }
        #expect(try (regularizer("sparse-centers(num-classes=2, centers-per-class=2)") as? SparseCentersRegularizer)?
            .reducer is DivisorReducer)
    }

    // MARK: Values by hand

    /// Builds a regularizer from text and runs it (two steps: calling an existential returned by an
    /// expression crashes the Swift 6.3 compiler).
    func run<S: SimileFloat>(_ spec: String, _ x: Matrix<S>, labels: [Int]? = nil,
                             parameters: [String: Matrix<S>] = [:]) throws -> RegularizerOutput<S> {
        let regularizer = try regularizer(spec)
        return try regularizer(x, labels: labels, parameters: parameters)
    }

    /// The value of a regularizer given as text, on x.
    func value(_ spec: String, _ x: Matrix<Double>) throws -> Double {
        let regularizer = try regularizer(spec)
        let output: RegularizerOutput<Double> = try regularizer(x)
        return output.value
    }

    @Test func valuesMatchHandComputations() throws {
        let x = try Matrix<Double>([[3, 4], [1, -1], [0, 2]])
        #expect(abs(try value("lp", x) - (5 + 2.0.squareRoot() + 2) / 3) < 1e-12)
        #expect(abs(try value("lp(power=2)", x) - (25 + 2 + 4) / 3.0) < 1e-12)
        #expect(abs(try value("lp(p=1, reducer=sum)", x) - 11) < 1e-12)
        #expect(abs(try value("zero-mean", x) - (7 + 0 + 2) / 3.0) < 1e-12)
        let q = [25.0, 2, 4], mean = 31.0 / 3
        let invariant = q.map { ($0 - mean) * ($0 - mean) / 4 }.reduce(0, +) / 3
        #expect(abs(try value("center-invariant", x) - invariant) < 1e-12)
        // Each row's largest cosine to another row, averaged.
        func cosine(_ a: Int, _ b: Int) -> Double {
            let dot = x[a, 0] * x[b, 0] + x[a, 1] * x[b, 1]
            let na = (x[a, 0] * x[a, 0] + x[a, 1] * x[a, 1]).squareRoot()
            let nb = (x[b, 0] * x[b, 0] + x[b, 1] * x[b, 1]).squareRoot()
            return dot / (na * nb)
        }
        let nearest = (0..<3).map { i in (0..<3).filter { $0 != i }.map { cosine(i, $0) }.max()! }
        #expect(abs(try value("regular-face", x) - nearest.reduce(0, +) / 3) < 1e-12)
    }

    @Test func centerIsHalfTheMeanSquaredDistanceToTheClassCenter() throws {
        let center = try regularizer("center(num-classes=3, embedding-size=2)")
        let x = try Matrix<Double>([[1, 2], [3, 4], [0, -1], [2, 2]])
        let centers = try Matrix<Double>([[0, 0], [1, 1], [5, 5]])
        let labels = [0, 1, 1, 2]
        let output = try center(x, labels: labels, parameters: ["centers": centers])
        let expected = (5.0 + 13 + 5 + 18) / 2 / 4
        #expect(abs(output.value - expected) < 1e-12)
        // ∂R/∂x₁ = (x₁ − c₁)/N; ∂R/∂c₁ = −((x₁ − c₁) + (x₂ − c₁))/N; class 0's center gets only row 0.
        #expect(output.gradient.nestedRows[1] == [0.5, 0.75])
        let gradient = try #require(output.parameterGradients["centers"]).nestedRows
        #expect(gradient[1] == [-0.25, -0.25])  // −((2, 3) + (−1, −2))/4
        #expect(gradient[0] == [-0.25, -0.5])
    }

    @Test func centerInitialisationIsSeededAndItsLearningRateIsAParameter() throws {
        let a = try #require(regularizer("center(num-classes=4, embedding-size=16)") as? CenterRegularizer)
        let b = try #require(regularizer("center(num-classes=4, embedding-size=16)") as? CenterRegularizer)
        let c = try #require(regularizer("center(num-classes=4, embedding-size=16, seed=1, learning-rate-multiplier=50)")
            as? CenterRegularizer)
        let start = try #require(a.initialParameters()["centers"])
        #expect(start.rows == 4 && start.columns == 16)
        #expect(start == b.initialParameters()["centers"])
        #expect(start != c.initialParameters()["centers"])
        let meanSquaredNorm = (0..<4).map { i in start.row(i).reduce(0) { $0 + $1 * $1 } }.reduce(0, +) / 4
        #expect(meanSquaredNorm > 0.3 && meanSquaredNorm < 3, "centers should have norm about 1")
        #expect(a.learningRateMultiplier == 1 && c.learningRateMultiplier == 50)
    }

    @Test func batchVarianceFollowsVICReg() throws {
        let bv = try regularizer("batch-variance")
        let x = try Matrix<Double>([[0, 1, 10], [0.5, -1, -10], [1, 0, 0]])
        // Column variances (Bessel): 0.25, 1, 100; σ = √(Var + 1e-4).
        let sigmas = [0.25, 1.0, 100.0].map { ($0 + 1e-4).squareRoot() }
        let expected = sigmas.map { max(0, 1 - $0) }.reduce(0, +) / 3
        let output = try bv(x)
        #expect(abs(output.value - expected) < 1e-12)
        #expect(output.stats["active_dimensions"] == 1)
        // Only column 0 is below the floor: ∂R/∂x_i0 = −(x_i0 − μ₀)/(D·(N−1)·σ₀).
        #expect(abs(output.gradient[0, 0] - 0.5 / (3 * 2 * sigmas[0])) < 1e-12)
        #expect(output.gradient[0, 1] == 0 && output.gradient[0, 2] == 0)
    }

    @Test func constantEmbeddingsGetTheMaximumVariancePenaltyWithAFiniteGradient() throws {
        let x = Matrix<Float>(rows: 6, columns: 4, repeating: 0.7)
        let output = try run("batch-variance", x)
        #expect(abs(output.value - (1 - 0.01)) < 1e-6)
        #expect(output.gradient.firstNonFinite() == nil)
        #expect(output.gradient.maxAbsoluteValue == 0)
        let floor = try run("batch-variance(gamma=0.5, epsilon=1e-2)", x)
        #expect(abs(floor.value - 0.4) < 1e-6)
    }

    @Test func duplicateCentersStayFinite() throws {
        let sparse = try regularizer("sparse-centers(num-classes=2, centers-per-class=2)")
        var x = Problems.gaussian(rows: 4, columns: 3, seed: 4)
        for k in 0..<3 { x[1, k] = x[0, k] }
        let output = try sparse(x.converted(to: Float.self))
        #expect(output.value.isFinite && output.gradient.firstNonFinite() == nil)
        // The coincident pair contributes 0 and a zero subgradient: the other class alone remains.
        let single = try sparse(x)
        let otherPair = ((0..<3).map { x[2, $0] / norm(x, 2) - x[3, $0] / norm(x, 3) }.map { $0 * $0 }.reduce(0, +)).squareRoot()
        #expect(abs(single.value - otherPair / 4) < 1e-12)
        #expect(single.gradient.row(0).allSatisfy { $0 == 0 } && single.gradient.row(1).allSatisfy { $0 == 0 })
    }

    func norm(_ x: Matrix<Double>, _ row: Int) -> Double { x.row(row).reduce(0) { $0 + $1 * $1 }.squareRoot() }

    // MARK: Bad input

    @Test func batchVarianceNeedsTwoRows() throws {
        do {
            _ = try run("batch-variance", try Matrix<Double>([[1, 2, 3]]))
            Issue.record("a batch of one was accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("at least 2 rows"))
        }
    }

    @Test func centerRejectsLabelsOutsideItsClasses() throws {
        let center = try regularizer("center(num-classes=3, embedding-size=2)")
        let x = Problems.gaussian(rows: 4, columns: 2, seed: 1)
        do {
            _ = try center(x, labels: [0, 1, 3, 2])
            Issue.record("label 3 was accepted with num-classes=3")
        } catch let error as SimileError {
            #expect(error.description.contains("num-classes=3") && error.description.contains("label 3")
                && error.description.contains("at least 4"))
        }
        #expect(throws: SimileError.self) { try center(x, labels: [0, -1, 1, 2]) }
        #expect(throws: SimileError.unsupported(component: "center", message: "needs integer class labels, one per embedding")) {
            try center(x)
        }
        do {
            _ = try center(Problems.gaussian(rows: 4, columns: 3, seed: 1), labels: [0, 1, 2, 0])
            Issue.record("a wrong embedding width was accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("embedding-size=2") && error.description.contains("3 columns"))
        }
    }

    @Test func badParametersAreRejected() throws {
        let center = try regularizer("center(num-classes=3, embedding-size=2)")
        let x = Problems.gaussian(rows: 3, columns: 2, seed: 1)
        #expect(throws: SimileError.shapeMismatch("parameter 'centers' of 'center' must be 3×2, but 2×2 was given")) {
            try center(x, labels: [0, 1, 2], parameters: ["centers": Matrix(rows: 2, columns: 2)])
        }
        #expect(throws: SimileError.unsupported(component: "center", message: "has no trainable parameter 'center'; its parameters are centers")) {
            try center(x, labels: [0, 1, 2], parameters: ["center": Matrix(rows: 3, columns: 2)])
        }
        #expect(throws: SimileError.unsupported(component: "lp", message: "has no trainable parameter 'centers'; it has none")) {
            try self.run("lp", x, parameters: ["centers": x])
        }
        var nan = Matrix<Double>(rows: 3, columns: 2)
        nan[1, 0] = .nan
        do {
            _ = try center(x, labels: [0, 1, 2], parameters: ["centers": nan])
            Issue.record("NaN centers were accepted")
        } catch let error as SimileError {
            #expect(error.description.hasPrefix("parameter 'centers' row 1, column 0 is nan"))
        }
    }

    @Test(arguments: ["lp", "zero-mean", "center-invariant", "regular-face", "sparse-centers(num-classes=2, centers-per-class=2)",
                      "center(num-classes=2, embedding-size=3)", "batch-variance"])
    func nonFiniteAndEmptyInputsAreClearErrors(_ spec: String) throws {
        let regularizer = try regularizer(spec)
        var x = Problems.gaussian(rows: 4, columns: 3, seed: 2).converted(to: Float.self)
        x[2, 1] = .nan
        let labels = [0, 1, 0, 1]
        do {
            _ = try regularizer(x, labels: labels)
            Issue.record("NaN was accepted")
        } catch let error as SimileError {
            guard case let .nonFinite(_, row, column, _) = error else {
                Issue.record("expected a non-finite error, got \(error)")
                return
            }
            #expect(row == 2 && column == 1)
        }
        x[2, 1] = .infinity
        #expect(throws: SimileError.self) { try regularizer(x, labels: labels) }
        #expect(throws: SimileError.empty("'\(regularizer.name)': the \(type(of: regularizer).target == .embeddings ? "embeddings" : "matrix") have 0 rows; a regularizer needs at least one row")) {
            try regularizer(Matrix<Float>(rows: 0, columns: 3), labels: [])
        }
        #expect(throws: SimileError.self) { try regularizer(Matrix<Float>(rows: 4, columns: 0), labels: labels) }
        #expect(throws: SimileError.shapeMismatch("'\(regularizer.name)': the \(type(of: regularizer).target == .embeddings ? "embeddings" : "matrix") have 4 rows but there are 3 labels; give one label per row")) {
            try regularizer(Problems.gaussian(rows: 4, columns: 3, seed: 2), labels: [0, 1, 0])
        }
    }

    @Test func shapeErrorsOfParameterRegularizers() throws {
        do {
            _ = try run("sparse-centers(num-classes=3, centers-per-class=2)", Problems.gaussian(rows: 5, columns: 3, seed: 1))
            Issue.record("5 rows accepted for 3 × 2 centers")
        } catch let error as SimileError {
            #expect(error.description.contains("3 × 2 = 6 rows") && error.description.contains("has 5"))
        }
        do {
            _ = try run("regular-face", Problems.gaussian(rows: 1, columns: 3, seed: 1))
            Issue.record("one class accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("at least 2 rows"))
        }
    }

    @Test func lpOverflowIsAClearError() throws {
        let x = Matrix<Double>(rows: 2, columns: 2, repeating: 1e200)
        do {
            _ = try run("lp(power=3)", x)
            Issue.record("an overflowing value was returned")
        } catch let error as SimileError {
            #expect(error.description.contains("overflows") && error.description.contains("power"))
        }
    }

    // MARK: Composition

    @Test func compositionAddsTheWeightedTermsAndNamesThem() throws {
        let composition = try RegularizedLoss(loss: "margin(learn-beta=true, nu=0.1)", regularizers: [
            (weight: nil, regularizer: "center(num-classes=4, embedding-size=5)", target: "embeddings"),
            (weight: 0.5, regularizer: "lp", target: "embeddings"),
            (weight: 2, regularizer: "lp(power=2)", target: "beta"),
        ])
        #expect(composition.terms.map(\.name) == ["center", "lp", "lp-2"])
        #expect(composition.terms.map(\.weight) == [1e-3, 0.5, 2])
        #expect(composition.terms.map(\.target) == [.embeddings, .embeddings, .parameter("beta")])
        #expect(Set(composition.initialParameters().keys) == ["beta", "center.centers"])
        #expect(composition.learningRateMultipliers == ["beta": 1000, "center.centers": 1])

        let problem = Problems.standard()
        let labels = Problems.labels
        let output = try composition(problem.embeddings, labels)
        let margin = try registry.loss("margin(learn-beta=true, nu=0.1)")
        let base = try margin(problem.embeddings, labels)
        let center = try run("center(num-classes=4, embedding-size=5)", problem.embeddings, labels: labels)
        let lp = try run("lp", problem.embeddings)
        let beta = 1.2
        let expected = base.value + 1e-3 * center.value + 0.5 * lp.value + 2 * beta * beta
        #expect(abs(output.value - expected) < 1e-12)
        #expect(output.subLosses.map(\.name) == ["margin_loss", "beta_reg_loss", "center", "lp", "lp-2"])
        #expect(abs(output.subLosses.reduce(0) { $0 + $1.value } - output.value) < 1e-12)
        #expect(output.stats["lp.value"] == lp.value && output.stats["center.loss.active"] == 10)
        var gradient = base.gradient
        gradient.add(center.gradient, scaledBy: 1e-3)
        gradient.add(lp.gradient, scaledBy: 0.5)
        #expect(maxDifference(output.gradient, gradient.nestedRows) < 1e-12)
        let betaGradient = try #require(output.parameterGradients["beta"])
        #expect(abs(betaGradient[0, 0] - (try #require(base.parameterGradients["beta"])[0, 0] + 2 * 2 * beta)) < 1e-12)
        let centers = try #require(output.parameterGradients["center.centers"])
        #expect(maxDifference(centers, (try #require(center.parameterGradients["centers"])).nestedRows.map { $0.map { $0 * 1e-3 } }) < 1e-15)
    }

    @Test func compositionUsesTheGivenParameters() throws {
        let composition = try RegularizedLoss(loss: "contrastive", regularizers: [
            (weight: 1, regularizer: "center(num-classes=4, embedding-size=5)", target: "embeddings"),
        ])
        let problem = Problems.standard()
        let centers = Problems.gaussian(rows: 4, columns: 5, seed: 12)
        let given = try composition(problem.embeddings, Problems.labels, parameters: ["center.centers": centers])
        let direct = try run("center(num-classes=4, embedding-size=5)", problem.embeddings, labels: Problems.labels,
                                                                               parameters: ["centers": centers])
        let contrastive = try registry.loss("contrastive")
        let base = try contrastive(problem.embeddings, Problems.labels)
        #expect(abs(given.value - base.value - direct.value) < 1e-12)
        #expect(Set(given.parameterGradients.keys) == ["center.centers"])
        // In Float too, with reference embeddings passed through to the loss.
        let single = try composition(problem.embeddings.converted(to: Float.self), .classes(Problems.labels),
                                     reference: problem.embeddings.converted(to: Float.self),
                                     referenceLabels: .classes(Problems.labels))
        #expect(single.referenceGradient != nil && single.value.isFinite)
    }

    @Test func compositionErrorsNameTheFix() throws {
        func message(_ build: () throws -> RegularizedLoss) -> String {
            do {
                _ = try build()
                return ""
            } catch {
                return "\(error)"
            }
        }
        let faceOnEmbeddings = message { try RegularizedLoss(loss: "contrastive", regularizers: [(nil, "regular-face", "embeddings")]) }
        #expect(faceOnEmbeddings.contains("applies to a loss's parameter matrix") && faceOnEmbeddings.contains("this loss has none"))
        let noProxies = message { try RegularizedLoss(loss: "margin", regularizers: [(nil, "regular-face", "proxies")]) }
        #expect(noProxies.contains("'margin' has no parameter 'proxies'; its parameters are beta"))
        let noParameters = message { try RegularizedLoss(loss: "contrastive", regularizers: [(nil, "lp", "proxies")]) }
        #expect(noParameters.contains("'contrastive' has no trainable parameters"))
        let centerOnParameters = message {
            try RegularizedLoss(loss: "margin", regularizers: [(nil, "center(num-classes=2, embedding-size=2)", "beta")])
        }
        #expect(centerOnParameters.contains("applies to embeddings"))
        let negative = message { try RegularizedLoss(loss: "margin", regularizers: [(-1, "lp", "embeddings")]) }
        #expect(negative.contains("finite weight ≥ 0"))
        let unknown = message { try RegularizedLoss(loss: "margin", regularizers: [(1, "l2", "embeddings")]) }
        #expect(unknown.contains("unknown regularizer 'l2'"))

        let composition = try RegularizedLoss(loss: "margin", regularizers: [(1, "lp", "embeddings")])
        let problem = Problems.standard()
        do {
            _ = try composition(problem.embeddings, Problems.labels, parameters: ["centre.centers": Matrix(rows: 1, columns: 1)])
            Issue.record("an unknown namespaced parameter was accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("names no regularizer") && error.description.contains("lp"))
        }
        #expect(throws: SimileError.self) {
            try composition(problem.embeddings, Problems.labels, parameters: ["proxies": Matrix(rows: 1, columns: 1)])
        }
    }

    @Test func compositionChecksTheCenterLabels() throws {
        let composition = try RegularizedLoss(loss: "contrastive", regularizers: [
            (nil, "center(num-classes=4, embedding-size=5)", "embeddings"),
        ])
        let problem = Problems.standard()
        #expect(throws: SimileError.self) {
            try composition(problem.embeddings, Array(repeating: 7, count: 10))
        }
    }
}
