/// Self-paced hardness: a miner whose numeric parameter moves by epoch through phases.
public struct CurriculumMiner: StatefulMiner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "curriculum",
        summary: "Wraps a miner and moves one of its numeric parameters through phases by epoch (a schedule of hardness).",
        formula: """
            phase(e) = the last k with epochs[k] ≤ e   (k = 0 before epochs[0], and at epoch 0)
            mine with  miner(parameter = values[phase(e)])      e = the context's epoch
            """,
        discussion: """
            Curriculum or self-paced learning (Bengio et al. 2009; Kumar et al. 2010) applied to \
            mining: start easy and tighten, or start narrow and widen, e.g. \
            `miner=triplet-margin(type-of-triplets=semihard) parameter=margin values=[0.05, 0.1, 0.2] \
            epochs=[1, 6, 11]` widens the semi-hard band at epochs 6 and 11. Any int or double \
            parameter of any miner can be scheduled: each phase's miner is built through the \
            registry from the written spec with the parameter replaced (`ParameterSchedule`), all of \
            them at construction, so a value out of the parameter's range fails at once, not at \
            epoch 11. Epochs are whole numbers, strictly increasing; before the first listed epoch \
            (and at epoch 0, outside training) the first value applies. The epoch is read from \
            `MiningContext.epoch`, so the trainer must set it. A stateful wrapped miner hands its \
            state to the next phase's miner when the phase changes (state(), then restore()), so \
            histories carry over; a miner whose state depends on the scheduled parameter in a way \
            that restore() rejects cannot be scheduled. For a loss parameter (e.g. β of `margin`), \
            a trainer applies the same `ParameterSchedule` to the loss's spec. Cost: the wrapped \
            miner's.
            """,
        reference: "Bengio et al. 2009 (Curriculum Learning); Kumar, Packer & Koller 2010 (Self-Paced Learning for Latent Variable Models)",
        parameters: [
            ParameterSpec("miner", .component(.miner), default: .required, doc: "the miner whose parameter is scheduled"),
            ParameterSpec("parameter", .string, default: .required,
                          doc: "the wrapped miner's int or double parameter to schedule, e.g. margin"),
            ParameterSpec("values", .doubles, default: .required,
                          doc: "the parameter's value in each phase, in the parameter's own unit"),
            ParameterSpec("epochs", .doubles, default: .required, range: .atLeast(0),
                          doc: "the epoch (whole number, 1-based) at which each phase starts, strictly increasing"),
        ],
        examples: [["miner=triplet-margin(type-of-triplets=semihard)", "parameter=margin", "values=[0.05, 0.1, 0.2]",
                    "epochs=[1, 6, 11]"],
                   ["miner=multi-similarity", "parameter=epsilon", "values=[0.2, 0.1]", "epochs=[1, 4]"],
                   ["miner=mix", "parameter=hardest-fraction", "values=[0.1, 0.3]", "epochs=[1, 10]"]])

    public let schedule: ParameterSchedule
    /// The wrapped miner as written.
    public let spec: ComponentSpec
    /// One miner per phase.
    let phases: [any Miner]
    /// The phase the last batch was mined in (nil before the first batch), for handing state over.
    private let current: LockedState<Int?>

    public init(_ arguments: Arguments) throws {
        spec = try arguments.componentSpec("miner")
        schedule = try ParameterSchedule(parameter: try arguments.string("parameter"), values: try arguments.doubles("values"),
                                         epochs: try arguments.doubles("epochs"))
        try schedule.validate(.miner, spec, registry: arguments.registry)
        let schedule = self.schedule, spec = self.spec
        phases = try schedule.phases.indices.map { try arguments.registry.miner(schedule.applied(to: spec, phase: $0)) }
        current = LockedState(nil)
    }

    /// The miner in force at an epoch.
    public func miner(atEpoch epoch: Int) -> any Miner { phases[schedule.phase(atEpoch: epoch)] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let phase = schedule.phase(atEpoch: input.context.epoch)
        let phases = self.phases
        try current.withLock { current in
            if let previous = current, previous != phase,
               let from = phases[previous] as? any StatefulMiner, let to = phases[phase] as? any StatefulMiner {
                try to.restore(try from.state())
            }
            current = phase
        }
        return try phases[phase].mine(input)
    }

    // MARK: State: the current phase and its miner's state

    public func state() throws -> [UInt8] {
        let phases = self.phases
        return try current.withLock { current in
            var writer = StateWriter(miner: Self.descriptor.name, version: 1)
            writer.int(current ?? -1)
            try NestedState.write([phases[current ?? 0]], into: &writer)
            return writer.bytes
        }
    }

    public func restore(_ state: [UInt8]) throws {
        let phases = self.phases
        try current.withLock { current in
            var reader = try StateReader(state, miner: Self.descriptor.name, version: 1)
            let saved = try reader.int()
            guard saved >= -1, saved < phases.count else {
                throw SimileError.invalidInput("'\(Self.descriptor.name)': the saved state is in phase \(saved) but the schedule has \(phases.count) phases")
            }
            let nested = try NestedState.read([phases[max(saved, 0)]], from: &reader, miner: Self.descriptor.name)
            try reader.finish()
            try NestedState.apply(nested)
            current = saved >= 0 ? saved : nil
        }
    }

    public func reset() {
        current.withLock { $0 = nil }
        NestedState.reset(phases)
    }
}
