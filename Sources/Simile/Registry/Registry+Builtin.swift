extension Registry {
    /// Simile's own components.
    public static let builtin: Registry = {
        var registry = Registry()
        do {
            for distance in builtinDistances { try registry.register(distance) }
            for reducer in builtinReducers { try registry.register(reducer) }
            for loss in builtinLosses { try registry.register(loss) }
            for regularizer in builtinRegularizers { try registry.register(regularizer) }
            for miner in builtinMiners { try registry.register(miner) }
            for sampler in builtinSamplers { try registry.register(sampler) }
        } catch {
            preconditionFailure("a built-in component is declared wrongly: \(error)")
        }
        return registry
    }()

    static let builtinDistances: [any Distance.Type] = [
        LpDistance.self, CosineSimilarity.self, DotProductSimilarity.self, ManhattanDistance.self, SNRDistance.self,
    ]

    static let builtinReducers: [any Reducer.Type] = [
        MeanReducer.self, SumReducer.self, AvgNonZeroReducer.self, ThresholdReducer.self, DivisorReducer.self,
        ClassWeightedReducer.self, PerAnchorReducer.self,
    ]

    /// One per line, so that additions merge cleanly.
    static let builtinLosses: [any Loss.Type] = [
        ContrastiveLoss.self,
        TripletMarginLoss.self,
        MultiSimilarityLoss.self,
        // Pair losses (lifted, n-pairs, nt-xent, supcon, intra-pair-variance)
        LiftedStructureLoss.self,
        GeneralizedLiftedStructureLoss.self,
        NPairsLoss.self,
        NTXentLoss.self,
        SupConLoss.self,
        IntraPairVarianceLoss.self,
        // Margin family (circle, margin, tuplet-margin, histogram, fast-ap, snr-contrastive)
        CircleLoss.self,
        MarginLoss.self,
        TupletMarginLoss.self,
        HistogramLoss.self,
        FastAPLoss.self,
        SignalToNoiseRatioContrastiveLoss.self,
        // Others (angular, instance, ranked-list, log-ratio, siamese)
        AngularLoss.self,
        InstanceLoss.self,
        RankedListLoss.self,
        LogRatioLoss.self,
        SiameseLoss.self,
        // Proxy and classification losses (proxy-nca, proxy-anchor, soft-triple, arcface, cosface,
        // sphereface, normalized-softmax, sub-center-arcface, nce)
        ProxyNCALoss.self,
        ProxyAnchorLoss.self,
        SoftTripleLoss.self,
        ArcFaceLoss.self,
        CosFaceLoss.self,
        SphereFaceLoss.self,
        NormalizedSoftmaxLoss.self,
        SubCenterArcFaceLoss.self,
        NCELoss.self,
    ]

    /// One per line.
    static let builtinRegularizers: [any Regularizer.Type] = [
        // Regularizers (PML's five, center loss, batch variance)
        LpRegularizer.self,
        ZeroMeanRegularizer.self,
        CenterInvariantRegularizer.self,
        RegularFaceRegularizer.self,
        SparseCentersRegularizer.self,
        CenterRegularizer.self,
        BatchVarianceRegularizer.self,
    ]

    /// One per line.
    static let builtinMiners: [any Miner.Type] = [
        // PML's miners (batch-all, batch-hard, batch-easy-hard, triplet-margin, semi-hard, pair-margin,
        // multi-similarity, angular, hdc, uniform-histogram, distance-weighted)
        BatchAllMiner.self,
        BatchHardMiner.self,
        BatchEasyHardMiner.self,
        TripletMarginMiner.self,
        SemiHardMiner.self,
        PairMarginMiner.self,
        MultiSimilarityMiner.self,
        AngularMiner.self,
        HDCMiner.self,
        UniformHistogramMiner.self,
        DistanceWeightedMiner.self,
        // Mining strategies (cascade, curriculum, variance-filter, proxy-guided, mix)
        CascadeMiner.self,
        CurriculumMiner.self,
        VarianceFilterMiner.self,
        ProxyGuidedMiner.self,
        MixMiner.self,
    ]

    /// One per line.
    static let builtinSamplers: [any BatchSampler.Type] = [
        // Data and samplers (pk, stratified-pk, hierarchical, temporal-pk, quality-weighted, random)
        PKSampler.self,
        StratifiedPKSampler.self,
        HierarchicalSampler.self,
        TemporalPKSampler.self,
        QualityWeightedSampler.self,
        RandomSampler.self,
    ]

    mutating func register(_ type: any Distance.Type) throws { try register(type.descriptor, factory: .distance { try type.init($0) }) }
    mutating func register(_ type: any Reducer.Type) throws { try register(type.descriptor, factory: .reducer { try type.init($0) }) }
    mutating func register(_ type: any Loss.Type) throws { try register(type.descriptor, factory: .loss { try type.init($0) }) }
    mutating func register(_ type: any Miner.Type) throws { try register(type.descriptor, factory: .miner { try type.init($0) }) }
    mutating func register(_ type: any BatchSampler.Type) throws {
        try register(type.descriptor, factory: .sampler { try type.init($0) })
    }
    mutating func register(_ type: any Regularizer.Type) throws {
        try register(type.descriptor, factory: .regularizer { try type.init($0) })
    }
}
