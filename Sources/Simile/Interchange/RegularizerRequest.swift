import Foundation

/// The JSON input of a regularizer computation, as `simile compute regularizer` reads it:
/// `{"embeddings" or "matrix": [[…]], "labels"?: […], "parameters"?: {"NAME": [[…]]}}`.
///
/// `matrix` is the general name (a loss's C×D parameter matrix, one row per class); `embeddings`
/// reads better for regularizers of embeddings. Give exactly one of them.
public struct RegularizerRequest: Codable, Sendable, Equatable {
    public var embeddings: [[Double]]?
    public var matrix: [[Double]]?
    public var labels: [Int]?
    public var parameters: [String: [[Double]]]?

    public init(embeddings: [[Double]]? = nil, matrix: [[Double]]? = nil, labels: [Int]? = nil,
                parameters: [String: [[Double]]]? = nil) {
        self.embeddings = embeddings
        self.matrix = matrix
        self.labels = labels
        self.parameters = parameters
    }

    /// Decodes a request, with errors that name the field.
    public static func decode(_ data: Data, source: String = "input") throws -> RegularizerRequest {
        try JSONInput.decode(RegularizerRequest.self, from: data, source: source)
    }

    /// Runs the regularizer on this request in the scalar type S.
    public func evaluate<S: SimileFloat>(_ regularizer: any Regularizer, as type: S.Type = S.self) throws
        -> RegularizerOutput<S> {
        let rows: [[Double]], name: String
        switch (embeddings, matrix) {
        case let (embeddings?, nil): (rows, name) = (embeddings, "embeddings")
        case let (nil, matrix?): (rows, name) = (matrix, "matrix")
        case (nil, nil):
            throw SimileError.invalidInput("give the rows to regularize as \"embeddings\" or \"matrix\"")
        default:
            throw SimileError.invalidInput("give \"embeddings\" or \"matrix\", not both")
        }
        let x = try Matrix<S>(rows.map { $0.map { S($0) } }, name: name)
        var typedParameters: [String: Matrix<S>] = [:]
        for (parameter, values) in parameters ?? [:] {
            typedParameters[parameter] = try Matrix<S>(values.map { $0.map { S($0) } }, name: "parameter '\(parameter)'")
        }
        return try RegularizerInputValidator.run(regularizer, x, labels, typedParameters, what: name)
    }
}

/// The JSON output of a regularizer computation.
public struct RegularizerResponse<S: SimileFloat>: Encodable {
    public var value: Double
    public var gradient: [[S]]
    public var parameterGradients: [String: [[S]]]
    public var stats: [String: Double]

    enum CodingKeys: String, CodingKey {
        case value, gradient, stats
        case parameterGradients = "parameter_gradients"
    }

    public init(_ output: RegularizerOutput<S>) {
        value = output.value
        gradient = output.gradient.nestedRows
        parameterGradients = output.parameterGradients.mapValues(\.nestedRows)
        stats = output.stats
    }
}
