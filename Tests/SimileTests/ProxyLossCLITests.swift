import Foundation
import Testing
@testable import Simile

/// `simile compute loss` with a trainable parameter given in the input JSON.
struct ProxyLossCLITests {
    static var input: URL { Fixtures.directory.appendingPathComponent("proxy/proxy-anchor-input.json") }
    static var expected: URL { Fixtures.directory.appendingPathComponent("proxy/proxy-anchor-expected.json") }

    struct Output: Decodable {
        let loss: Double
        let gradient: [[Double]]
        let parameter_gradients: [String: [[Double]]]
        let sub_losses: [String: Double]
    }

    struct Expected: Decodable {
        let loss: Double
        let gradient: [[Double]]
        let parameter_gradients: [String: [[Double]]]
    }

    /// PML's value, embedding gradient and proxy gradient, from the proxies given in the input.
    @Test(arguments: ["double", "float"])
    func proxyAnchorReproducesPML(_ precision: String) throws {
        let run = try SimileExecutable.run(["compute", "loss", "proxy-anchor", "num-classes=4", "embedding-size=8",
                                            "--input", Self.input.path, "--precision", precision])
        #expect(run.status == 0, "\(run.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: Data(run.stdout.utf8))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.expected))
        let (valueTolerance, gradientTolerance) = precision == "double" ? (1e-12, 1e-9) : (1e-5, 1e-3)
        #expect(abs(output.loss - expected.loss) <= valueTolerance * abs(expected.loss))
        #expect(abs(output.sub_losses["pos_loss"]! + output.sub_losses["neg_loss"]! - output.loss) < 1e-9)
        func difference(_ a: [[Double]], _ b: [[Double]]) -> Double {
            guard a.count == b.count, zip(a, b).allSatisfy({ $0.count == $1.count }) else { return .infinity }
            return zip(a.joined(), b.joined()).map { abs($0 - $1) }.max() ?? 0
        }
        #expect(difference(output.gradient, expected.gradient) <= gradientTolerance * maxAbsolute(expected.gradient))
        let proxies = try #require(output.parameter_gradients["proxies"])
        let pml = try #require(expected.parameter_gradients["proxies"])
        #expect(difference(proxies, pml) <= gradientTolerance * maxAbsolute(pml))
        // --expect compares the value and the embedding gradient with the same file.
        let checked = try SimileExecutable.run(["compute", "loss", "proxy-anchor", "num-classes=4", "embedding-size=8",
                                                "--input", Self.input.path, "--expect", Self.expected.path])
        #expect(checked.status == 0 && checked.stderr.contains("relative difference"), "\(checked.stderr)")
    }

    /// A parameter matrix that does not fit num-classes × embedding-size is a user error (exit 2).
    @Test func mismatchedProxiesExitWith2() throws {
        let run = try SimileExecutable.run(["compute", "loss", "proxy-anchor", "num-classes=5", "embedding-size=8",
                                            "--input", Self.input.path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("'proxies'") && run.stderr.contains("5×8"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }
}
