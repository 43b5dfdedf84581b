import RealModule

/// A dense, row-major matrix: N rows (samples) × D columns (embedding dimensions).
///
/// Storage is a Swift array, so a `Matrix` is a value with copy-on-write. Products go through
/// BLAS (`gemm`, `syrk`); everything else is simple element-wise code.
public struct Matrix<Scalar: SimileFloat>: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// The elements in row-major order: element (i, j) is `elements[i * columns + j]`.
    public var elements: [Scalar]

    /// A matrix with every element equal to `value`.
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "negative matrix shape \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        elements = [Scalar](repeating: value, count: rows * columns)
    }

    /// A matrix over existing row-major elements; `elements.count` must be `rows * columns`.
    public init(rows: Int, columns: Int, elements: [Scalar]) {
        precondition(rows >= 0 && columns >= 0 && elements.count == rows * columns,
                     "\(elements.count) elements do not make a \(rows)×\(columns) matrix")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// A matrix whose every element `initialize` writes (through a pointer to the row-major
    /// storage), without zero-filling it first. For outputs of passes that write all of them.
    init(rows: Int, columns: Int, writingEveryElement initialize: (UnsafeMutablePointer<Scalar>) -> Void) {
        precondition(rows >= 0 && columns >= 0, "negative matrix shape \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        let count = rows * columns
        elements = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress, count > 0 { initialize(base) }
            initialized = count
        }
    }

    /// A matrix from nested rows, which must all have the same length.
    /// - Parameter name: what the rows are, for the error message (e.g. "embeddings").
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ nestedRows: [[Scalar]], name: String = "matrix") throws {
        let width = nestedRows.first?.count ?? 0
        for (index, row) in nestedRows.enumerated() where row.count != width {
            throw SimileError.shapeMismatch(
                "\(name) row \(index) has \(row.count) values but row 0 has \(width); every row needs the same length")
        }
        self.init(rows: nestedRows.count, columns: width, elements: nestedRows.flatMap { $0 })
    }

    public subscript(row: Int, column: Int) -> Scalar {
        get { elements[row * columns + column] }
        set { elements[row * columns + column] = newValue }
    }

    /// Row `index` as a slice of `elements`.
    public func row(_ index: Int) -> ArraySlice<Scalar> {
        elements[(index * columns)..<((index + 1) * columns)]
    }

    /// The rows as nested arrays (for JSON and printing).
    public var nestedRows: [[Scalar]] {
        rowArrays()
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func rowArrays() -> [[Scalar]] {
        (0..<rows).map { Array(row($0)) }
    }

    /// The same values in another scalar type.
    @_specialize(where Scalar == Float, T == Double)
    @_specialize(where Scalar == Double, T == Float)
    @_specialize(where Scalar == Double, T == Double)
    @_specialize(where Scalar == Float, T == Float)
    public func converted<T: SimileFloat>(to type: T.Type = T.self) -> Matrix<T> {
        elements.withUnsafeBufferPointer { source in
            Matrix<T>(rows: rows, columns: columns) { target in
                let from = source.baseAddress!
                for k in 0..<source.count { target[k] = T(from[k]) }
            }
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed() -> Matrix {
        var result = Matrix(rows: columns, columns: rows)
        for i in 0..<rows {
            for j in 0..<columns {
                result.elements[j * rows + i] = elements[i * columns + j]
            }
        }
        return result
    }

    /// Adds `scale · other` in place; shapes must match.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func add(_ other: Matrix, scaledBy scale: Scalar = 1) {
        precondition(rows == other.rows && columns == other.columns, "shape mismatch in Matrix.add")
        elements.withUnsafeMutableBufferPointer { target in
            other.elements.withUnsafeBufferPointer { source in
                for index in 0..<target.count { target[index] += scale * source[index] }
            }
        }
    }

    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        var result = lhs
        result.add(rhs)
        return result
    }

    /// The first NaN or infinite element, if any.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func firstNonFinite() -> (row: Int, column: Int, value: Scalar)? {
        let index: Int? = elements.withUnsafeBufferPointer { buffer in
            // A sum is finite exactly when every term is (or it overflowed); scan blocks first.
            var start = 0
            while start < buffer.count {
                let end = Swift.min(buffer.count, start + 256)
                // x·0 is ±0 for finite x and NaN otherwise, so the sum never overflows and the
                // additions may be reordered (which lets the loop vectorise).
                var sum: Scalar = 0
                for k in start..<end { sum = Relaxed.sum(sum, buffer[k] * 0) }
                if !sum.isFinite {
                    for k in start..<end where !buffer[k].isFinite { return k }
                }
                start = end
            }
            return nil
        }
        guard let index else { return nil }
        return (index / Swift.max(columns, 1), index % Swift.max(columns, 1), elements[index])
    }

    /// Throws `SimileError.nonFinite` naming the first row with NaN or infinity.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func requireFinite(_ name: String) throws {
        if let bad = firstNonFinite() {
            throw SimileError.nonFinite(input: name, row: bad.row, column: bad.column, value: Double(bad.value))
        }
    }

    /// The largest absolute element (0 for an empty matrix).
    public var maxAbsoluteValue: Scalar {
        elements.reduce(0) { Swift.max($0, Swift.abs($1)) }
    }
}

