import Foundation
import Testing
@testable import Simile

/// The full trainer: resumes bit-identically, is deterministic by seed, follows the collapse
/// policy, and adapts presets to the data.
struct TrainerTests {
    static let cohort: PreparedData = {
        let data = try! SyntheticECG(patients: 30, exams: 4...5, seed: 3).dataset()
        return try! PreparedData(data, testFraction: 0.3, seed: 1)
    }()

    func small(epochs: Int = 3, floor: Double? = nil) throws -> Pipeline {
        var pipeline = Pipeline(name: "small", stages: try [
            Stage("sampler", .sampler, "pk(classes-per-batch=4, samples-per-class=3)"),
            Stage("model", .model, "mlp(hidden=[16], output=8, dropout=0.1)"),
            Stage("warm", .miner, "batch-all", epochs: "1"),
            Stage("hard", .miner, "distance-weighted", epochs: "2-"),
            Stage("main", .loss, "multi-similarity"),
            Stage("proxies", .loss, "proxy-anchor", weight: 0.5, mined: false),
            Stage("center", .regularizer, "center"),
            Stage("optimizer", .optimizer, "adam(lr=0.01)"),
            Stage("schedule", .schedule, "cosine(steps=3, warmup=1, unit=epoch)"),
        ])
        pipeline.settings.epochs = epochs
        pipeline.settings.clipNorm = 1
        pipeline.settings.collapseVarianceFloor = floor
        return pipeline
    }

    @Test func aResumedRunIsBitIdenticalToAnUninterruptedOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simile-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("checkpoint.json")

        let straight = try Trainer(pipeline: small(), data: Self.cohort)
        try straight.run()

        // A run "killed" after epoch 2: its last checkpoint is what epoch 2 wrote.
        var interrupted = try small()
        interrupted.settings.epochs = 2
        let first = try Trainer(pipeline: interrupted, data: Self.cohort)
        try first.run(checkpoint: checkpoint)
        let saved = try AtomicFile.readJSON(TrainingState.self, from: checkpoint)
        #expect(saved.epoch == 2)
        let resumed = try Trainer(pipeline: small(), data: Self.cohort)
        try resumed.restore(saved)
        try resumed.run(checkpoint: checkpoint)

        #expect(resumed.state.epoch == 3 && resumed.state.step == straight.state.step)
        #expect(resumed.state.model == straight.state.model, "model parameters differ after resuming")
        #expect(resumed.state.lossParameters == straight.state.lossParameters)
        #expect(resumed.state.optimizer == straight.state.optimizer)
        #expect(resumed.state.history.map(\.loss) == straight.state.history.map(\.loss))
        #expect(Set(straight.state.lossParameters.keys) == ["proxies.proxies", "center.centers"])
    }

    @Test func theSameSeedGivesTheSameRunAndAnotherSeedDoesNot() throws {
        let a = try Trainer(pipeline: small(epochs: 1), data: Self.cohort)
        try a.run()
        let b = try Trainer(pipeline: small(epochs: 1), data: Self.cohort)
        try b.run()
        #expect(a.state.model == b.state.model)
        var other = try small(epochs: 1)
        other.settings.seed = 9
        let c = try Trainer(pipeline: other, data: Self.cohort)
        try c.run()
        #expect(c.state.model != a.state.model)
    }

    @Test func trainingImprovesRetrievalOverTheFirstEpoch() throws {
        let trainer = try Trainer(pipeline: small(epochs: 3), data: Self.cohort)
        try trainer.run()
        let losses = trainer.state.history.map(\.loss)
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(losses.last! < losses.first!, "\(losses)")
        #expect(trainer.state.history.allSatisfy { $0.validation?.precisionAt1 != nil })
        #expect(trainer.state.history[0].miners == ["warm"] && trainer.state.history[1].miners == ["hard"])
    }

    @Test func collapsePolicyFallsBackToThePreviousPhase() throws {
        // A floor no embedding reaches: suspended after epoch 1, so epoch 2 mines with epoch 1's miner.
        let trainer = try Trainer(pipeline: small(epochs: 2, floor: 10), data: Self.cohort)
        var notes: [String] = []
        try trainer.run { if case let .note(text) = $0 { notes.append(text) } }
        #expect(trainer.state.history[1].suspended)
        #expect(trainer.state.history[1].miners == ["warm"])
        #expect(notes.contains { $0.contains("hard mining suspended") }, "\(notes)")
    }

    @Test func presetsAdaptToDataWithoutMetadata() throws {
        let plain = try Dataset(csv: "id,a,b\n1,0.1,0.2\n1,0.2,0.1\n2,0.9,0.8\n2,0.8,0.9\n", options: DatasetLoadOptions(label: "id"))
        let (pipeline, warnings) = try Presets.pipeline("ecg-recommended", for: plain)
        #expect(warnings.count == 1 && warnings[0].contains("sex"))
        #expect(pipeline.single(.sampler)?.spec.hasPrefix("pk(") == true)
        let (ecg, none) = try Presets.pipeline("ecg-recommended", for: Self.cohort.train)
        #expect(none.isEmpty && ecg.single(.sampler)?.spec.hasPrefix("stratified-pk") == true)
        for (name, _) in Presets.catalogue {
            let preset = try Presets.pipeline(name).pipeline
            #expect(preset.shapeProblems().isEmpty, "\(name)")
            _ = try Trainer(pipeline: preset, data: Self.cohort)
        }
        #expect(throws: SimileError.self) { try Presets.pipeline("ecg-recomended") }
    }

    @Test func resumingWithAnotherPipelineIsRefused() throws {
        let trainer = try Trainer(pipeline: small(epochs: 1), data: Self.cohort)
        var other = try small(epochs: 1)
        other.name = "other"
        let different = try Trainer(pipeline: other, data: Self.cohort)
        #expect(throws: SimileError.self) { try trainer.restore(different.state) }
    }
}
