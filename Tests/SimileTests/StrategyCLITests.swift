import Foundation
import Testing
@testable import Simile

/// The strategies on the command line: they mine like any miner, describe themselves, and a bad
/// schedule is a user error (exit code 2) that names the parameter.
struct StrategyCLITests {
    static let batch = """
        {"embeddings": [[1, 0.1], [0.9, 0.3], [0.2, 1], [0.1, 0.8], [-1, 0.2], [-0.8, -0.1]],
         "labels": [0, 0, 1, 1, 2, 2]}
        """

    @Test func cascadeMinesFromTheCommandLine() throws {
        let cascade = try SimileExecutable.run(
            ["compute", "miner", "cascade", "miners=[batch-all, triplet-margin(type-of-triplets=semihard, margin=0.5)]",
             "--input", "-", "--precision", "double"], stdin: Self.batch)
        #expect(cascade.status == 0, "\(cascade.stderr)")
        let semiHard = try SimileExecutable.run(["compute", "miner", "semi-hard", "margin=0.5", "--input", "-", "--precision", "double"],
                                                stdin: Self.batch)
        #expect(cascade.stdout == semiHard.stdout)
        #expect(cascade.stdout.contains("triplets"))
    }

    @Test func theEpochInTheInputMovesACurriculum() throws {
        func mine(epoch: Int) throws -> String {
            let input = Self.batch.replacingOccurrences(of: "\"labels\"", with: "\"epoch\": \(epoch), \"labels\"")
            let run = try SimileExecutable.run(
                ["compute", "miner", "curriculum", "miner=triplet-margin(type-of-triplets=all)", "parameter=margin",
                 "values=[0.01, 2]", "epochs=[1, 5]", "--input", "-", "--precision", "double"], stdin: input)
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdout
        }
        let early = try mine(epoch: 1), late = try mine(epoch: 5)
        #expect(early != late, "a wider margin at epoch 5 must keep more triplets")
        #expect(late.components(separatedBy: "],").count > early.components(separatedBy: "],").count)
    }

    @Test func describeAndErrors() throws {
        let describe = try SimileExecutable.run(["describe", "curriculum"])
        #expect(describe.status == 0 && describe.stdout.contains("epochs") && describe.stdout.contains("ParameterSchedule"))
        let bad = try SimileExecutable.run(["compute", "miner", "curriculum", "miner=triplet-margin", "parameter=margn",
                                            "values=[0.1]", "epochs=[1]", "--input", "-"], stdin: Self.batch)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("margn") && bad.stderr.contains("margin"), "\(bad.stderr)")
        let mix = try SimileExecutable.run(["compute", "miner", "mix", "window=3", "warmup=5", "--input", "-"], stdin: Self.batch)
        #expect(mix.status == 2 && mix.stderr.contains("warmup"), "\(mix.stderr)")
    }
}