extension Matrix {
    /// op(A)·op(B) through BLAS `gemm`. The caller must have called `BLAS.require()`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        precondition(k == (transposeB ? b.columns : b.rows), "inner dimensions differ in Matrix.product")
        var c = Matrix(rows: m, columns: n)
        c.addProduct(a, transposeA: transposeA, b, transposeB: transposeB)
        return c
    }

    /// self += alpha·op(A)·op(B) through BLAS `gemm`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func addProduct(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                             alpha: Scalar = 1) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        precondition(m == rows && n == columns, "output shape differs in Matrix.addProduct")
        guard m > 0, n > 0, k > 0 else { return }
        let cColumns = columns
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                elements.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: alpha, a: pa.baseAddress!, lda: a.columns,
                                b: pb.baseAddress!, ldb: b.columns,
                                beta: 1, c: pc.baseAddress!, ldc: cColumns)
                }
            }
        }
    }

    /// A·Aᵀ (the Gram matrix of the rows) through BLAS `syrk`, mirrored to a full square matrix.
    /// The caller must have called `BLAS.require()`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func gram(_ a: Matrix) -> Matrix {
        let n = a.rows
        var c = Matrix(rows: n, columns: n)
        guard n > 0, a.columns > 0 else { return c }
        a.elements.withUnsafeBufferPointer { pa in
            c.elements.withUnsafeMutableBufferPointer { pc in
                Scalar.syrkLower(n: n, k: a.columns, alpha: 1, a: pa.baseAddress!, lda: a.columns,
                                 beta: 0, c: pc.baseAddress!, ldc: n)
                // Mirror the lower triangle into the upper one, tile by tile.
                let base = SendableConstPointer(UnsafePointer(pc.baseAddress!))
                PairwiseAlgebra.fillSymmetric(pc.baseAddress!, n) { rows, columns, _, values, _ in
                    let width = columns.count
                    for i in rows {
                        let v = values + (i - rows.lowerBound) * PairwiseAlgebra.tile
                        let row = base.pointer + i * n + columns.lowerBound
                        for k in 0..<width { v[k] = row[k] }
                    }
                }
            }
        }
        return c
    }
}

extension Matrix {
    /// Multiplies row i by `factor(i)`.
    mutating func scaleRows(_ factor: (Int) -> Double) {
        let m = columns
        let factors = (0..<rows).map { Scalar(factor($0)) }
        elements.withUnsafeMutableBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return }
            let base = SendablePointer(start)
            // Rows are independent, so the split (by size only) does not change the result.
            Parallel.forEach(rows, grain: Swift.max(1, 32_768 / Swift.max(m, 1))) { range in
                for i in range {
                    let s = factors[i]
                    if s == 1 { continue }
                    let row = base.pointer + i * m
                    for j in 0..<m { row[j] *= s }
                }
            }
        }
    }
}
