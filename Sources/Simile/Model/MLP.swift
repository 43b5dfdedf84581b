import RealModule

/// A multilayer-perceptron embedding network (see `MLPSpec` for the architecture), with its
/// parameters, a fast inference pass (`embed`), and a training pass (`forward`) whose cache
/// `backward` turns into parameter gradients and dL/d(input).
///
/// ```swift
/// let spec = try MLPSpec("mlp(hidden=[64, 64], output=32, activation=gelu, layer-norm=true, dropout=0.1)",
///                        inputSize: 13)
/// var model = MLP<Float>(spec, seed: 7)
/// let pass = try model.forward(batch, step: step)            // training mode: dropout on, cache kept
/// let loss = try contrastive(pass.output, labels)
/// let gradients = try model.backward(pass, outputGradient: loss.gradient)
/// try optimizer.step(&model.parameters, gradients: gradients.parameters, learningRate: lr)
/// let embeddings = try model.embed(allRows)                  // inference: no dropout, no cache
/// ```
///
/// Generic over the scalar: `Float` for work, `Double` for the finite-difference proofs. The
/// parameters are a dictionary of named matrices (`MLPSpec.parameterShapes` lists them), public
/// so that an optimizer can update them in place. The whole model is Codable, and a saved model
/// loads back bit for bit.
///
/// Initialisation, deterministic from `seed`, is PyTorch's default for `nn.Linear`: the weight
/// of a layer with `in` inputs is Kaiming-uniform with a = √5, i.e. U(−1/√in, 1/√in), and so is
/// its bias; LayerNorm starts at γ = 1, β = 0. Each tensor draws from its own stream
/// (`SeededGenerator(seed:, stream:)`: stream 2i for `layer{i}.weight`, 2i + 1 for its bias), so
/// one layer's values do not depend on the others' shapes. The numbers are PyTorch's
/// distribution, not its random stream.
public struct MLP<S: SimileFloat>: Sendable, Equatable, Codable {
    public let spec: MLPSpec
    /// Seeds the initial parameters and, with the step number, the dropout masks.
    public let seed: UInt64
    /// The parameters by name (`layer0.weight`, `layer0.bias`, `norm0.gamma`, ...).
    public var parameters: [String: Matrix<S>]

    /// A freshly initialised model.
    public init(_ spec: MLPSpec, seed: UInt64) {
        self.spec = spec
        self.seed = seed
        parameters = MLP.initialParameters(spec, seed: seed)
    }

    /// A model with given parameters (from a checkpoint or another framework); every parameter
    /// of the spec must be present, with its shape, and finite.
    public init(spec: MLPSpec, seed: UInt64, parameters: [String: Matrix<S>]) throws {
        self.spec = spec
        self.seed = seed
        self.parameters = parameters
        try checkParameters(requireFinite: true)
    }

