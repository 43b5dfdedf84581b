import Foundation
import Testing
@testable import Simile

/// The optimizers, schedules, parameter groups and clipping: PyTorch's values, convergence,
/// frozen groups, checkpoints, non-finite gradients and errors.
struct OptimizerTests {
    // MARK: - PyTorch reference

    struct TorchFile: Decodable {
        struct Group: Decodable, Sendable {
            let name: String
            let parameters: [String]
            let learning_rate_multiplier: Double
            let weight_decay: Double?
        }
        struct Clipping: Decodable, Sendable {
            let max_norm: Double
            let groups: [String]
        }
        struct Step: Decodable, Sendable {
            let gradients: [String: [[Double]]]
            let learning_rate: Double
            let gradient_norm: Double?
            let parameters: [String: [[Double]]]
        }
        struct Case: Decodable, Sendable, CustomTestStringConvertible {
            let id: String
            let optimizer: String
            let dtype: String
            let groups: [Group]
            let clipping: Clipping?
            let schedule: String?
            let initial: [String: [[Double]]]
            let steps: [Step]
            var testDescription: String { id }
        }
        struct Schedule: Decodable, Sendable, CustomTestStringConvertible {
            let schedule: String
            let base: Double
            let values: [Double]
            var testDescription: String { schedule }
        }
        let cases: [Case]
        let schedules: [Schedule]
    }

    static let torch: TorchFile? = {
        let url = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("torch/optimizers.json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(TorchFile.self, from: data)
    }()

    @Test func torchFixturesExist() {
        #expect((Self.torch?.cases.count ?? 0) >= 16)
        #expect((Self.torch?.schedules.count ?? 0) >= 7)
    }

    /// Runs a fixture's steps in S, checking the parameters after every step.
    /// Tolerance: float64 1e-12·(1 + |x|); float32 4e-6·(1 + |x|) (PyTorch fuses some float32
    /// operations differently, so the last bits differ).
    func run<S: SimileFloat>(_ fixture: TorchFile.Case, as type: S.Type) throws {
        let tolerance = S.self == Double.self ? 1e-12 : 4e-6
        let groups = fixture.groups.map {
            ParameterGroup(name: $0.name, parameters: $0.parameters, learningRateMultiplier: $0.learning_rate_multiplier,
                           weightDecay: $0.weight_decay)
        }
        let clipping = try fixture.clipping.map { try GradientClipping(maxNorm: $0.max_norm, groups: $0.groups) }
        var optimizer = try Optimizer<S>(fixture.optimizer, groups: groups, clipping: clipping)
        let schedule = try fixture.schedule.map { try LearningRateSchedule($0) }
        var parameters = try fixture.initial.mapValues { try Matrix<Double>($0).converted(to: S.self) }
        for (index, step) in fixture.steps.enumerated() {
            let gradients = try step.gradients.mapValues { try Matrix<Double>($0).converted(to: S.self) }
            let rate = schedule?.learningRate(base: optimizer.settings.learningRate, at: optimizer.state.steps)
            if let rate { #expect(abs(rate - step.learning_rate) <= 1e-15 * step.learning_rate, "step \(index) rate") }
            let report = try optimizer.step(&parameters, gradients: gradients, learningRate: rate)
            if let norm = step.gradient_norm {
                #expect(abs(report.gradientNorm - norm) <= 1e-12 * norm + (S.self == Double.self ? 0 : 1e-5 * norm),
                        "step \(index) norm \(report.gradientNorm) vs \(norm)")
            }
            for (name, expected) in step.parameters {
                let got = try #require(parameters[name])
                let difference = maxDifference(got, expected)
                #expect(difference <= tolerance * (1 + maxAbsolute(expected)),
                        "\(fixture.id) step \(index) \(name): differs by \(difference)")
            }
        }
        #expect(optimizer.state.steps == fixture.steps.count)
    }

    @Test(arguments: torch?.cases ?? [])
    func matchesPyTorch(_ fixture: TorchFile.Case) throws {
        if fixture.dtype == "float32" {
            try run(fixture, as: Float.self)
        } else {
            try run(fixture, as: Double.self)
        }
    }

    @Test(arguments: torch?.schedules ?? [])
    func scheduleMatchesPyTorch(_ fixture: TorchFile.Schedule) throws {
        let schedule = try LearningRateSchedule(fixture.schedule)
        for (t, expected) in fixture.values.enumerated() {
            let got = schedule.learningRate(base: fixture.base, at: t)
            #expect(abs(got - expected) <= 1e-14 * fixture.base, "t = \(t): \(got) vs \(expected)")
        }
        #expect(try LearningRateSchedule(schedule.description) == schedule)
    }

