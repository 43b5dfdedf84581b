/// SoftTriple's regularizer on its centers (PML's `SparseCentersRegularizer`): the centers of one
/// class are pulled together, so that superfluous centers merge and a class ends up with as few as
/// it needs.
public struct SparseCentersRegularizer: Regularizer {
    public static let target = RegularizerTarget.parameters

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "sparse-centers",
        summary: "Pull the centers of each class together, so SoftTriple keeps only the centers it needs.",
        formula: """
            rows are centers, class-major: center k of class c is row c·K + k  (K = centers-per-class)
            for every pair i < j of centers of the same class:  ℓᵢⱼ = ‖x̂ᵢ − x̂ⱼ‖₂ = √(2 − 2·cos(xᵢ, xⱼ))
            R = Σ ℓᵢⱼ / divisor,  divisor = 2 · #pairs = C·K·(K − 1)  (the divisor reducer, the default)
            """,
        discussion: """
            For softtriple's C·K×D centers (Simile's parameter matrices have one row per center; PML's fc is \
            D×C·K and its regularizer reads fc.t(), the same C·K×D matrix). The matrix must have exactly \
            num-classes × centers-per-class rows. SoftTriple's paper adds it with weight τ = 0.2. \
            Only same-class pairs are formed (O(C·K²·D) time, no C·K×C·K matrix). The distance is computed from \
            the difference x̂ᵢ − x̂ⱼ, which equals PML's √(2 + tiny − min(2·cos, 2)) (tiny = the smallest normal \
            number) except for centers pointing the same way: there PML's form keeps the rounding error of cos \
            (about 1.5e-8 per pair in float64) and Simile's is exact. Coincident directions get the subgradient 0 \
            in both. Elements are grouped by their first center i, whose class is the group's label \
            (for class-weighted reduction); other reducers work, but mean divides by #pairs, not 2·#pairs. \
            stats.same_class_center_sim is the mean same-class cosine, as PML records it.
            """,
        reference: "Qian et al., SoftTriple Loss: Deep Metric Learning Without Triplet Sampling, ICCV 2019; PML SparseCentersRegularizer",
        parameters: [
            .int("num-classes", nil, range: .atLeast(1), doc: "number of classes C"),
            .int("centers-per-class", nil, range: .atLeast(2), doc: "centers per class K (at least 2)"),
            .reducer(default: "divisor", doc: "how the per-pair values become one number"),
        ],
        examples: [["num-classes=3", "centers-per-class=2"], ["num-classes=2", "centers-per-class=3", "reducer=mean"]])

    public let numClasses: Int
    public let centersPerClass: Int
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        centersPerClass = try arguments.int("centers-per-class")
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S> {
        let k = centersPerClass, classes = numClasses
        let x = input.matrix
        let rows = x.rows, d = x.columns
        guard rows == classes * k else {
            throw SimileError.shapeMismatch(
                "'sparse-centers' expects num-classes × centers-per-class = \(classes) × \(k) = \(classes * k) rows "
                    + "(center k of class c at row c·\(k) + k), but the matrix has \(rows); "
                    + "set num-classes and centers-per-class to those of the loss")
        }
        let normalization = RowNormalization(x)
        let unit = normalization.output
        let pairsPerClass = k * (k - 1) / 2

        // Pass 1: every same-class distance, and one bag per center (the pair's first center).
        let gate = reducer.gate
        let parts: [(distances: [Double], bags: [Bag])] = unit.elements.withUnsafeBufferPointer { buffer in
            let base = SendableConstPointer(buffer.baseAddress!)
            return Parallel.map(classes, grain: 16) { range in
                range.map { c -> (distances: [Double], bags: [Bag]) in
                    var distances: [Double] = []
                    distances.reserveCapacity(pairsPerClass)
                    var bags = [Bag](repeating: Bag(), count: k)
                    for a in 0..<k {
                        let ri = base.pointer + (c * k + a) * d
                        for b in (a + 1)..<k {
                            let rj = base.pointer + (c * k + b) * d
                            var sum = 0.0
                            for t in 0..<d {
                                let diff = Double(ri[t]) - Double(rj[t])
                                sum += diff * diff
                            }
                            let distance = sum.squareRoot()
                            distances.append(distance)
                            bags[a].add(distance, gate: gate)
                        }
                    }
                    return (distances, bags)
                }
            }.flatMap { $0 }
        }
        let divisor = Double(2 * classes * pairsPerClass)
        let reduction = try reducer.reduce(
            parts.flatMap(\.bags),
            ReductionContext(loss: name, term: "loss", kind: .pair, groupLabels: (0..<rows).map { $0 / k },
                             divisor: divisor))

        // Pass 2: ∂‖x̂ᵢ − x̂ⱼ‖/∂x̂ᵢ = (x̂ᵢ − x̂ⱼ)/‖x̂ᵢ − x̂ⱼ‖ (0 for coincident centers); each class writes its own rows.
        var unitGradient = Matrix<S>(rows: rows, columns: d)
        unit.elements.withUnsafeBufferPointer { buffer in
            unitGradient.elements.withUnsafeMutableBufferPointer { target in
                let base = SendableConstPointer(buffer.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                Parallel.forEach(classes, grain: 16) { range in
                    for c in range {
                        var pair = 0
                        for a in 0..<k {
                            let i = c * k + a
                            for b in (a + 1)..<k {
                                let j = c * k + b
                                let distance = parts[c].distances[pair]
                                pair += 1
                                let weight = reduction.weight(distance, group: i)
                                guard weight != 0, distance > 0 else { continue }
                                let coefficient = weight / distance
                                let ri = base.pointer + i * d, rj = base.pointer + j * d
                                let gi = out.pointer + i * d, gj = out.pointer + j * d
                                for t in 0..<d {
                                    let g = S(coefficient * (Double(ri[t]) - Double(rj[t])))
                                    gi[t] += g
                                    gj[t] -= g
                                }
                            }
                        }
                    }
                }
            }
        }
        let gradient = normalization.backward(unitGradient)
        let allDistances = parts.flatMap(\.distances)
        let meanCosine = allDistances.isEmpty
            ? 0 : allDistances.reduce(0) { $0 + (1 - $1 * $1 / 2) } / Double(allDistances.count)
        return RegularizerOutput(value: reduction.value, gradient: gradient,
                                 stats: ["loss.active": Double(reduction.included), "divisor": divisor,
                                         "same_class_center_sim": meanCosine])
    }
}