    private enum CodingKeys: String, CodingKey { case spec, seed, parameters }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(spec: container.decode(MLPSpec.self, forKey: .spec),
                      seed: container.decode(UInt64.self, forKey: .seed),
                      parameters: container.decode([String: Matrix<S>].self, forKey: .parameters))
    }

    /// The parameter names in `MLPSpec.parameterShapes` order.
    public var parameterNames: [String] { spec.parameterShapes.map(\.name) }

    /// The same model in another scalar type (e.g. Double for a gradient check). Parameters are
    /// converted as they are; `embed` and `forward` check them.
    public func converted<T: SimileFloat>(to type: T.Type = T.self) -> MLP<T> {
        MLP<T>(unchecked: spec, seed: seed, parameters: parameters.mapValues { $0.converted(to: T.self) })
    }

    private init(unchecked spec: MLPSpec, seed: UInt64, parameters: [String: Matrix<S>]) {
        self.spec = spec
        self.seed = seed
        self.parameters = parameters
    }

    // MARK: - Inference

    /// Rows processed at a time by `embed`, which bounds its memory; fixed, so results do not
    /// depend on the machine.
    public static var embedBlockRows: Int { 16_384 }

    /// The embeddings of `input` (rows × inputSize) in inference mode: no dropout, no cache.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func embed(_ input: Matrix<S>) throws -> Matrix<S> {
        try checkInput(input)
        try checkParameters(requireFinite: false)
        try BLAS.require()
        let block = MLP.embedBlockRows
        if input.rows <= block { return try run(input, training: false, step: 0).output }
        var output = Matrix<S>(rows: input.rows, columns: spec.outputSize)
        for start in stride(from: 0, to: input.rows, by: block) {
            let end = Swift.min(input.rows, start + block)
            let part = Matrix(rows: end - start, columns: input.columns,
                              elements: Array(input.elements[(start * input.columns)..<(end * input.columns)]))
            let result = try run(part, training: false, step: 0).output
            output.elements.replaceSubrange((start * spec.outputSize)..<(end * spec.outputSize), with: result.elements)
        }
        return output
    }

    // MARK: - Training

    /// The training-mode pass: dropout on (its masks drawn from `seed` and `step`, so a step can
    /// be replayed exactly), and everything `backward` needs kept in the result.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func forward(_ input: Matrix<S>, step: UInt64) throws -> MLPForwardPass<S> {
        try checkInput(input)
        try checkParameters(requireFinite: false)
        try BLAS.require()
        return try run(input, training: true, step: step)
    }

    /// dL/d(parameters) and, when `inputGradient` is true, dL/d(input), from dL/d(output) of a
    /// training pass. It uses the parameters that pass ran with (kept in it), so it stays right
    /// even if `parameters` changed since.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func backward(_ pass: MLPForwardPass<S>, outputGradient: Matrix<S>, inputGradient: Bool = true) throws
        -> MLPGradients<S> {
        guard pass.spec == spec else {
            throw SimileError.incompatible("the forward pass was made by a different model (\(pass.spec)); pass it to that model's backward")
        }
        guard outputGradient.rows == pass.output.rows, outputGradient.columns == pass.output.columns else {
            throw SimileError.shapeMismatch(
                "the output gradient is \(outputGradient.rows)×\(outputGradient.columns) but the output was \(pass.output.rows)×\(pass.output.columns)")
        }
        try outputGradient.requireFinite("output gradient")
        try BLAS.require()
        let weights = pass.parameters
        var g = pass.normalization?.backward(outputGradient) ?? outputGradient
        var gradients: [String: Matrix<S>] = [:]
        var inputGradientMatrix: Matrix<S>?
        for layer in stride(from: spec.linearLayers - 1, through: 0, by: -1) {
            if layer < spec.hidden.count {
                let hidden = pass.hiddenLayers[layer]
                let gamma = spec.layerNorm ? weights["norm\(layer).gamma"] : nil
                if let norm = MLPKernels.hiddenBackward(
                    &g, preActivation: hidden.preActivation, normalized: hidden.normalized,
                    inverseDeviations: hidden.inverseDeviations, gamma: gamma, activation: spec.activation,
                    mask: hidden.mask) {
                    gradients["norm\(layer).gamma"] = norm.gamma
                    gradients["norm\(layer).beta"] = norm.beta
                }
            }
            let x = pass.inputs[layer]
            gradients["layer\(layer).weight"] = Matrix.product(g, transposeA: true, x)
            gradients["layer\(layer).bias"] = MLPKernels.columnSums(g)
            if layer > 0 || inputGradient {
                let next = Matrix.product(g, weights["layer\(layer).weight"]!)
                if layer == 0 { inputGradientMatrix = next } else { g = next }
            }
        }
        return MLPGradients(parameters: gradients, input: inputGradientMatrix)
    }

    // MARK: - The pass itself

    private func run(_ input: Matrix<S>, training: Bool, step: UInt64) throws -> MLPForwardPass<S> {
        var x = input
        var inputs: [Matrix<S>] = []
        var hiddenLayers: [MLPForwardPass<S>.HiddenLayer] = []
        for layer in 0..<spec.hidden.count {
            var z = linear(x, layer: layer)
            let mask = training && spec.dropout > 0 ? dropoutMask(rows: z.rows, columns: z.columns, layer: layer, step: step) : nil
            let cached = MLPKernels.hiddenForward(
                &z, gamma: spec.layerNorm ? parameters["norm\(layer).gamma"] : nil,
                beta: spec.layerNorm ? parameters["norm\(layer).beta"] : nil,
                activation: spec.activation, mask: mask, cache: training)
            if training {
                inputs.append(x)
                hiddenLayers.append(.init(preActivation: cached.preActivation!, normalized: cached.normalized,
                                          inverseDeviations: cached.inverseDeviations, mask: mask))
            }
            x = z
        }
        let last = spec.hidden.count
        let y = linear(x, layer: last)
        if training { inputs.append(x) }
        var normalization: RowNormalization<S>?
        let output: Matrix<S>
        if spec.normalize {
            let n = RowNormalization(y)
            output = n.output
            if training { normalization = n }
        } else {
            output = y
        }
        if let bad = output.firstNonFinite() {
            throw SimileError.numericalFailure(
                component: "mlp",
                message: "produced \(bad.value) at output row \(bad.row), column \(bad.column) from a finite input; its parameters have overflowed or hold NaN (lower the learning rate, or clip gradients)")
        }
        return MLPForwardPass(spec: spec, output: output, parameters: training ? parameters : [:], inputs: inputs,
                              hiddenLayers: hiddenLayers, normalization: normalization)
    }

    /// x·Wᵀ + b for Linear layer `layer`.
    private func linear(_ x: Matrix<S>, layer: Int) -> Matrix<S> {
        let weight = parameters["layer\(layer).weight"]!
        var z = MLPKernels.broadcast(parameters["layer\(layer).bias"]!, rows: x.rows)
        z.addProduct(x, weight, transposeB: true)
        return z
    }

    /// 0 (dropped) or 1/(1 − p) (kept) per unit, from the model's seed, the layer and the step.
    func dropoutMask(rows: Int, columns: Int, layer: Int, step: UInt64) -> Matrix<S> {
        var generator = SeededGenerator(seed: seed &+ MLP.dropoutDomain &+ UInt64(layer), stream: step)
        let keep = 1 - spec.dropout
        let scale = S(1 / keep)
        var mask = Matrix<S>(rows: rows, columns: columns)
        for k in 0..<(rows * columns) {
            let u = Double(generator.next() >> 11) * 0x1p-53
            mask.elements[k] = u < keep ? scale : 0
        }
        return mask
    }

    /// Separates the dropout streams' seeds from the initialisation streams'.
    static var dropoutDomain: UInt64 { 0x6A09_E667_F3BC_C909 }

    // MARK: - Initialisation and checks

    /// PyTorch's nn.Linear default: weight and bias U(−1/√in, 1/√in); LayerNorm γ = 1, β = 0.
    static func initialParameters(_ spec: MLPSpec, seed: UInt64) -> [String: Matrix<S>] {
        var result: [String: Matrix<S>] = [:]
        func uniform(_ count: Int, bound: Double, stream: UInt64) -> [S] {
            var generator = SeededGenerator(seed: seed, stream: stream)
            return (0..<count).map { _ in
                let u = Double(generator.next() >> 11) * 0x1p-53
                return S((2 * u - 1) * bound)
            }
        }
        for layer in 0..<spec.linearLayers {
            let (inputs, outputs) = spec.layerShape(layer)
            let bound = 1 / Double(inputs).squareRoot()
            result["layer\(layer).weight"] = Matrix(rows: outputs, columns: inputs,
                                                    elements: uniform(outputs * inputs, bound: bound, stream: UInt64(2 * layer)))
            result["layer\(layer).bias"] = Matrix(rows: 1, columns: outputs,
                                                  elements: uniform(outputs, bound: bound, stream: UInt64(2 * layer + 1)))
            if spec.layerNorm && layer < spec.hidden.count {
                result["norm\(layer).gamma"] = Matrix(rows: 1, columns: outputs, repeating: 1)
                result["norm\(layer).beta"] = Matrix(rows: 1, columns: outputs, repeating: 0)
            }
        }
        return result
    }

    private func checkInput(_ input: Matrix<S>) throws {
        guard input.rows > 0 else { throw SimileError.empty("the input has 0 rows; the model needs at least one row") }
        guard input.columns == spec.inputSize else {
            throw SimileError.shapeMismatch(
                "the input has \(input.columns) columns but the model takes \(spec.inputSize) features (mlp input=\(spec.inputSize))")
        }
        try input.requireFinite("input")
    }

    private func checkParameters(requireFinite: Bool) throws {
        let shapes = spec.parameterShapes
        for (name, rows, columns) in shapes {
            guard let value = parameters[name] else {
                throw SimileError.invalidInput("the model has no parameter '\(name)'; it needs \(shapes.map(\.name).joined(separator: ", "))")
            }
            guard value.rows == rows, value.columns == columns else {
                throw SimileError.shapeMismatch(
                    "parameter '\(name)' must be \(rows)×\(columns) for \(spec), but it is \(value.rows)×\(value.columns)")
            }
            if requireFinite { try value.requireFinite("parameter '\(name)'") }
        }
        if parameters.count != shapes.count {
            let extra = Set(parameters.keys).subtracting(shapes.map(\.name)).sorted()
            throw SimileError.invalidInput(
                "the model has no parameter named \(extra.map { "'\($0)'" }.joined(separator: ", ")); its parameters are \(shapes.map(\.name).joined(separator: ", "))")
        }
    }
}