    // MARK: - Schedules

    @Test func schedulesComposeAndFollowTheirUnit() throws {
        let schedule = try LearningRateSchedule.warmup(4, startFactor: 0.25, then: .cosine(steps: 8, minimum: 0.01))
        #expect(schedule.learningRate(base: 1, at: 0) == 0.25)
        #expect(schedule.learningRate(base: 1, at: 4) == 1)
        #expect(abs(schedule.learningRate(base: 1, at: 8) - (0.01 + 0.99 * 0.5)) < 1e-15)
        #expect(try LearningRateSchedule("cosine(steps=8, min-lr=0.01, warmup=4, warmup-start-factor=0.25)") == schedule)
        // Past its length the cosine stays at its floor (PyTorch's would climb back up).
        #expect(schedule.learningRate(base: 1, at: 12) == 0.01)
        #expect(schedule.learningRate(base: 1, at: 1000) == 0.01)
        let perEpoch = try LearningRateSchedule("step(step-size=2, gamma=0.5, unit=epoch)")
        #expect(perEpoch.learningRate(base: 1, step: 999, epoch: 3) == 0.5)
        let perStep = try LearningRateSchedule("step(step-size=2, gamma=0.5)")
        #expect(perStep.learningRate(base: 1, step: 4, epoch: 0) == 0.25)
        #expect(LearningRateSchedule.constant.learningRate(base: 0.3, at: 77) == 0.3)
        let nested = try LearningRateSchedule(.sequence([.constant, .step(size: 1, gamma: 0.5), .linear(startFactor: 1, endFactor: 0, steps: 2)],
                                                        milestones: [2, 4]))
        #expect((0..<8).map { nested.learningRate(base: 1, at: $0) } == [1, 1, 1, 0.5, 1, 0.5, 0, 0])
        #expect(try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(nested)) == nested)
    }

    @Test func scheduleErrors() {
        #expect(throws: SimileError.self) { try LearningRateSchedule("cosine") }
        #expect(throws: SimileError.self) { try LearningRateSchedule("cosine(steps=0)") }
        #expect(throws: SimileError.self) { try LearningRateSchedule("cosine(steps=5, warmup-start-factor=0)") }
        #expect(throws: SimileError.self) { try LearningRateSchedule(.sequence([.constant, .constant], milestones: [])) }
        #expect(throws: SimileError.self) { try LearningRateSchedule(.sequence([.constant, .constant, .constant], milestones: [3, 3])) }
        do {
            _ = try LearningRateSchedule("cosin(steps=5)")
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("did you mean 'cosine'"))
        }
        for schema in LearningRateSchedule.schemas { #expect(schema.declarationProblems.isEmpty, "\(schema.name)") }
    }

    // MARK: - Text forms

