import RealModule

/// Triplets whose angle at the negative exceeds a threshold (PML's AngularMiner).
public struct AngularMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "angular",
        summary: "Triplets whose angle at the negative, atan(‖a − p‖ / (2‖n − c‖)) with c = (a + p)/2, exceeds a threshold.",
        formula: """
            c = (a + p)/2,   θ(a,p,n) = atan( ‖a − p‖ / (2 ‖n − c‖) )
            keep (a, p, n) when θ > angle   (equivalently ‖a − p‖² > 4 tan²(angle) ‖n − c‖²)
            ‖u − v‖ is torch's pairwise distance ‖u − v + 10⁻⁶‖ (10⁻⁶ added to every coordinate)
            """,
        discussion: """
            The triplets that the angular loss (Wang et al. 2017) penalises at this angle. As in PML, \
            the angle is measured on the **raw** embeddings by default, although PML's angular loss \
            (and Simile's) normalises them: set normalize=true to measure it on the unit sphere, \
            which matches Simile's angular loss. PML requires its default LpDistance here and never \
            uses it, so this miner has no distance parameter. Every ‖·‖² comes from two Gram \
            matrices (batch × reference and reference × reference) and the row norms and sums, so \
            each triplet costs O(1), never O(D); the test compares squares, so no atan or square \
            root is taken. The Gram route rounds differently from a direct difference: in float32 a \
            triplet within about 10⁻⁶ (relative) of the threshold can fall on the other side. Output \
            ordered by (a, p, n), as PML's.
            """,
        reference: "Wang et al. 2017 (Deep Metric Learning with Angular Loss); PML AngularMiner",
        parameters: [
            .double("angle", 20, range: .closed(0, 90), doc: "the threshold angle, in degrees"),
            .bool("normalize", false, doc: "measure the angle on L2-normalised embeddings (PML: raw embeddings)"),
        ],
        examples: [[], ["angle=35"], ["angle=10", "normalize=true"]])

    public let angle: Double
    public let normalize: Bool

    public init(_ arguments: Arguments) throws {
        angle = try arguments.double("angle")
        normalize = try arguments.bool("normalize")
    }

    /// torch's pairwise_distance epsilon.
    static let epsilon = 1e-6

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let x = normalize ? RowNormalization(input.embeddings).output : input.embeddings
        let r = input.reference.map { normalize ? RowNormalization($0).output : $0 }
        let cross = PairwiseAlgebra.innerProducts(x, r)  // N×M: a·j
        let within = r.map { PairwiseAlgebra.innerProducts($0, nil) } ?? cross  // M×M: p·n
        let reference = r ?? x
        let eps = Double(S(Self.epsilon))  // in the arithmetic of the input, as torch adds it
        let d = Double(x.columns)
        let dEps2 = d * eps * eps
        func norms(_ y: Matrix<S>) -> (squares: [Double], sums: [Double]) {
            var squares = [Double](repeating: 0, count: y.rows), sums = squares
            for i in 0..<y.rows {
                var s = 0.0, u = 0.0
                for k in 0..<y.columns {
                    let v = Double(y.elements[i * y.columns + k])
                    s += v * v
                    u += v
                }
                squares[i] = s
                sums[i] = u
            }
            return (squares, sums)
        }
        let (xSquares, xSums) = norms(x)
        let (rSquares, rSums) = r == nil ? (xSquares, xSums) : norms(reference)
        // ‖n − c + ε‖² = q[n] − a·n − p·n + base(a, p), with q[n] = ‖n‖² + 2ε Σn.
        let q = (0..<reference.rows).map { rSquares[$0] + 2 * eps * rSums[$0] }
        let radians = angle * Double.pi / 180
        let tangent = Double.tan(radians)
        let factor = 4 * tangent * tangent
        let m = mask.columns
        let layout = ScratchLayout<Double>(columns: m, extraIndexLists: 1, scalarLists: 1)
        let triplets = cross.withSendablePointer { crossValues in
            within.withSendablePointer { withinValues in
                TupleBuilder.triplets(anchors: mask.rows, grain: 8, scratchBytes: layout.bytes) { a, scratch, out in
                    let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                    let kept = layout.index(2, in: scratch)
                    let w = layout.scalars(0, in: scratch)
                    let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                    guard np > 0, nn > 0 else { return 0 }
                    let crossRow = crossValues.pointer + a * m
                    for k in 0..<nn {
                        let n = Int(negatives[k])
                        w[k] = q[n] - Double(crossRow[n])
                    }
                    var total = 0
                    for i in 0..<np {
                        let p = Int(positives[i])
                        let ap = Double(crossRow[p])
                        let apSquared = Swift.max(0, xSquares[a] + rSquares[p] - 2 * ap + 2 * eps * (xSums[a] - rSums[p]) + dEps2)
                        let centerSquared = (xSquares[a] + 2 * ap + rSquares[p]) / 4
                        let base = centerSquared - eps * (xSums[a] + rSums[p]) + dEps2
                        let withinRow = withinValues.pointer + p * m
                        var count = 0
                        for k in 0..<nn {
                            let ncSquared = Swift.max(0, w[k] - Double(withinRow[Int(negatives[k])]) + base)
                            kept[count] = Int32(truncatingIfNeeded: k)
                            count &+= apSquared > factor * ncSquared ? 1 : 0
                        }
                        if let out {
                            for j in 0..<count {
                                (out + total + j).initialize(to: Triplet(a, p, Int(negatives[Int(kept[j])])))
                            }
                        }
                        total += count
                    }
                    return total
                }
            }
        }
        return .triplets(triplets)
    }
}
