import Foundation
import Testing
@testable import Simile

/// The MLP embedding network: gradients against finite differences, values against PyTorch,
/// initialisation, dropout, checkpoints, text specs and input errors.
struct MLPTests {
    // MARK: - Finite differences

    /// A simple loss on the output, L = Σ c⊙y + ½ Σ y², whose dL/dy = c + y.
    static func loss(_ y: Matrix<Double>, _ c: Matrix<Double>) -> (Double, Matrix<Double>) {
        var value = 0.0
        var gradient = y
        for k in y.elements.indices {
            value += c.elements[k] * y.elements[k] + 0.5 * y.elements[k] * y.elements[k]
            gradient.elements[k] = c.elements[k] + y.elements[k]
        }
        return (value, gradient)
    }

    static let gradientSpecs = [
        "mlp(input=4, hidden=[5, 6], output=3, activation=relu)",
        "mlp(input=4, hidden=[5], output=3, activation=gelu, layer-norm=true, dropout=0.3)",
        "mlp(input=3, hidden=[6, 4], output=3, activation=gelu-tanh, layer-norm=true, normalize=false)",
        "mlp(input=4, hidden=[7, 5], output=2, activation=gelu, dropout=0.25, normalize=true)",
        "mlp(input=5, output=3)",
        "mlp(input=5, output=3, normalize=false)",
    ]

    /// Central differences (h = 1e-6) in Double; entry k passes when
    /// |numeric − analytic| ≤ 1e-6·(1 + ‖g‖∞) + 1e-4·|analytic| (see GradientCheck).
    @Test(arguments: gradientSpecs)
    func gradientsMatchFiniteDifferences(_ text: String) throws {
        let spec = try MLPSpec(text)
        let model = MLP<Double>(spec, seed: 11)
        let x = Problems.gaussian(rows: 6, columns: spec.inputSize, seed: 5)
        let c = Problems.gaussian(rows: 6, columns: spec.outputSize, seed: 6)
        let step: UInt64 = 3
        let pass = try model.forward(x, step: step)
        let (_, upstream) = Self.loss(pass.output, c)
        let gradients = try model.backward(pass, outputGradient: upstream)
        let h = GradientCheck.step

        func value(_ m: MLP<Double>, _ input: Matrix<Double>) throws -> Double {
            Self.loss(try m.forward(input, step: step).output, c).0
        }
        var problems: [String] = []
        func compare(_ name: String, _ analytic: Matrix<Double>, _ numeric: (Int) throws -> Double) rethrows {
            let scale = analytic.maxAbsoluteValue
            for k in analytic.elements.indices {
                let n = try numeric(k), a = analytic.elements[k]
                if abs(n - a) > 1e-6 * (1 + scale) + 1e-4 * abs(a) {
                    problems.append("\(name)[\(k)]: analytic \(a), numeric \(n)")
                }
            }
        }
        #expect(Set(gradients.parameters.keys) == Set(model.parameterNames))
        for name in model.parameterNames {
            let analytic = try #require(gradients.parameters[name])
            try compare(name, analytic) { k in
                var plus = model, minus = model
                plus.parameters[name]!.elements[k] += h
                minus.parameters[name]!.elements[k] -= h
                return (try value(plus, x) - value(minus, x)) / (2 * h)
            }
        }
        let inputGradient = try #require(gradients.input)
        try compare("input", inputGradient) { k in
            var plus = x, minus = x
            plus.elements[k] += h
            minus.elements[k] -= h
            return (try value(model, plus) - value(model, minus)) / (2 * h)
        }
        #expect(problems.isEmpty, "\(problems.prefix(8))")
        // A gradient that is zero everywhere would pass trivially: make sure this one is not.
        #expect(gradients.parameters["layer0.weight"]!.maxAbsoluteValue > 1e-3)
    }

    @Test func inputGradientCanBeSkipped() throws {
        let model = MLP<Double>(try MLPSpec("mlp(input=3, hidden=[4], output=2)"), seed: 1)
        let x = Problems.gaussian(rows: 3, columns: 3, seed: 2)
        let pass = try model.forward(x, step: 0)
        let upstream = Problems.gaussian(rows: 3, columns: 2, seed: 3)
        let without = try model.backward(pass, outputGradient: upstream, inputGradient: false)
        let with = try model.backward(pass, outputGradient: upstream)
        #expect(without.input == nil)
        #expect(with.input != nil)
        #expect(without.parameters == with.parameters)
    }

    // MARK: - PyTorch

    struct TorchMLPFile: Decodable {
        struct Case: Decodable, Sendable, CustomTestStringConvertible {
            let id: String
            let spec: String
            let parameters: [String: [[Double]]]
            let input: [[Double]]
            let output: [[Double]]
            let loss_weights: [[Double]]
            let parameter_gradients: [String: [[Double]]]
            let input_gradient: [[Double]]
            var testDescription: String { id }
        }
        let cases: [Case]
    }

