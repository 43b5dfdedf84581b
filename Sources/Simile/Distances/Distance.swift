/// Whether small values mean close (a distance) or large values do (a similarity).
public enum Orientation: Sendable {
    case distance
    case similarity
}

/// A way of comparing embeddings: the N×M matrix between a batch and a reference batch, and its
/// backward pass.
///
/// Losses are written once against `margin(_:_:)`, which flips sign for similarities (PML's
/// `distance.margin`), so the same loss code serves both orientations.
public protocol Distance: Component {
    /// A property of the type, not of an instance: cosine is always a similarity.
    static var orientation: Orientation { get }

    /// The matrix between the rows of `x` and those of `y`; `y == nil` compares `x` with itself.
    func forward<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) throws -> PairwiseMatrix<S>

    /// Given dL/dM, the gradients with respect to `x` and `y`. When the forward pass compared
    /// `x` with itself, `y` is nil and the `x` gradient includes both slots.
    func backward<S: SimileFloat>(_ upstream: Matrix<S>, _ forward: PairwiseMatrix<S>) -> (x: Matrix<S>, y: Matrix<S>?)

    /// Whether `other` computes the same matrix, so that one forward pass can serve both. The
    /// default answers false; an `Equatable` distance compares its parameters.
    func isSame(as other: any Distance) -> Bool
}

extension Distance {
    public func isSame(as other: any Distance) -> Bool { false }
}

extension Distance where Self: Equatable {
    public func isSame(as other: any Distance) -> Bool { (other as? Self) == self }
}

extension Distance {
    public var orientation: Orientation { Self.orientation }
    public var isSimilarity: Bool { Self.orientation == .similarity }

    /// +1 for a distance, −1 for a similarity: `margin(x, y) = sign · (x − y)`.
    @inline(__always)
    public var sign: Double { Self.orientation == .distance ? 1 : -1 }

    /// PML's `distance.margin(x, y)`: `x − y` for a distance, `y − x` for a similarity.
    /// In a loop over pairs, read `sign` once and write `sign * (x − y)`: through an
    /// `any Distance` every call here is a dynamic dispatch.
    @inline(__always)
    public func margin(_ x: Double, _ y: Double) -> Double { sign * (x - y) }

    /// The registered name, for messages.
    public var name: String { Self.descriptor.name }
}

/// A pairwise matrix and what its backward pass needs.
public struct PairwiseMatrix<S: SimileFloat>: Sendable {
    /// N×M: entry (i, j) compares row i of x with row j of y.
    public let values: Matrix<S>
    /// True when y was x itself.
    public let isSelf: Bool
    /// The inputs after normalisation (if any); `yUsed` is nil when `isSelf`.
    let xUsed: Matrix<S>
    let yUsed: Matrix<S>?
    let xNormalization: RowNormalization<S>?
    let yNormalization: RowNormalization<S>?
    /// Distance-specific per-row quantities (e.g. SNR's anchor variances).
    var rowScalars: [S] = []

    var rows: Int { values.rows }
    var columns: Int { values.columns }

    /// Back through the normalisation of both inputs.
    func throughNormalization(_ gx: Matrix<S>, _ gy: Matrix<S>?) -> (x: Matrix<S>, y: Matrix<S>?) {
        let x = xNormalization.map { $0.backward(gx) } ?? gx
        guard let gy else { return (x, nil) }
        return (x, yNormalization.map { $0.backward(gy) } ?? gy)
    }
}

/// Checks the inputs of a distance: non-empty, finite and of matching width.
func checkDistanceInputs<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?, _ name: String) throws {
    try BLAS.require()
    if let y, y.columns != x.columns {
        throw SimileError.shapeMismatch(
            "\(name): the reference embeddings have \(y.columns) columns but the embeddings have \(x.columns)")
    }
}
