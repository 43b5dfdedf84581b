import Foundation

/// The JSON input of a miner, as `simile compute miner` reads it:
/// `{"embeddings": [[…]], "labels": […], "reference_embeddings"?, "reference_labels"?, "step"?,
///   "epoch"?, "batch_items"?, "reference_items"?, "proxies"?}`.
///
/// The output is `TuplesJSON`, the form `simile compute loss` reads under "tuples".
public struct MinerRequest: Codable, Sendable, Equatable {
    public var embeddings: [[Double]]
    public var labels: [Int]
    public var referenceEmbeddings: [[Double]]?
    public var referenceLabels: [Int]?
    /// The training step: stochastic miners mix it into their seed.
    public var step: UInt64?
    /// Item ids of the rows and of the reference rows: a row is never paired with a reference
    /// row of its own item id (a cross-batch memory's stale copy of itself).
    public var batchItems: [Int]?
    public var referenceItems: [Int]?
    /// The 1-based epoch, for miners that change with time (`curriculum`).
    public var epoch: Int?
    /// C×D class proxies, for `proxy-guided` (without them it uses the batch's class means).
    public var proxies: [[Double]]?

    enum CodingKeys: String, CodingKey {
        case embeddings, labels, step, epoch, proxies
        case referenceEmbeddings = "reference_embeddings"
        case referenceLabels = "reference_labels"
        case batchItems = "batch_items"
        case referenceItems = "reference_items"
    }

    public init(embeddings: [[Double]], labels: [Int], referenceEmbeddings: [[Double]]? = nil,
                referenceLabels: [Int]? = nil, step: UInt64? = nil, batchItems: [Int]? = nil,
                referenceItems: [Int]? = nil) {
        self.embeddings = embeddings
        self.labels = labels
        self.referenceEmbeddings = referenceEmbeddings
        self.referenceLabels = referenceLabels
        self.step = step
        self.batchItems = batchItems
        self.referenceItems = referenceItems
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        embeddings = try container.decode([[Double]].self, forKey: .embeddings)
        labels = try Self.classLabels(container, .labels)
        referenceEmbeddings = try container.decodeIfPresent([[Double]].self, forKey: .referenceEmbeddings)
        referenceLabels = container.contains(.referenceLabels) ? try Self.classLabels(container, .referenceLabels) : nil
        step = try container.decodeIfPresent(UInt64.self, forKey: .step)
        batchItems = try container.decodeIfPresent([Int].self, forKey: .batchItems)
        referenceItems = try container.decodeIfPresent([Int].self, forKey: .referenceItems)
        epoch = try container.decodeIfPresent(Int.self, forKey: .epoch)
        proxies = try container.decodeIfPresent([[Double]].self, forKey: .proxies)
    }

    /// Integer class labels, with a clear message for anything else (continuous labels).
    private static func classLabels(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Int] {
        switch try container.decode(LabelsJSON.self, forKey: key) {
        case let .classes(labels): return labels
        case .continuous:
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container,
                debugDescription: "miners need integer class labels, one per row; these are not all integers")
        }
    }

    /// Decodes a request, with errors that name the field.
    public static func decode(_ data: Data, source: String = "input") throws -> MinerRequest {
        try JSONInput.decode(MinerRequest.self, from: data, source: source)
    }

    /// Runs the miner on this request in the scalar type S.
    public func mine<S: SimileFloat>(_ miner: any Miner, as type: S.Type = S.self) throws -> Tuples {
        let x = try Matrix<S>(embeddings.map { $0.map { S($0) } }, name: "embeddings")
        let reference = try referenceEmbeddings.map {
            try Matrix<S>($0.map { $0.map { S($0) } }, name: "reference_embeddings")
        }
        let context = MiningContext(epoch: epoch ?? 0, step: step ?? 0, referenceItems: referenceItems,
                                    batchItems: batchItems,
                                    proxies: try proxies.map { try Matrix<Double>($0, name: "proxies") })
        return try miner.mine(MinerInput(embeddings: x, labels: labels, reference: reference,
                                         referenceLabels: referenceLabels, context: context))
    }
}

extension TuplesJSON {
    /// The tuples as JSON text with one tuple per line (compact, and still readable for large outputs).
    public var text: String {
        func list(_ rows: [[Int]], indent: String) -> String {
            guard !rows.isEmpty else { return "[]" }
            return "[\n" + rows.map { indent + "  [" + $0.map(String.init).joined(separator: ", ") + "]" }
                .joined(separator: ",\n") + "\n" + indent + "]"
        }
        if let triplets {
            return "{\n  \"triplets\": " + list(triplets, indent: "  ") + "\n}"
        }
        let pairs = self.pairs ?? Pairs(positive: [], negative: [])
        return "{\n  \"pairs\": {\n    \"positive\": " + list(pairs.positive, indent: "    ")
            + ",\n    \"negative\": " + list(pairs.negative, indent: "    ") + "\n  }\n}"
    }
}
