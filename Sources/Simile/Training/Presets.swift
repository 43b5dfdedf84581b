/// Named pipelines: the product's recommended ECG pipeline and the baselines it is compared with
/// in docs/results.md.
///
/// A preset adapts to the data it is given: parts that need metadata the data lacks (sex or QT
/// range for stratified sampling) are switched off with a one-line warning, never a failure.
public enum Presets {
    /// Every preset's name and a line about it.
    public static let catalogue: [(name: String, summary: String)] = [
        ("ecg-recommended", "PK 12×4 stratified by sex and QT range; multi-similarity + circle; mining phases batch-all → distance-weighted + semi-hard → batch-hard on the hardest 20 % of batches; center loss 1e-3; clip 1.0; 32-D"),
        ("contrastive-random", "baseline: contrastive loss on every pair of uniformly random batches"),
        ("triplet-semihard", "baseline: triplet-margin loss on semi-hard triplets, PK batches"),
        ("margin-distance-weighted", "baseline: margin loss (learned β) on distance-weighted triplets, PK batches (Wu et al. 2017)"),
        ("proxy-anchor", "baseline: proxy-anchor loss, PK batches"),
    ]

    /// The pipeline a preset names, adapted to the data's metadata, with the warnings the
    /// adaptation produced.
    public static func pipeline(_ name: String, for data: Dataset? = nil, epochs: Int? = nil, seed: UInt64? = nil)
        throws -> (pipeline: Pipeline, warnings: [String]) {
        var warnings: [String] = []
        var pipeline: Pipeline
        switch name {
        case "ecg-recommended":
            var strata = ["sex", "qt_bucket"]
            if let data {
                let missing = strata.filter { data.metadataColumn(named: $0) == nil }
                if !missing.isEmpty {
                    warnings.append("ecg-recommended: the data has no \(missing.joined(separator: " or ")) column; "
                        + (missing.count == strata.count ? "PK batches are not stratified" : "stratifying by \(strata.filter { !missing.contains($0) }.joined(separator: ", ")) only"))
                    strata.removeAll { missing.contains($0) }
                }
            }
            let sampler = strata.isEmpty
                ? "pk(classes-per-batch=12, samples-per-class=4)"
                : "stratified-pk(by=[\(strata.joined(separator: ", "))], classes-per-batch=12, samples-per-class=4)"
            pipeline = Pipeline(name: name, stages: try [
                Stage("sampler", .sampler, sampler),
                Stage("model", .model, "mlp(hidden=[128], output=32, activation=gelu, dropout=0.3)"),
                Stage("warm-up", .miner, "batch-all", epochs: "1-5"),
                Stage("spread", .miner, "distance-weighted", epochs: "6-20"),
                Stage("semi-hard", .miner, "semi-hard", epochs: "6-20"),
                Stage("hard", .miner, "mix(hard=batch-hard, otherwise=semi-hard, hardest-fraction=0.2)", epochs: "21-"),
                Stage("main", .loss, "multi-similarity"),
                Stage("angular", .loss, "circle", weight: 0.1, mined: false),
                Stage("center", .regularizer, "center"),
                Stage("optimizer", .optimizer, "adam(lr=0.001)"),
                Stage("schedule", .schedule, "cosine(steps=28, warmup=2, unit=epoch)"),
            ])
            pipeline.settings.epochs = 30
            pipeline.settings.clipNorm = 1.0
            pipeline.settings.collapseVarianceFloor = 0.002
        case "contrastive-random":
            pipeline = Pipeline(name: name, stages: try [
                Stage("sampler", .sampler, "random(batch-size=48)"),
                Stage("model", .model, "mlp(hidden=[128], output=32, activation=gelu, dropout=0.3)"),
                Stage("main", .loss, "contrastive(neg-margin=1)"),
                Stage("optimizer", .optimizer, "adam(lr=0.001)"),
            ])
            pipeline.settings.epochs = 30
        case "triplet-semihard":
            pipeline = Pipeline(name: name, stages: try [
                Stage("sampler", .sampler, "pk(classes-per-batch=12, samples-per-class=4)"),
                Stage("model", .model, "mlp(hidden=[128], output=32, activation=gelu, dropout=0.3)"),
                Stage("semi-hard", .miner, "semi-hard"),
                Stage("main", .loss, "triplet-margin(margin=0.1)"),
                Stage("optimizer", .optimizer, "adam(lr=0.001)"),
            ])
            pipeline.settings.epochs = 30
        case "margin-distance-weighted":
            pipeline = Pipeline(name: name, stages: try [
                Stage("sampler", .sampler, "pk(classes-per-batch=12, samples-per-class=4)"),
                Stage("model", .model, "mlp(hidden=[128], output=32, activation=gelu, dropout=0.3)"),
                Stage("spread", .miner, "distance-weighted"),
                Stage("main", .loss, "margin(learn-beta=true)"),
                Stage("optimizer", .optimizer, "adam(lr=0.001)"),
            ])
            pipeline.settings.epochs = 30
        case "proxy-anchor":
            pipeline = Pipeline(name: name, stages: try [
                Stage("sampler", .sampler, "pk(classes-per-batch=12, samples-per-class=4)"),
                Stage("model", .model, "mlp(hidden=[128], output=32, activation=gelu, dropout=0.3)"),
                Stage("main", .loss, "proxy-anchor"),
                Stage("optimizer", .optimizer, "adam(lr=0.001)"),
            ])
            pipeline.settings.epochs = 30
        default:
            var message = "unknown preset '\(name)'"
            if let suggestion = Suggestions.closest(to: name, among: catalogue.map(\.name)) {
                message += "; did you mean '\(suggestion)'?"
            }
            throw SimileError.invalidInput(message + " (presets: \(catalogue.map(\.name).joined(separator: ", ")); or give a pipeline JSON file)")
        }
        if let epochs { pipeline.settings.epochs = epochs }
        if let seed { pipeline.settings.seed = seed }
        return (pipeline, warnings)
    }
}
