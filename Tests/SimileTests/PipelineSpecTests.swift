import Foundation
import Testing
@testable import Simile

/// The pipeline as data: epoch ranges, stage checks, JSON round trips, and the stability policies.
struct PipelineSpecTests {
    @Test func epochRangesParsePrintAndContain() throws {
        let closed = try EpochRange("6-20")
        #expect(closed.contains(6) && closed.contains(20) && !closed.contains(5) && !closed.contains(21))
        #expect(closed.description == "6-20")
        let open = try EpochRange("21-")
        #expect(open.contains(21) && open.contains(10_000) && !open.contains(20))
        #expect(try EpochRange("7").description == "7")
        #expect(throws: SimileError.self) { try EpochRange("0-3") }
        #expect(throws: SimileError.self) { try EpochRange("5-2") }
        #expect(throws: SimileError.self) { try EpochRange("first") }
    }

    func minimal() throws -> Pipeline {
        try Pipeline(name: "t", stages: [
            Stage("sampler", .sampler, "pk"),
            Stage("model", .model, "mlp(output=8)"),
            Stage("warm", .miner, "batch-all", epochs: "1-5"),
            Stage("hard", .miner, "batch-hard", epochs: "6-"),
            Stage("main", .loss, "multi-similarity"),
            Stage("angular", .loss, "circle", weight: 0.5, mined: false),
            Stage("center", .regularizer, "center", weight: 1e-3),
            Stage("optimizer", .optimizer, "adam(lr=0.001)"),
        ])
    }

    @Test func activeStagesFollowThePhases() throws {
        let pipeline = try minimal()
        #expect(pipeline.stages(.miner, epoch: 3).map(\.name) == ["warm"])
        #expect(pipeline.stages(.miner, epoch: 6).map(\.name) == ["hard"])
        #expect(pipeline.stages(.loss, epoch: 40).map(\.name) == ["main", "angular"])
        #expect(pipeline.minerPhases.map { $0?.description } == ["1-5", "6-"])
        #expect(pipeline.shapeProblems().isEmpty)
    }

    @Test func jsonRoundTripsWithReadableEpochs() throws {
        let pipeline = try minimal()
        let data = try JSONEncoder().encode(pipeline)
        #expect(String(decoding: data, as: UTF8.self).contains("\"epochs\":\"1-5\""))
        #expect(try JSONDecoder().decode(Pipeline.self, from: data) == pipeline)
    }

    @Test func shapeProblemsAreAllReported() throws {
        var pipeline = try minimal()
        pipeline.stages.removeAll { $0.role == .sampler }
        pipeline.stages.append(try Stage("main", .regularizer, "lp", weight: -1, target: "nowhere.proxies"))
        let problems = pipeline.shapeProblems().joined(separator: "\n")
        for fragment in ["no sampler", "named 'main'", "weight -1", "targets 'nowhere.proxies'"] {
            #expect(problems.contains(fragment), "missing '\(fragment)' in \(problems)")
        }
    }

    @Test func collapsePolicySuspendsAndResumesWithHysteresis() {
        var monitor = CollapseMonitor(varianceFloor: 0.01)
        #expect(monitor.observe(.init(epoch: 1, variance: 0.05, intraInterRatio: 0.5, rank1: 0.4)) == nil)
        #expect(monitor.observe(.init(epoch: 2, variance: 0.005, intraInterRatio: 0.9, rank1: 0.2)) != nil)
        #expect(monitor.suspended)
        #expect(monitor.observe(.init(epoch: 3, variance: 0.015, intraInterRatio: 0.8, rank1: 0.3)) == nil)
        #expect(monitor.suspended, "resumes only above twice the floor")
        #expect(monitor.observe(.init(epoch: 4, variance: 0.03, intraInterRatio: 0.6, rank1: 0.4)) != nil)
        #expect(!monitor.suspended && monitor.events.count == 2)
        var off = CollapseMonitor(varianceFloor: nil)
        #expect(off.observe(.init(epoch: 1, variance: 0, intraInterRatio: 1, rank1: 0)) == nil && !off.suspended)
    }

    @Test func nanGuardSkipsThenStopsAfterTheLimit() throws {
        var guardian = NaNGuard(limit: 3)
        #expect(try guardian.admit(finite: false, epoch: 1, batch: 1, what: "loss") == false)
        #expect(try guardian.admit(finite: true, epoch: 1, batch: 2, what: "loss"))
        #expect(try !guardian.admit(finite: false, epoch: 1, batch: 3, what: "loss"))
        #expect(try !guardian.admit(finite: false, epoch: 1, batch: 4, what: "loss"))
        #expect(throws: SimileError.self) { try guardian.admit(finite: false, epoch: 1, batch: 5, what: "loss") }
        #expect(guardian.skipped == 4)
    }
}
