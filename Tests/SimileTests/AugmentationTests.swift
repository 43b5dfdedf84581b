import Testing
@testable import Simile

/// Augmented views for contrastive and self-supervised training.
struct AugmentationTests {
    let batch = try! Matrix<Double>((0..<6).map { r in (0..<5).map { c in Double(r) - 2.5 + 0.3 * Double(c) } })
    let labels = [7, 7, 3, 3, 9, 9]

    @Test func twoViewsArePairedAndLabelled() throws {
        let selfSupervised = try Augmentation("views=2").views(of: batch, labels: labels, step: 1)
        #expect(selfSupervised.features.rows == 12 && selfSupervised.features.columns == 5)
        #expect(selfSupervised.labels == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
        #expect(selfSupervised.sourceRows == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
        #expect(selfSupervised.views == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        let supervised = try Augmentation("views=3, labels=classes").views(of: batch, labels: labels)
        #expect(supervised.labels == labels + labels + labels)
        // The views differ from the rows and from each other.
        let f = selfSupervised.features
        #expect((0..<6).contains { r in (0..<5).contains { f[r, $0] != f[r + 6, $0] } })
        #expect((0..<6).contains { r in (0..<5).contains { f[r, $0] != batch[r, $0] } })
        // They feed NT-Xent (positives: the other view of the same row).
        let loss = try Registry.builtin.loss("nt-xent")
        let value = try loss(selfSupervised.features, selfSupervised.labels).value
        #expect(value.isFinite && value > 0)
    }

    @Test func seededByStep() throws {
        let augmentation = try Augmentation(commandLine: ["seed=4", "dropout=0.3"])
        let a = try augmentation.views(of: batch, labels: labels, step: 5)
        #expect(try augmentation.views(of: batch, labels: labels, step: 5).features == a.features)
        #expect(try augmentation.views(of: batch, labels: labels, step: 6).features != a.features)
        #expect(try Augmentation(commandLine: ["seed=5", "dropout=0.3"]).views(of: batch, labels: labels, step: 5).features != a.features)
    }

    @Test func eachTransformDoesWhatItSays() throws {
        let ones = Matrix<Double>(rows: 400, columns: 50, repeating: 1)
        let rowLabels = Array(0..<400)
        func stats(_ text: String) throws -> (mean: Double, sd: Double, zeros: Double, m: Matrix<Double>) {
            let m = try Augmentation(text).views(of: ones, labels: rowLabels).features
            let values = m.elements
            let mean = values.reduce(0, +) / Double(values.count)
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            return (mean, sd, Double(values.filter { $0 == 0 }.count) / Double(values.count), m)
        }
        let identity = try stats("jitter=0, scaling=0, noise=0, dropout=0")
        #expect(identity.m.elements.allSatisfy { $0 == 1 })
        let noise = try stats("jitter=0, scaling=0, noise=0.2, dropout=0")
        #expect(abs(noise.sd - 0.2) < 0.01 && abs(noise.mean - 1) < 0.01)
        let dropout = try stats("jitter=0, scaling=0, noise=0, dropout=0.25")
        #expect(abs(dropout.zeros - 0.25) < 0.02)
        #expect(dropout.m.elements.allSatisfy { $0 == 0 || $0 == 1 })
        // Scaling: one factor per row and view.
        let scaling = try stats("jitter=0, scaling=0.3, noise=0, dropout=0")
        for r in 0..<scaling.m.rows { #expect(Set(scaling.m.row(r)).count == 1) }
        #expect(abs(scaling.sd - 0.3) < 0.05)
        // Jitter is relative: zeros stay zero.
        let zeros = Matrix<Double>(rows: 10, columns: 5)
        #expect(try Augmentation("jitter=0.5, scaling=0.5, noise=0, dropout=0").views(of: zeros, labels: Array(0..<10))
            .features.elements.allSatisfy { $0 == 0 })
        // original: the first view is the row itself.
        let kept = try Augmentation("original=true").views(of: batch, labels: labels)
        #expect((0..<6).allSatisfy { r in (0..<5).allSatisfy { kept.features[r, $0] == batch[r, $0] } })
        // Float runs the same arithmetic.
        let float = try Augmentation("views=2").views(of: batch.converted(to: Float.self), labels: labels, step: 1)
        let double = try Augmentation("views=2").views(of: batch, labels: labels, step: 1)
        #expect(zip(float.features.elements, double.features.elements).allSatisfy { abs(Double($0) - $1) < 1e-5 })
    }

    @Test func badSpecsAndInputsAreErrors() throws {
        #expect(throws: SimileError.unknownParameter(component: "augmentation", parameter: "jiter", suggestion: "jitter",
                                                     valid: Augmentation.parameters.map(\.name))) {
            try Augmentation("jiter=0.1")
        }
        #expect(throws: SimileError.self) { try Augmentation("dropout=1") }
        #expect(throws: SimileError.self) { try Augmentation("views=0") }
        #expect(throws: SimileError.self) { try Augmentation("labels=patients") }
        #expect(throws: SimileError.self) { try Augmentation("mixup(alpha=1)") }
        let augmentation = try Augmentation()
        #expect(throws: SimileError.self) { try augmentation.views(of: batch, labels: [1, 2]) }
        var bad = batch
        bad[2, 3] = .nan
        #expect(throws: SimileError.self) { try augmentation.views(of: bad, labels: labels) }
        #expect(throws: SimileError.self) { try augmentation.views(of: Matrix<Double>(rows: 0, columns: 3), labels: []) }
    }
}