    static var torchCases: [TorchMLPFile.Case] {
        let url = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("torch/mlp.json")
        guard let data = try? Data(contentsOf: url),
              let file = try? JSONDecoder().decode(TorchMLPFile.self, from: data) else { return [] }
        return file.cases
    }

    @Test func torchFixturesExist() {
        #expect(Self.torchCases.count >= 4)
    }

    /// torch.nn.Sequential(Linear, LayerNorm, GELU, ...) + F.normalize with the same weights gives
    /// the same output and gradients (float64; differences ≤ 1e-12 relative to the largest entry).
    @Test(arguments: torchCases)
    func matchesPyTorch(_ fixture: TorchMLPFile.Case) throws {
        let spec = try MLPSpec(fixture.spec)
        let parameters = try fixture.parameters.mapValues { try Matrix<Double>($0) }
        let model = try MLP<Double>(spec: spec, seed: 0, parameters: parameters)
        let x = try Matrix<Double>(fixture.input)
        let embedded = try model.embed(x)
        #expect(maxDifference(embedded, fixture.output) <= 1e-12 * (1 + maxAbsolute(fixture.output)))
        let pass = try model.forward(x, step: 0)
        #expect(maxDifference(pass.output, fixture.output) <= 1e-12 * (1 + maxAbsolute(fixture.output)))
        let gradients = try model.backward(pass, outputGradient: try Matrix<Double>(fixture.loss_weights))
        for (name, expected) in fixture.parameter_gradients {
            let got = try #require(gradients.parameters[name], "no gradient for \(name)")
            #expect(maxDifference(got, expected) <= 1e-11 * (1 + maxAbsolute(expected)), "\(name)")
        }
        #expect(maxDifference(try #require(gradients.input), fixture.input_gradient)
                    <= 1e-11 * (1 + maxAbsolute(fixture.input_gradient)))
    }

    // MARK: - Initialisation

    @Test func initialisationIsPyTorchsLinearDefaultAndDeterministic() throws {
        let spec = try MLPSpec(inputSize: 200, hidden: [300], outputSize: 16, layerNorm: true)
        let a = MLP<Float>(spec, seed: 42), b = MLP<Float>(spec, seed: 42), c = MLP<Float>(spec, seed: 43)
        #expect(a == b)
        #expect(a.parameters["layer0.weight"] != c.parameters["layer0.weight"])
        for layer in 0..<spec.linearLayers {
            let inputs = spec.layerShape(layer).inputs
            let bound = 1 / Double(inputs).squareRoot()
            for name in ["layer\(layer).weight", "layer\(layer).bias"] {
                let values = a.parameters[name]!.elements.map(Double.init)
                #expect(values.allSatisfy { abs($0) <= bound }, "\(name) outside ±1/√\(inputs)")
                guard values.count > 1000 else { continue }
                // U(−b, b): mean 0, variance b²/3.
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
                #expect(abs(mean) < 0.02 * bound)
                #expect(abs(variance / (bound * bound / 3) - 1) < 0.03)
            }
        }
        #expect(a.parameters["norm0.gamma"]!.elements.allSatisfy { $0 == 1 })
        #expect(a.parameters["norm0.beta"]!.elements.allSatisfy { $0 == 0 })
        #expect(a.parameterNames == ["layer0.weight", "layer0.bias", "norm0.gamma", "norm0.beta", "layer1.weight", "layer1.bias"])
        #expect(spec.parameterCount == 200 * 300 + 300 + 600 + 300 * 16 + 16)
        // One layer's values do not depend on the others' shapes (each tensor has its own stream).
        let wider = MLP<Float>(try MLPSpec(inputSize: 200, hidden: [300], outputSize: 64), seed: 42)
        #expect(wider.parameters["layer0.weight"] == a.parameters["layer0.weight"])
    }

    // MARK: - Dropout

    @Test func dropoutIsSeededPerStepAndOffInInference() throws {
        let spec = try MLPSpec("mlp(input=6, hidden=[100, 100], output=8, dropout=0.3)")
        let model = MLP<Float>(spec, seed: 9)
        let x = Problems.gaussian(rows: 50, columns: 6, seed: 1).converted(to: Float.self)
        let first = try model.forward(x, step: 4), again = try model.forward(x, step: 4)
        let other = try model.forward(x, step: 5)
        let twin = try MLP<Float>(spec, seed: 9).forward(x, step: 4)
        let mask = try #require(first.dropoutMask(layer: 0))
        #expect(mask == again.dropoutMask(layer: 0))
        #expect(mask == twin.dropoutMask(layer: 0))
        #expect(first.output == again.output)
        #expect(mask != other.dropoutMask(layer: 0))
        #expect(first.dropoutMask(layer: 0) != first.dropoutMask(layer: 1))
        // Inverted dropout: kept units scaled by 1/(1 − p); about p of them dropped.
        let scale = Float(1 / 0.7)
        #expect(mask.elements.allSatisfy { $0 == 0 || $0 == scale })
        let dropped = Double(mask.elements.filter { $0 == 0 }.count) / Double(mask.elements.count)
        #expect(abs(dropped - 0.3) < 0.02)
        // Inference has no dropout, and a model without dropout trains with the inference function.
        let embedded = try model.embed(x)
        #expect(embedded != first.output)
        let plain = MLP<Float>(try MLPSpec("mlp(input=6, hidden=[20], output=8)"), seed: 9)
        #expect(maxDifference(try plain.embed(x), try plain.forward(x, step: 1).output.nestedRows.map { $0.map(Double.init) }) < 1e-6)
        #expect(try plain.forward(x, step: 1).dropoutMask(layer: 0) == nil)
    }

    // MARK: - Checkpoints

    @Test func codableRoundTripIsBitExact() throws {
        let spec = try MLPSpec("mlp(input=5, hidden=[7], output=3, activation=gelu, layer-norm=true, dropout=0.1)")
        var model = MLP<Float>(spec, seed: 3)
        // Awkward values: −0, a subnormal, extremes.
        model.parameters["layer0.bias"]!.elements[0] = -0.0
        model.parameters["layer0.bias"]!.elements[1] = Float.leastNonzeroMagnitude
        model.parameters["layer0.bias"]!.elements[2] = Float.greatestFiniteMagnitude / 4
        model.parameters["layer0.bias"]!.elements[3] = 0.1
        let data = try JSONEncoder().encode(model)
        let decoded = try JSONDecoder().decode(MLP<Float>.self, from: data)
        #expect(decoded.spec == model.spec)
        #expect(decoded.seed == model.seed)
        for name in model.parameterNames {
            #expect(decoded.parameters[name]!.elements.map(\.bitPattern) == model.parameters[name]!.elements.map(\.bitPattern),
                    "\(name) changed")
        }
        let x = Problems.gaussian(rows: 4, columns: 5, seed: 8).converted(to: Float.self)
        #expect(try decoded.forward(x, step: 2).output == model.forward(x, step: 2).output)
        // A Double model round-trips too, and its spec on its own.
        let double = MLP<Double>(spec, seed: 3)
        #expect(try JSONDecoder().decode(MLP<Double>.self, from: JSONEncoder().encode(double)) == double)
        #expect(try JSONDecoder().decode(MLPSpec.self, from: JSONEncoder().encode(spec)) == spec)
    }

    @Test func checkpointsAreChecked() throws {
        let model = MLP<Float>(try MLPSpec("mlp(input=3, hidden=[4], output=2)"), seed: 0)
        var object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(model)) as? [String: Any])
        var parameters = try #require(object["parameters"] as? [String: Any])
        parameters["layer0.weight"] = parameters["layer1.weight"]
        object["parameters"] = parameters
        let broken = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: SimileError.self) { try JSONDecoder().decode(MLP<Float>.self, from: broken) }
        var withNaN = model.parameters
        withNaN["layer1.bias"]!.elements[0] = .nan
        #expect(throws: SimileError.self) { try MLP<Float>(spec: model.spec, seed: 0, parameters: withNaN) }
        // float64 data is not silently rounded into a Float model.
        let double = try JSONEncoder().encode(model.converted(to: Double.self))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MLP<Float>.self, from: double) }
        // float32 data reads exactly into a Double model.
        let widened = try JSONDecoder().decode(MLP<Double>.self, from: JSONEncoder().encode(model))
        #expect(widened == model.converted(to: Double.self))
    }

    @Test func matrixDecodesHandWrittenElements() throws {
        let json = #"{"rows": 2, "columns": 2, "elements": [1, 2.5, -3, 0.1]}"#
        let matrix = try JSONDecoder().decode(Matrix<Float>.self, from: Data(json.utf8))
        #expect(matrix == Matrix(rows: 2, columns: 2, elements: [1, 2.5, -3, 0.1]))
        let short = #"{"rows": 2, "columns": 2, "elements": [1, 2.5, -3]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Matrix<Float>.self, from: Data(short.utf8)) }
    }

    // MARK: - Text

    @Test func specParsesAndPrintsBack() throws {
        let spec = try MLPSpec("mlp(hidden=[64,64], output=32, activation=gelu, layer-norm=true, dropout=0.1)", inputSize: 13)
        #expect(spec == (try MLPSpec(inputSize: 13, hidden: [64, 64], outputSize: 32, activation: .gelu, layerNorm: true,
                                     dropout: 0.1, normalize: true)))
        #expect(try MLPSpec(spec.description) == spec)
        #expect(spec.description == "mlp(input=13, hidden=[64, 64], output=32, activation=gelu, layer-norm=true, dropout=0.1, normalize=true)")
        #expect(try MLPSpec("mlp(input=3, hidden=8, output=2)").hidden == [8])
        #expect(try MLPSpec("mlp(output=2)", inputSize: 4).hidden == [])
        #expect(try MLPSpec("mlp(output=2, activation=gelu-tanh)", inputSize: 4).activation == .geluTanh)
    }

    @Test func specErrorsNameTheProblem() {
        func message(_ text: String, inputSize: Int? = 4) -> String {
            do {
                _ = try MLPSpec(text, inputSize: inputSize)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("mlp(hiden=[8], output=2)").contains("did you mean 'hidden'"))
        #expect(message("mlp(hidden=[8])").contains("'output'"))
        #expect(message("mlp(output=2)", inputSize: nil).contains("'input'"))
        #expect(message("mlp(input=5, output=2)").contains("input=5 but the data has 4"))
        #expect(message("mlp(hidden=[8.5], output=2)").contains("whole number"))
        #expect(message("mlp(hidden=[0], output=2)").contains("out of range"))
        #expect(message("mlp(output=2, dropout=1)").contains("dropout"))
        #expect(message("mlp(output=2, activation=gleu)").contains("did you mean 'gelu'"))
        #expect(message("mlp(output=2, layer-norm=maybe)").contains("true or false"))
        #expect(message("cnn(output=2)").contains("expected 'mlp"))
        #expect(throws: SimileError.self) { try MLPSpec(inputSize: 3, outputSize: 2, dropout: -0.1) }
        #expect(MLPSpec.schema.declarationProblems.isEmpty)
    }

    // MARK: - Bad input

    @Test func badInputsThrowClearErrors() throws {
        let model = MLP<Float>(try MLPSpec("mlp(input=3, hidden=[4], output=2)"), seed: 0)
        #expect(throws: SimileError.shapeMismatch(
            "the input has 2 columns but the model takes 3 features (mlp input=3)")) {
            try model.embed(Matrix(rows: 1, columns: 2))
        }
        #expect(throws: SimileError.self) { try model.forward(Matrix(rows: 0, columns: 3), step: 0) }
        var bad = Matrix<Float>(rows: 2, columns: 3, repeating: 1)
        bad[1, 2] = .infinity
        #expect(throws: SimileError.nonFinite(input: "input", row: 1, column: 2, value: .infinity)) { try model.embed(bad) }
        let pass = try model.forward(Matrix(rows: 2, columns: 3, repeating: 0.5), step: 0)
        #expect(throws: SimileError.self) { try model.backward(pass, outputGradient: Matrix(rows: 2, columns: 3)) }
        var nanGradient = Matrix<Float>(rows: 2, columns: 2)
        nanGradient[0, 0] = .nan
        #expect(throws: SimileError.self) { try model.backward(pass, outputGradient: nanGradient) }
        let other = MLP<Float>(try MLPSpec("mlp(input=3, hidden=[5], output=2)"), seed: 0)
        #expect(throws: SimileError.self) { try other.backward(pass, outputGradient: Matrix(rows: 2, columns: 2)) }
        // Parameters that overflowed give an error, not NaN embeddings.
        var broken = model
        broken.parameters["layer1.bias"]!.elements[0] = .nan
        #expect(throws: SimileError.self) { try broken.embed(Matrix(rows: 1, columns: 3, repeating: 1)) }
        broken.parameters["layer1.bias"] = Matrix(rows: 1, columns: 3)
        #expect(throws: SimileError.self) { try broken.embed(Matrix(rows: 1, columns: 3, repeating: 1)) }
    }

    // MARK: - Inference in blocks

    @Test func embedInBlocksMatchesOnePass() throws {
        let model = MLP<Float>(try MLPSpec("mlp(input=3, hidden=[8], output=4, layer-norm=true, activation=gelu)"), seed: 5)
        let rows = MLP<Float>.embedBlockRows + 37
        let x = Problems.gaussian(rows: rows, columns: 3, seed: 4).converted(to: Float.self)
        let all = try model.embed(x)
        #expect(all.rows == rows && all.columns == 4)
        let tail = Matrix(rows: 37, columns: 3, elements: Array(x.elements[(x.elements.count - 111)...]))
        let tailEmbedded = try model.embed(tail)
        #expect(Array(all.elements[(all.elements.count - 148)...]) == tailEmbedded.elements)
        // Each output row is unit length.
        for i in stride(from: 0, to: rows, by: 997) {
            let norm = all.row(i).reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }
}
