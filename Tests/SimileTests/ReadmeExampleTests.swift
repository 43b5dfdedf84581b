import Foundation
import Testing
import Simile

/// The Swift example in README.md runs as written.
struct ReadmeExampleTests {
    @Test func readmeExampleRuns() throws {
        let loss = try Registry.builtin.loss("multi-similarity(alpha=2, beta=50, base=0.5)")
        let embeddings = try Matrix<Float>([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.8, 0.3]])
        let labels = [0, 0, 1, 1]

        let output = try loss(embeddings, labels)       // value and dL/d(embeddings)
        print(output.value, output.subLosses)
        let gradient: Matrix<Float> = output.gradient    // backpropagate this through your model

        #expect(output.value > 0 && gradient.rows == 4 && gradient.columns == 2)
        let mined = try loss(embeddings, labels, tuples: .triplets([Triplet(0, 1, 2)]))
        #expect(mined.value.isFinite)
    }

    /// The README quotes this snippet; keep the two in step.
    @Test func readmeStillContainsTheExample() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for line in ["let loss = try Registry.builtin.loss(\"multi-similarity(alpha=2, beta=50, base=0.5)\")",
                     "let output = try loss(embeddings, labels)",
                     "try loss(embeddings, labels, tuples: .triplets([Triplet(0, 1, 2)]))"] {
            #expect(text.contains(line), "README no longer shows: \(line)")
        }
    }
}
