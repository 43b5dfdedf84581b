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

    @Test func readmeMiningAndProxyExampleRuns() throws {
        let embeddings = try Matrix<Float>([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.8, 0.3]])
        let labels = [0, 0, 1, 1]
        let miner = try Registry.builtin.miner("semi-hard(margin=0.2)")
        let tuples = try miner(embeddings, labels)                      // .triplets([...])
        let triplet = try Registry.builtin.loss("triplet-margin(margin=0.2)")
        let mined = try triplet(embeddings, labels, tuples: tuples)
        #expect(mined.value.isFinite)

        let proxies = try RegularizedLoss(loss: "proxy-anchor(num-classes=2, embedding-size=2)",
                                          regularizers: [(weight: nil, regularizer: "center(num-classes=2, embedding-size=2)",
                                                          target: "embeddings")])
        let parameters = proxies.initialParameters().mapValues { $0.converted(to: Float.self) }
        let step = try proxies(embeddings, labels, parameters: parameters)
        #expect(step.parameterGradients["proxies"] != nil && step.parameterGradients["center.centers"] != nil)
        #expect(proxies.learningRateMultipliers["proxies"] == 100)
    }

    /// The README quotes this snippet; keep the two in step.
    @Test func readmeStillContainsTheExample() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for line in ["let loss = try Registry.builtin.loss(\"multi-similarity(alpha=2, beta=50, base=0.5)\")",
                     "let output = try loss(embeddings, labels)",
                     "try loss(embeddings, labels, tuples: .triplets([Triplet(0, 1, 2)]))",
                     "let miner = try Registry.builtin.miner(\"semi-hard(margin=0.2)\")",
                     "let step = try proxies(embeddings, labels, parameters: parameters)"] {
            #expect(text.contains(line), "README no longer shows: \(line)")
        }
    }
}
