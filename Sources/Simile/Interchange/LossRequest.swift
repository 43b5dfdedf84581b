import Foundation

/// The JSON input of a loss computation, as `simile compute loss` reads it:
/// `{"embeddings": [[…]], "labels": […], "tuples"?, "reference_embeddings"?, "reference_labels"?,
///   "parameters"?: {"NAME": [[…]]}, "step"?}`.
///
/// `tuples` has the form that `simile compute miner` prints, so a miner's output pipes into a loss.
public struct LossRequest: Codable, Sendable, Equatable {
    public var embeddings: [[Double]]
    public var labels: LabelsJSON
    public var tuples: TuplesJSON?
    public var referenceEmbeddings: [[Double]]?
    public var referenceLabels: LabelsJSON?
    public var parameters: [String: [[Double]]]?
    public var step: UInt64?

    enum CodingKeys: String, CodingKey {
        case embeddings, labels, tuples, parameters, step
        case referenceEmbeddings = "reference_embeddings"
        case referenceLabels = "reference_labels"
    }

    public init(embeddings: [[Double]], labels: LabelsJSON, tuples: TuplesJSON? = nil,
                referenceEmbeddings: [[Double]]? = nil, referenceLabels: LabelsJSON? = nil,
                parameters: [String: [[Double]]]? = nil, step: UInt64? = nil) {
        self.embeddings = embeddings
        self.labels = labels
        self.tuples = tuples
        self.referenceEmbeddings = referenceEmbeddings
        self.referenceLabels = referenceLabels
        self.parameters = parameters
        self.step = step
    }

    /// Decodes a request, with errors that name the field (JSON5 is accepted, so NaN and
    /// Infinity parse and are then reported as bad values rather than bad syntax).
    public static func decode(_ data: Data, source: String = "input") throws -> LossRequest {
        try JSONInput.decode(LossRequest.self, from: data, source: source)
    }

    /// Runs the loss on this request in the scalar type S.
    public func evaluate<S: SimileFloat>(_ loss: any Loss, as type: S.Type = S.self) throws -> LossOutput<S> {
        let x = try Matrix<S>(embeddings.map { $0.map { S($0) } }, name: "embeddings")
        let reference = try referenceEmbeddings.map {
            try Matrix<S>($0.map { $0.map { S($0) } }, name: "reference_embeddings")
        }
        var typedParameters: [String: Matrix<S>] = [:]
        for (name, rows) in parameters ?? [:] {
            typedParameters[name] = try Matrix<S>(rows.map { $0.map { S($0) } }, name: "parameter '\(name)'")
        }
        return try loss(x, try labels.labels("labels"), tuples: try tuples?.tuples(),
                        reference: reference, referenceLabels: try referenceLabels?.labels("reference_labels"),
                        parameters: typedParameters, step: step ?? 0)
    }
}

/// Labels in JSON: integers for classes, numbers or number rows for continuous labels.
public enum LabelsJSON: Codable, Sendable, Equatable {
    case classes([Int])
    case continuous([[Double]])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let classes = try? container.decode([Int].self) {
            self = .classes(classes)
        } else if let values = try? container.decode([Double].self) {
            self = .continuous(values.map { [$0] })
        } else if let rows = try? container.decode([[Double]].self) {
            self = .continuous(rows)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a list of integer labels (or numbers, or number rows, for continuous labels)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .classes(classes): try container.encode(classes)
        case let .continuous(rows): try container.encode(rows)
        }
    }

    func labels(_ name: String) throws -> Labels {
        switch self {
        case let .classes(classes): return .classes(classes)
        case let .continuous(rows): return .continuous(try Matrix(rows, name: name))
        }
    }
}

/// Tuples in JSON: `{"pairs": {"positive": [[a,p]…], "negative": [[a,n]…]}}` or `{"triplets": [[a,p,n]…]}`.
public struct TuplesJSON: Codable, Sendable, Equatable {
    public struct Pairs: Codable, Sendable, Equatable {
        public var positive: [[Int]]
        public var negative: [[Int]]
    }

    public var pairs: Pairs?
    public var triplets: [[Int]]?

    public init(_ tuples: Tuples) {
        switch tuples {
        case let .pairs(positive, negative):
            pairs = Pairs(positive: positive.map { [$0.anchor, $0.other] }, negative: negative.map { [$0.anchor, $0.other] })
        case let .triplets(list):
            triplets = list.map { [$0.anchor, $0.positive, $0.negative] }
        }
    }

    public func tuples() throws -> Tuples {
        switch (pairs, triplets) {
        case let (pairs?, nil):
            func convert(_ list: [[Int]], _ kind: String) throws -> [IndexPair] {
                try list.enumerated().map { k, pair in
                    guard pair.count == 2 else {
                        throw SimileError.invalidTuples("\(kind) pair \(k) has \(pair.count) indices; write [anchor, other]")
                    }
                    return IndexPair(pair[0], pair[1])
                }
            }
            return .pairs(positive: try convert(pairs.positive, "positive"), negative: try convert(pairs.negative, "negative"))
        case let (nil, triplets?):
            return .triplets(try triplets.enumerated().map { k, t in
                guard t.count == 3 else {
                    throw SimileError.invalidTuples("triplet \(k) has \(t.count) indices; write [anchor, positive, negative]")
                }
                return Triplet(t[0], t[1], t[2])
            })
        case (nil, nil):
            throw SimileError.invalidTuples("give either \"pairs\" or \"triplets\"")
        default:
            throw SimileError.invalidTuples("give \"pairs\" or \"triplets\", not both")
        }
    }
}

/// The JSON output of a loss computation.
public struct LossResponse<S: SimileFloat>: Encodable {
    public var loss: Double
    public var subLosses: [String: Double]
    public var gradient: [[S]]
    public var referenceGradient: [[S]]?
    public var parameterGradients: [String: [[S]]]
    public var stats: [String: Double]

    enum CodingKeys: String, CodingKey {
        case loss, gradient, stats
        case subLosses = "sub_losses"
        case referenceGradient = "reference_gradient"
        case parameterGradients = "parameter_gradients"
    }

    public init(_ output: LossOutput<S>) {
        loss = output.value
        subLosses = Dictionary(output.subLosses.map { ($0.name, $0.value) }, uniquingKeysWith: +)
        gradient = output.gradient.nestedRows
        referenceGradient = output.referenceGradient?.nestedRows
        parameterGradients = output.parameterGradients.mapValues(\.nestedRows)
        stats = output.stats
    }
}

/// JSON decoding with messages that name the offending field.
public enum JSONInput {
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, source: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw SimileError.invalidInput("\(source): \(describe(error))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            let text = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
        }
        switch error {
        case let .keyNotFound(key, context):
            let at = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "missing field \"\(key.stringValue)\"\(at)"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case let .dataCorrupted(context):
            if let underlying = context.underlyingError {
                return "not valid JSON (\(underlying.localizedDescription))"
            }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
