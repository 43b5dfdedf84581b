/// The cosine similarity x̂·ŷ (PML's `CosineSimilarity`).
public struct CosineSimilarity: Distance, Equatable {
    public static let orientation = Orientation.similarity

    public static let descriptor = ComponentDescriptor(
        kind: .distance, name: "cosine",
        summary: "Cosine similarity: the dot product of L2-normalised embeddings (larger = more similar).",
        formula: "M[i,j] = x̂ᵢ·ŷⱼ,  x̂ = x / max(‖x‖₂, 1e-12)",
        reference: "PML CosineSimilarity")

    public init(_ arguments: Arguments) throws {}
    public init() {}

    private var dot: DotProductSimilarity { DotProductSimilarity(normalize: true) }

    public func forward<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) throws -> PairwiseMatrix<S> {
        try dot.forward(x, y)
    }

    public func backward<S: SimileFloat>(_ upstream: Matrix<S>, _ forward: PairwiseMatrix<S>)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        dot.backward(upstream, forward)
    }
}

/// The dot product x·y, of normalised embeddings by default (PML's `DotProductSimilarity`).
public struct DotProductSimilarity: Distance, Equatable {
    public static let orientation = Orientation.similarity

    public static let descriptor = ComponentDescriptor(
        kind: .distance, name: "dot",
        summary: "Dot-product similarity; with normalize=true (the default, as in PML) it equals cosine.",
        formula: "M[i,j] = x̂ᵢ·ŷⱼ (x̂ = x when normalize=false)",
        reference: "PML DotProductSimilarity (normalize_embeddings=True by default)",
        parameters: [.bool("normalize", true, doc: "L2-normalise the embeddings first")],
        examples: [["normalize=false"]])

    public let normalize: Bool

    public init(_ arguments: Arguments) throws {
        normalize = try arguments.bool("normalize")
    }

    init(normalize: Bool) {
        self.normalize = normalize
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func forward<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) throws -> PairwiseMatrix<S> {
        try checkDistanceInputs(x, y, Self.descriptor.name)
        let xn = normalize ? RowNormalization(x) : nil
        let yn = normalize ? y.map { RowNormalization($0) } : nil
        let xu = xn?.output ?? x
        let yu = y == nil ? nil : (yn?.output ?? y!)
        return PairwiseMatrix(values: PairwiseAlgebra.innerProducts(xu, yu), isSelf: y == nil, xUsed: xu,
                              yUsed: yu, xNormalization: xn, yNormalization: yn)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func backward<S: SimileFloat>(_ upstream: Matrix<S>, _ forward: PairwiseMatrix<S>)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        let (gx, gy) = PairwiseAlgebra.innerProductsBackward(upstream, forward.xUsed, forward.yUsed)
        return forward.throughNormalization(gx, gy)
    }
}