    @Test func settingsParsePrintAndEncode() throws {
        for text in ["sgd", "sgd(lr=0.1, momentum=0.9, nesterov=true)", "adam", "adam(betas=[0.8, 0.95], amsgrad=true)",
                     "adamw(lr=3e-4, weight-decay=0.05)", "rmsprop(centered=true, momentum=0.9)"] {
            let settings = try OptimizerSettings(text)
            #expect(try OptimizerSettings(settings.description) == settings, "\(text)")
            #expect(try JSONDecoder().decode(OptimizerSettings.self, from: JSONEncoder().encode(settings)) == settings)
        }
        // PyTorch's defaults.
        #expect(try OptimizerSettings("sgd") == .sgd(try SGD()))
        #expect(try SGD().learningRate == 1e-3)
        #expect(try Adam() == Adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, amsgrad: false))
        #expect(try AdamW().weightDecay == 1e-2)
        #expect(try RMSprop().learningRate == 1e-2 && RMSprop().alpha == 0.99)
        #expect(try OptimizerSettings("adam").description == "adam(lr=0.001, betas=[0.9, 0.999], eps=1e-08, weight-decay=0, amsgrad=false)")
        #expect(try Adam(["lr=0.5"]).learningRate == 0.5)
        #expect(try AdamW(text: "adamw(lr=0.5)").learningRate == 0.5)
        #expect(try GradientClipping("clip-grad-norm(max-norm=2, groups=[model, proxies])")
                    == GradientClipping(maxNorm: 2, groups: ["model", "proxies"]))
        for schema in OptimizerSettings.schemas + [GradientClipping.schema] {
            #expect(schema.declarationProblems.isEmpty, "\(schema.name)")
        }
    }

    @Test func settingsErrorsNameTheFix() {
        func message(_ text: String) -> String {
            do {
                _ = try OptimizerSettings(text)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("sgd(nesterov=true)").contains("needs momentum > 0"))
        #expect(message("sgd(momentum=0.9, dampening=0.1, nesterov=true)").contains("dampening=0"))
        #expect(message("adam(betas=[0.9])").contains("two numbers"))
        #expect(message("adam(betas=[0.9, 1])").contains("out of range"))
        #expect(message("adam(lr=-1)").contains("out of range"))
        #expect(message("adamw(weight_decay=0.1)").contains("weight-decay"))
        #expect(message("adm").contains("did you mean 'adam'"))
        #expect(throws: SimileError.self) { try Adam(learningRate: .nan) }
        #expect(throws: SimileError.self) { try RMSprop(alpha: 1.5) }
        #expect(throws: SimileError.self) { try GradientClipping(maxNorm: 0) }
    }

    // MARK: - Behaviour

    /// f(θ) = ½ Σ aₖ(θₖ − tₖ)², a well-conditioned convex quadratic.
    static func quadratic(_ theta: Matrix<Double>) -> (Double, Matrix<Double>) {
        var value = 0.0
        var gradient = theta
        for k in theta.elements.indices {
            let a = 1 + Double(k % 3), t = Double(k) / 4 - 1
            let d = theta.elements[k] - t
            value += 0.5 * a * d * d
            gradient.elements[k] = a * d
        }
        return (value, gradient)
    }

    @Test(arguments: ["sgd(lr=0.1, momentum=0.9)", "sgd(lr=0.2)", "adam(lr=0.05)", "adamw(lr=0.05, weight-decay=0)",
                      "rmsprop(lr=0.05, centered=true)", "sgd(lr=0.05, momentum=0.9, nesterov=true)"])
    func convergesOnAConvexProblem(_ text: String) throws {
        var optimizer = try Optimizer<Double>(text, groups: [ParameterGroup(name: "all", parameters: ["theta"])])
        let schedule = try LearningRateSchedule("cosine(steps=400, min-lr=0.0001, warmup=10)")
        var parameters = ["theta": Matrix<Double>(rows: 2, columns: 4, repeating: 3)]
        let start = Self.quadratic(parameters["theta"]!).0
        for _ in 0..<400 {
            let (_, gradient) = Self.quadratic(parameters["theta"]!)
            try optimizer.step(&parameters, gradients: ["theta": gradient],
                               learningRate: schedule.learningRate(base: optimizer.settings.learningRate, at: optimizer.state.steps))
        }
        let end = Self.quadratic(parameters["theta"]!).0
        #expect(end < 1e-4 * start, "\(text): \(start) → \(end)")
    }

    @Test func groupsScaleTheRateAndFrozenGroupsDoNotMove() throws {
        var optimizer = try Optimizer<Float>(
            "sgd(lr=0.1, weight-decay=0.5)",
            groups: [ParameterGroup(name: "model", parameters: ["w"]),
                     ParameterGroup(name: "proxies", parameters: ["p"], learningRateMultiplier: 10, weightDecay: 0),
                     ParameterGroup(name: "frozen", parameters: ["beta"], learningRateMultiplier: 0)],
            clipping: GradientClipping(maxNorm: 1e9))
        var parameters: [String: Matrix<Float>] = ["w": Matrix(rows: 1, columns: 2, repeating: 1),
                                                   "p": Matrix(rows: 1, columns: 2, repeating: 1),
                                                   "beta": Matrix(rows: 1, columns: 1, repeating: 1.2)]
        let gradients: [String: Matrix<Float>] = ["w": Matrix(rows: 1, columns: 2, repeating: 1),
                                                  "p": Matrix(rows: 1, columns: 2, repeating: 1),
                                                  "beta": Matrix(rows: 1, columns: 1, repeating: 1000)]
        let report = try optimizer.step(&parameters, gradients: gradients)
        // w: 1 − 0.1·(1 + 0.5·1); p: 1 − 1.0·1 (no decay); beta: untouched, bit for bit.
        #expect(parameters["w"]!.elements.allSatisfy { abs($0 - 0.85) < 1e-6 })
        #expect(parameters["p"]!.elements == [0, 0])
        #expect(parameters["beta"]!.elements[0].bitPattern == Float(1.2).bitPattern)
        #expect(optimizer.state.parameters["beta"] == nil)
        #expect(report.groupLearningRates == ["model": 0.1, "proxies": 1.0, "frozen": 0])
        #expect(report.updatedParameters == 2)
        // The frozen gradient does not count in the norm: √(1 + 1 + 1 + 1) = 2.
        #expect(abs(report.gradientNorm - 2) < 1e-12)
        // A NaN in a frozen parameter's gradient is ignored as well.
        var nan = gradients
        nan["beta"]!.elements[0] = .nan
        #expect(throws: Never.self) { try optimizer.step(&parameters, gradients: nan) }
        #expect(parameters["beta"]!.elements[0].bitPattern == Float(1.2).bitPattern)
    }

    @Test func clippingScalesOnlyTheChosenGroups() throws {
        var optimizer = try Optimizer<Double>(
            "sgd(lr=1)",
            groups: [ParameterGroup(name: "model", parameters: ["w"]), ParameterGroup(name: "proxies", parameters: ["p"])],
            clipping: GradientClipping(maxNorm: 1, groups: ["model"]))
        var parameters: [String: Matrix<Double>] = ["w": Matrix(rows: 1, columns: 2), "p": Matrix(rows: 1, columns: 2)]
        let report = try optimizer.step(&parameters, gradients: ["w": Matrix(rows: 1, columns: 2, elements: [3, 4]),
                                                                 "p": Matrix(rows: 1, columns: 2, elements: [3, 4])])
        let c = 1 / (5 + 1e-6)
        #expect(report.gradientNorm == 5)
        #expect(report.clipCoefficient == c)
        #expect(parameters["w"]!.elements == [-3 * c, -4 * c])
        #expect(parameters["p"]!.elements == [-3, -4])
        // Under the limit nothing changes.
        let small = try optimizer.step(&parameters, gradients: ["w": Matrix(rows: 1, columns: 2, elements: [0.3, 0.4])])
        #expect(small.clipCoefficient == 1)
        #expect(optimizer.gradientNorm(["w": Matrix(rows: 1, columns: 2, elements: [0.3, 0.4])]) == 0.5)
    }

    /// Three steps, a checkpoint (JSON), three more steps give the same bits as six steps straight.
    @Test(arguments: ["sgd(lr=0.1, momentum=0.9, nesterov=true, weight-decay=0.01)", "adam(lr=0.01, amsgrad=true)",
                      "adamw(lr=0.01)", "rmsprop(lr=0.01, momentum=0.5, centered=true)"])
    func resumingFromACheckpointIsBitIdentical(_ text: String) throws {
        let groups = [ParameterGroup(name: "model", parameters: ["w", "b"]),
                      ParameterGroup(name: "proxies", parameters: ["p"], learningRateMultiplier: 100, weightDecay: 0)]
        let schedule = try LearningRateSchedule("cosine(steps=6, warmup=2)")
        func gradients(_ step: Int) -> [String: Matrix<Float>] {
            ["w": Problems.gaussian(rows: 3, columns: 4, seed: UInt64(10 + step)).converted(to: Float.self),
             "b": Problems.gaussian(rows: 1, columns: 3, seed: UInt64(20 + step)).converted(to: Float.self),
             "p": Problems.gaussian(rows: 2, columns: 4, seed: UInt64(30 + step)).converted(to: Float.self)]
        }
        func advance(_ optimizer: inout Optimizer<Float>, _ parameters: inout [String: Matrix<Float>], _ steps: Range<Int>) throws {
            for step in steps {
                try optimizer.step(&parameters, gradients: gradients(step),
                                   learningRate: schedule.learningRate(base: optimizer.settings.learningRate, at: optimizer.state.steps))
            }
        }
        let initial = gradients(99)
        var straight = try Optimizer<Float>(text, groups: groups, clipping: GradientClipping(maxNorm: 2, groups: ["model"]))
        var straightParameters = initial
        try advance(&straight, &straightParameters, 0..<6)

        var first = try Optimizer<Float>(text, groups: groups, clipping: GradientClipping(maxNorm: 2, groups: ["model"]))
        var resumedParameters = initial
        try advance(&first, &resumedParameters, 0..<3)
        let checkpoint = try JSONEncoder().encode(Checkpoint(optimizer: first, parameters: resumedParameters))
        let restored = try JSONDecoder().decode(Checkpoint.self, from: checkpoint)
        #expect(restored.optimizer == first)
        var resumed = restored.optimizer
        var parameters = restored.parameters
        try advance(&resumed, &parameters, 3..<6)
        for name in ["w", "b", "p"] {
            #expect(parameters[name]!.elements.map(\.bitPattern) == straightParameters[name]!.elements.map(\.bitPattern), "\(name)")
        }
        #expect(resumed.state == straight.state)
        for (name, state) in straight.state.parameters {
            for (buffer, value) in state.buffers {
                #expect(resumed.state.parameters[name]!.buffers[buffer]!.elements.map(\.bitPattern) == value.elements.map(\.bitPattern))
            }
        }
    }

    struct Checkpoint: Codable {
        let optimizer: Optimizer<Float>
        let parameters: [String: Matrix<Float>]
    }

    @Test func nonFiniteGradientsAreReportedBeforeAnyChange() throws {
        var optimizer = try Optimizer<Float>("adam(lr=0.1)", groups: [ParameterGroup(name: "all", parameters: ["a", "b"])])
        var parameters: [String: Matrix<Float>] = ["a": Matrix(rows: 2, columns: 2, repeating: 1), "b": Matrix(rows: 1, columns: 3)]
        var gradients: [String: Matrix<Float>] = ["a": Matrix(rows: 2, columns: 2, repeating: 1), "b": Matrix(rows: 1, columns: 3)]
        #expect(NonFiniteGradient.first(in: gradients) == nil)
        try optimizer.step(&parameters, gradients: gradients)
        let before = parameters, stateBefore = optimizer.state
        gradients["b"]![0, 2] = -.infinity
        let found = try #require(NonFiniteGradient.first(in: gradients))
        #expect(found == NonFiniteGradient(parameter: "b", row: 0, column: 2, value: -.infinity))
        #expect(found.description.contains("'b'"))
        #expect(throws: SimileError.nonFinite(input: "the gradient of 'b'", row: 0, column: 2, value: -.infinity)) {
            try optimizer.step(&parameters, gradients: gradients)
        }
        // Nothing moved, not even "a", which comes first.
        #expect(parameters == before)
        #expect(optimizer.state == stateBefore)
    }

    @Test func parametersWithoutGradientsKeepTheirState() throws {
        var optimizer = try Optimizer<Double>("adam", groups: [ParameterGroup(name: "all", parameters: ["a", "b"])])
        var parameters: [String: Matrix<Double>] = ["a": Matrix(rows: 1, columns: 1), "b": Matrix(rows: 1, columns: 1)]
        let one = Matrix<Double>(rows: 1, columns: 1, repeating: 1)
        try optimizer.step(&parameters, gradients: ["a": one, "b": one])
        let report = try optimizer.step(&parameters, gradients: ["a": one])
        #expect(report.updatedParameters == 1)
        #expect(optimizer.state.parameters["a"]!.step == 2)
        #expect(optimizer.state.parameters["b"]!.step == 1)
        #expect(optimizer.state.steps == 2)
        optimizer.reset()
        #expect(optimizer.state == OptimizerState())
    }

    @Test func misuseThrowsClearErrors() throws {
        let groups = [ParameterGroup(name: "all", parameters: ["a"])]
        var optimizer = try Optimizer<Float>("sgd", groups: groups)
        var parameters: [String: Matrix<Float>] = ["a": Matrix(rows: 1, columns: 2)]
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message { try optimizer.step(&parameters, gradients: ["z": Matrix(rows: 1, columns: 2)]) }
                    .contains("no parameter group lists it"))
        #expect(message { try optimizer.step(&parameters, gradients: ["a": Matrix(rows: 2, columns: 1)]) }
                    .contains("is 2×1 but the parameter is 1×2"))
        var missing: [String: Matrix<Float>] = [:]
        #expect(message { try optimizer.step(&missing, gradients: ["a": Matrix(rows: 1, columns: 2)]) }
                    .contains("no parameter of that name"))
        #expect(message { try optimizer.step(&parameters, gradients: [:], learningRate: -1) }.contains("learning rate"))
        #expect(message { _ = try Optimizer<Float>("sgd", groups: groups + [ParameterGroup(name: "other", parameters: ["a"])]) }
                    .contains("in both group 'all' and group 'other'"))
        #expect(message { _ = try Optimizer<Float>("sgd", groups: groups + groups) }.contains("two parameter groups"))
        #expect(message { _ = try Optimizer<Float>("sgd", groups: [ParameterGroup(name: "g", parameters: ["a"], learningRateMultiplier: -1)]) }
                    .contains("out of range"))
        #expect(message { _ = try Optimizer<Float>("sgd", groups: groups, clipping: GradientClipping(maxNorm: 1, groups: ["al"])) }
                    .contains("did you mean 'all'"))
        let stray = OptimizerState<Float>(steps: 1, parameters: ["zz": ParameterState()])
        #expect(message { _ = try Optimizer<Float>(OptimizerSettings("sgd"), groups: groups, clipping: nil, state: stray) }
                    .contains("'zz'"))
    }
}
