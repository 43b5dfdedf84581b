/// The architecture of an `MLP` embedding network, as a value (Codable, for checkpoints and
/// pipeline files) or as text:
///
///     mlp(hidden=[64, 64], output=32, activation=gelu, layer-norm=true, dropout=0.1)
///
/// Each hidden layer is Linear → LayerNorm (optional) → activation → dropout (training only);
/// the last layer is Linear, followed by L2 normalisation of each row (optional, on by default).
/// With `hidden=[]` the model is one Linear map (plus normalisation).
public struct MLPSpec: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Features per input row.
    public var inputSize: Int
    /// Width of each hidden layer, in order.
    public var hidden: [Int]
    /// Embedding dimensions.
    public var outputSize: Int
    public var activation: Activation
    /// LayerNorm (PyTorch's: ε = 1e-5, biased variance, learned γ and β) after each hidden Linear.
    public var layerNorm: Bool
    /// Probability of zeroing each hidden unit in training (inverted dropout: kept units are scaled
    /// by 1/(1 − p)); no effect in `embed`.
    public var dropout: Double
    /// Divide each output row by max(‖y‖₂, 1e-12), as `torch.nn.functional.normalize`.
    public var normalize: Bool

    public init(inputSize: Int, hidden: [Int] = [], outputSize: Int, activation: Activation = .relu,
                layerNorm: Bool = false, dropout: Double = 0, normalize: Bool = true) throws {
        self.inputSize = inputSize
        self.hidden = hidden
        self.outputSize = outputSize
        self.activation = activation
        self.layerNorm = layerNorm
        self.dropout = dropout
        self.normalize = normalize
        try validate()
    }

    /// Parses `mlp(...)`. The input size comes from `input=` in the text or from `inputSize`
    /// (the data's feature count); when both are given they must agree.
    public init(_ text: String, inputSize: Int? = nil) throws {
        try self.init(ComponentSpec(text), inputSize: inputSize)
    }

    public init(_ spec: ComponentSpec, inputSize: Int? = nil) throws {
        let arguments = try MLPSpec.schema.resolve(spec)
        let written = try arguments.optionalInt("input")
        if let written, let inputSize, written != inputSize {
            throw SimileError.incompatible(
                "'mlp' has input=\(written) but the data has \(inputSize) features; remove input= or make it \(inputSize)")
        }
        guard let input = written ?? inputSize else {
            throw SimileError.missingParameter(component: "mlp", parameter: "input",
                                               doc: MLPSpec.schema.parameters[0].doc)
        }
        let widths = try arguments.doubles("hidden")
        if let bad = widths.first(where: { $0 != $0.rounded() }) {
            throw SimileError.invalidParameterValue(component: "mlp", parameter: "hidden",
                                                    value: ParameterValue.format(bad), expected: "a whole number of units")
        }
        guard let activation = Activation(rawValue: try arguments.choice("activation")) else {
            throw SimileError.invalidInput("internal error: unknown activation")
        }
        try self.init(inputSize: input, hidden: widths.map { Int($0) }, outputSize: arguments.int("output"),
                      activation: activation, layerNorm: arguments.bool("layer-norm"),
                      dropout: arguments.double("dropout"), normalize: arguments.bool("normalize"))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(inputSize: container.decode(Int.self, forKey: .inputSize),
                      hidden: container.decode([Int].self, forKey: .hidden),
                      outputSize: container.decode(Int.self, forKey: .outputSize),
                      activation: container.decode(Activation.self, forKey: .activation),
                      layerNorm: container.decode(Bool.self, forKey: .layerNorm),
                      dropout: container.decode(Double.self, forKey: .dropout),
                      normalize: container.decode(Bool.self, forKey: .normalize))
    }

    /// The text form, which parses back to the same spec.
    public var description: String {
        "mlp(input=\(inputSize), hidden=[\(hidden.map(String.init).joined(separator: ", "))], output=\(outputSize), "
            + "activation=\(activation.rawValue), layer-norm=\(layerNorm), dropout=\(ParameterValue.format(dropout)), "
            + "normalize=\(normalize))"
    }

    /// Number of Linear layers (hidden layers + the output layer).
    public var linearLayers: Int { hidden.count + 1 }

    /// (inputs, outputs) of Linear layer `index`.
    public func layerShape(_ index: Int) -> (inputs: Int, outputs: Int) {
        let widths = [inputSize] + hidden + [outputSize]
        return (widths[index], widths[index + 1])
    }

    /// Every parameter's name and shape (rows × columns), in a fixed order: for each Linear layer i,
    /// `layer{i}.weight` (out×in, as PyTorch stores it) and `layer{i}.bias` (1×out), then, after a
    /// hidden layer with LayerNorm, `norm{i}.gamma` and `norm{i}.beta` (1×width).
    public var parameterShapes: [(name: String, rows: Int, columns: Int)] {
        var shapes: [(String, Int, Int)] = []
        for layer in 0..<linearLayers {
            let (inputs, outputs) = layerShape(layer)
            shapes.append(("layer\(layer).weight", outputs, inputs))
            shapes.append(("layer\(layer).bias", 1, outputs))
            if layerNorm && layer < hidden.count {
                shapes.append(("norm\(layer).gamma", 1, outputs))
                shapes.append(("norm\(layer).beta", 1, outputs))
            }
        }
        return shapes
    }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.rows * $1.columns } }

    /// The parameters conventionally given weight decay: the Linear weights. Biases and LayerNorm's
    /// γ and β are usually left without it (put them in a group with `weightDecay: 0`).
    public var weightNames: [String] { (0..<linearLayers).map { "layer\($0).weight" } }

    /// The largest accepted layer width and depth (a typo guard, far beyond any tabular model).
    public static let maximumWidth = 1 << 20
    public static let maximumHiddenLayers = 256

    private func validate() throws {
        func check(_ value: Int, _ name: String) throws {
            guard (1...MLPSpec.maximumWidth).contains(value) else {
                throw SimileError.parameterOutOfRange(component: "mlp", parameter: name, value: String(value),
                                                      range: "in [1, \(MLPSpec.maximumWidth)]")
            }
        }
        try check(inputSize, "input")
        try check(outputSize, "output")
        for width in hidden { try check(width, "hidden") }
        guard hidden.count <= MLPSpec.maximumHiddenLayers else {
            throw SimileError.parameterOutOfRange(component: "mlp", parameter: "hidden", value: "\(hidden.count) layers",
                                                  range: "at most \(MLPSpec.maximumHiddenLayers) layers")
        }
        guard dropout.isFinite, dropout >= 0, dropout < 1 else {
            throw SimileError.parameterOutOfRange(component: "mlp", parameter: "dropout",
                                                  value: "\(dropout)", range: "in [0, 1)")
        }
    }

    /// The parameters of the text form.
    public static let schema = SettingsSchema(
        name: "mlp",
        summary: "A multilayer perceptron embedding network: Linear layers, activation, optional LayerNorm and dropout, L2-normalised output.",
        parameters: [
            ParameterSpec("input", .int, default: .unset("the data's feature count"), range: .closed(1, Double(maximumWidth)),
                          doc: "features per input row"),
            ParameterSpec("hidden", .doubles, default: .value(.doubles([])), range: .closed(1, Double(maximumWidth)),
                          doc: "width of each hidden layer (whole numbers of units); [] is a single Linear map"),
            .int("output", nil, range: .closed(1, Double(maximumWidth)), doc: "embedding dimensions"),
            ParameterSpec("activation", .choice(Activation.allCases.map(\.rawValue)), default: .value(.choice("relu")),
                          doc: "nonlinearity after each hidden layer: relu, gelu (exact, with erf) or gelu-tanh (tanh approximation)"),
            .bool("layer-norm", false, doc: "LayerNorm (ε = 1e-5, learned γ, β) between each hidden Linear and its activation"),
            .double("dropout", 0, range: .rightOpen(0, 1),
                    doc: "probability of zeroing a hidden unit in training (kept units scaled by 1/(1 − p))"),
            .bool("normalize", true, doc: "divide each output row by its L2 norm (max(‖y‖, 1e-12))"),
        ])
}
