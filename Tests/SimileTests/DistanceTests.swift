import Testing
@testable import Simile

/// Distances reproduce PML's matrices and gradients, agree with finite differences, and give
/// duplicates a zero distance with a zero subgradient.
struct DistanceTests {
    static var fixtures: [Fixtures.DistanceCase] { Fixtures.distanceCases() }

    @Test func fixturesArePresent() {
        #expect(Self.fixtures.count >= 16, "distances.json missing or short in \(Fixtures.directory.path)")
    }

    /// Double: matrix and gradients of Σ G⊙M within 1e-9 + 1e-7·scale.
    @Test(arguments: fixtures)
    func matchesPML(_ fixture: Fixtures.DistanceCase) throws {
        let distance = try Registry.builtin.distance(fixture.distance)
        let x = try Matrix<Double>(fixture.input.x)
        let y = try fixture.input.y.map { try Matrix<Double>($0) }
        let upstream = try Matrix<Double>(fixture.input.upstream)
        let forward = try distance.forward(x, y)
        #expect(maxDifference(forward.values, fixture.expected.matrix) <= 1e-9 + 1e-7 * maxAbsolute(fixture.expected.matrix))
        let (gx, gy) = distance.backward(upstream, forward)
        #expect(maxDifference(gx, fixture.expected.x_gradient) <= 1e-9 + 1e-7 * maxAbsolute(fixture.expected.x_gradient))
        if let expected = fixture.expected.y_gradient {
            let got = try #require(gy)
            #expect(maxDifference(got, expected) <= 1e-9 + 1e-7 * maxAbsolute(expected))
        } else {
            #expect(gy == nil)
        }
    }

    /// Float, through the production path: within 1e-4 of the matrix scale.
    @Test(arguments: fixtures)
    func matchesPMLInFloat(_ fixture: Fixtures.DistanceCase) throws {
        let distance = try Registry.builtin.distance(fixture.distance)
        let x = try Matrix<Float>(fixture.input.x.map { $0.map(Float.init) })
        let y = try fixture.input.y.map { try Matrix<Float>($0.map { $0.map(Float.init) }) }
        let forward = try distance.forward(x, y)
        #expect(maxDifference(forward.values, fixture.expected.matrix) <= 1e-5 + 1e-4 * maxAbsolute(fixture.expected.matrix))
    }

    static let specs = ["lp", "lp(power=2)", "lp(normalize=false)", "lp(p=3)", "lp(p=1.5, power=3)", "cosine", "dot",
                        "dot(normalize=false)", "manhattan", "manhattan(power=2)", "snr", "snr(normalize=false)"]

    /// d/dX Σ G⊙M(X, Y) by central differences, for the cross and the self case.
    @Test(arguments: specs, [false, true])
    func gradientsMatchFiniteDifferences(_ spec: String, selfComparison: Bool) throws {
        let distance = try Registry.builtin.distance(spec)
        let x = Problems.gaussian(rows: 6, columns: 4, seed: 3)
        let y: Matrix<Double>? = selfComparison ? nil : Problems.gaussian(rows: 5, columns: 4, seed: 4)
        let upstream = Problems.gaussian(rows: 6, columns: selfComparison ? 6 : 5, seed: 5)
        func objective(_ x: Matrix<Double>, _ y: Matrix<Double>?) throws -> Double {
            let m = try distance.forward(x, y).values
            return zip(m.elements, upstream.elements).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let (gx, gy) = distance.backward(upstream, try distance.forward(x, y))
        let h = 1e-6
        for index in x.elements.indices {
            var plus = x, minus = x
            plus.elements[index] += h
            minus.elements[index] -= h
            let numeric = (try objective(plus, y) - objective(minus, y)) / (2 * h)
            #expect(abs(numeric - gx.elements[index]) <= 1e-6 * (1 + gx.maxAbsoluteValue) + 1e-4 * abs(numeric),
                    "\(spec) x[\(index)]: \(gx.elements[index]) vs \(numeric)")
        }
        if let y, let gy {
            for index in y.elements.indices {
                var plus = y, minus = y
                plus.elements[index] += h
                minus.elements[index] -= h
                let numeric = (try objective(x, plus) - objective(x, minus)) / (2 * h)
                #expect(abs(numeric - gy.elements[index]) <= 1e-6 * (1 + gy.maxAbsoluteValue) + 1e-4 * abs(numeric),
                        "\(spec) y[\(index)]: \(gy.elements[index]) vs \(numeric)")
            }
        }
    }

    /// Exact duplicates: distance exactly 0, gradient finite (the zero subgradient at d = 0).
    @Test(arguments: ["lp", "lp(normalize=false)", "lp(power=2)", "manhattan", "snr", "lp(p=3)"])
    func duplicatesHaveZeroDistanceAndFiniteGradient(_ spec: String) throws {
        let distance = try Registry.builtin.distance(spec)
        var x = Problems.gaussian(rows: 40, columns: 16, seed: 11).converted(to: Float.self)
        for k in 0..<16 { x[1, k] = x[0, k]; x[30, k] = x[0, k] }
        let forward = try distance.forward(x, nil)
        #expect(forward.values[0, 1] == 0 && forward.values[1, 0] == 0 && forward.values[0, 30] == 0)
        let upstream = Matrix<Float>(rows: 40, columns: 40, repeating: 1)
        let (gx, _) = distance.backward(upstream, forward)
        #expect(gx.firstNonFinite() == nil)
    }

    /// Near-duplicates in Float: the Gram formula would cancel; the exact recomputation keeps
    /// the distance accurate.
    @Test func nearDuplicatesAreAccurateInFloat() throws {
        var x = Problems.gaussian(rows: 64, columns: 32, seed: 12).converted(to: Float.self)
        for k in 0..<32 { x[1, k] = x[0, k] + (k == 0 ? 1e-3 : 0) }
        let distance = try Registry.builtin.distance("lp(normalize=false)")
        let value = try distance.forward(x, nil).values[0, 1]
        #expect(abs(value - 1e-3) < 1e-6, "got \(value)")
    }

    @Test func snrRejectsConstantRowsAndOneDimension() throws {
        let snr = try Registry.builtin.distance("snr")
        let constant = Matrix<Double>(rows: 2, columns: 3, elements: [1, 1, 1, 0.2, 0.5, 0.9])
        #expect(throws: SimileError.self) { try snr.forward(constant, nil) }
        #expect(throws: SimileError.self) { try snr.forward(Matrix<Double>(rows: 3, columns: 1, repeating: 1), nil) }
    }

    @Test func referenceWidthMustMatch() throws {
        let lp = try Registry.builtin.distance("lp")
        #expect(throws: SimileError.self) {
            try lp.forward(Matrix<Double>(rows: 2, columns: 3), Matrix<Double>(rows: 2, columns: 4))
        }
    }

    @Test func orientation() throws {
        #expect(try Registry.builtin.distance("cosine").isSimilarity)
        #expect(try Registry.builtin.distance("dot").isSimilarity)
        #expect(try !Registry.builtin.distance("lp").isSimilarity)
        #expect(try Registry.builtin.distance("lp").margin(3, 1) == 2)
        #expect(try Registry.builtin.distance("cosine").margin(3, 1) == -2)
    }
}
