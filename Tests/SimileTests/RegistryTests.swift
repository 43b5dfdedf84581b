import Testing
@testable import Simile

/// Names, parameter schemas, construction from text, and the errors a user sees.
struct RegistryTests {
    let registry = Registry.builtin

    @Test func everyDescriptorIsWellFormed() {
        for kind in ComponentKind.allCases {
            for descriptor in registry.descriptors(kind) {
                #expect(descriptor.declarationProblems().isEmpty, "\(descriptor.name): \(descriptor.declarationProblems())")
                #expect(!descriptor.summary.contains("\n"), "\(descriptor.name): the summary must be one line")
                for parameter in descriptor.parameters {
                    #expect(!parameter.doc.isEmpty)
                }
            }
        }
    }

    /// Every example of every component constructs, and every component without required
    /// parameters constructs with its defaults (so defaults are valid, in range and readable).
    @Test func examplesAndDefaultsConstruct() throws {
        for descriptor in registry.descriptors(.loss) {
            for example in descriptor.examples { _ = try registry.loss(descriptor.name, example) }
            if !descriptor.parameters.contains(where: { $0.defaultValue == .required }) {
                _ = try registry.loss(descriptor.name, [])
            }
        }
        for descriptor in registry.descriptors(.distance) {
            _ = try registry.distance(descriptor.name)
            for example in descriptor.examples {
                _ = try registry.distance(ComponentSpec(name: descriptor.name, arguments: ComponentSpec.arguments(fromCommandLine: example)))
            }
        }
        for descriptor in registry.descriptors(.reducer) {
            for example in descriptor.examples {
                _ = try registry.reducer(ComponentSpec(name: descriptor.name, arguments: ComponentSpec.arguments(fromCommandLine: example)))
            }
        }
    }

    @Test func unknownNamesSuggestTheClosest() {
        #expect(throws: SimileError.unknownComponent(kind: .loss, name: "multisim", suggestion: "multi-similarity")) {
            try registry.loss("multisim")
        }
        #expect(throws: SimileError.unknownComponent(kind: .distance, name: "cosin", suggestion: "cosine")) {
            try registry.distance("cosin")
        }
        #expect(throws: SimileError.unknownComponent(kind: .loss, name: "zzzz", suggestion: nil)) {
            try registry.loss("zzzz")
        }
        let message = SimileError.unknownComponent(kind: .loss, name: "multisim", suggestion: "multi-similarity").description
        #expect(message.hasPrefix("unknown loss 'multisim'; did you mean 'multi-similarity'?"))
    }

    @Test func aliasesAndPMLClassNamesFindComponents() throws {
        #expect(try registry.loss("ms").name == "multi-similarity")
        #expect(Suggestions.closest(to: "MultiSimilarityLoss", among: ["multi-similarity", "contrastive"]) == "multi-similarity")
        #expect(Suggestions.closest(to: "pos_margin", among: ["pos-margin", "neg-margin"]) == "pos-margin")
        #expect(Suggestions.closest(to: "temprature", among: ["temperature", "margin"]) == "temperature")
        #expect(Suggestions.closest(to: "m", among: ["margin", "base"]) == nil)
    }

    @Test func unknownParameterNamesTheValidOnes() {
        do {
            _ = try registry.loss("contrastive", ["neg_margn=2"])
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("valid parameter name"), "\(error)")
        }
        #expect(throws: SimileError.unknownParameter(component: "contrastive", parameter: "negmargin", suggestion: "neg-margin",
                                                     valid: ["pos-margin", "neg-margin", "distance", "reducer"])) {
            try registry.loss("contrastive", ["negmargin=2"])
        }
    }

    @Test func wrongTypesAndRangesAreNamed() {
        #expect(throws: SimileError.invalidParameterValue(component: "multi-similarity", parameter: "alpha", value: "abc", expected: "a finite number")) {
            try registry.loss("multi-similarity", ["alpha=abc"])
        }
        #expect(throws: SimileError.parameterOutOfRange(component: "multi-similarity", parameter: "alpha", value: "-1", range: "> 0")) {
            try registry.loss("multi-similarity", ["alpha=-1"])
        }
        #expect(throws: SimileError.invalidParameterValue(component: "triplet-margin", parameter: "swap", value: "maybe", expected: "true or false")) {
            try registry.loss("triplet-margin", ["swap=maybe"])
        }
        #expect(throws: SimileError.self) { try registry.loss("triplet-margin", ["triplets-per-anchor=0"]) }
        #expect(throws: SimileError.self) { try registry.loss("triplet-margin", ["triplets-per-anchor=some"]) }
        #expect(throws: SimileError.self) { try registry.loss("contrastive", ["pos-margin=nan"]) }
    }

    @Test func severalProblemsAreReportedTogether() {
        do {
            _ = try registry.loss("multi-similarity", ["alpha=-1", "beta=x", "gamma=2"])
            Issue.record("expected an error")
        } catch let SimileError.invalidParameters(errors) {
            #expect(errors.count == 3)
        } catch {
            Issue.record("wrong error \(error)")
        }
    }

    @Test func nestedComponentsParseWithParameters() throws {
        let loss = try registry.loss("contrastive(pos-margin=0.1, distance=lp(power=2, normalize=false), reducer=threshold(low=0.1))")
        let contrastive = try #require(loss as? ContrastiveLoss)
        #expect(contrastive.posMargin == 0.1)
        let lp = try #require(contrastive.distance as? LpDistance)
        #expect(lp.power == 2 && !lp.normalize)
        #expect((contrastive.reducer as? ThresholdReducer)?.gate == ElementGate(low: 0.1))
        _ = try registry.loss("contrastive", ["reducer=per-anchor(reducer=threshold(low=0.1), aggregation=sum)"])
        _ = try registry.loss("contrastive", ["reducer=class-weighted(weights=[1, 2.5, 3])"])
    }

    @Test func nestedErrorsNameTheNestedComponent() {
        #expect(throws: SimileError.unknownComponent(kind: .distance, name: "lpp", suggestion: "lp")) {
            try registry.loss("contrastive", ["distance=lpp(power=2)"])
        }
        #expect(throws: SimileError.unknownParameter(component: "lp", parameter: "powr", suggestion: "power", valid: ["p", "power", "normalize"])) {
            try registry.loss("contrastive", ["distance=lp(powr=2)"])
        }
    }

    @Test func syntaxErrorsGiveThePosition() {
        #expect(throws: SimileError.syntax(text: "lp(power=2", position: 10, message: "missing ')'")) {
            try ComponentSpec("lp(power=2")
        }
        #expect(throws: SimileError.self) { try ComponentSpec("lp(power 2)") }
        #expect(throws: SimileError.self) { try ComponentSpec("Lp") }
        #expect(throws: SimileError.self) { try ComponentSpec("lp)") }
    }

    @Test func specsPrintBackTheSameWay() throws {
        let text = "per-anchor(reducer=threshold(low=0.1), aggregation=sum)"
        #expect(try ComponentSpec(text).description == text)
        let canonical = try registry.arguments(.loss, ComponentSpec("contrastive(neg-margin=0.5)")).canonicalSpec
        #expect(canonical.description == "contrastive(pos-margin=0, neg-margin=0.5, distance=lp, reducer=avg-non-zero)")
        #expect(try ComponentSpec(canonical.description) == canonical)
    }

    @Test func registryIsAValueAndRejectsDuplicates() throws {
        var registry = Registry.builtin
        #expect(throws: SimileError.duplicateRegistration(kind: .loss, name: "contrastive")) {
            try registry.register(ContrastiveLoss.self)
        }
        try registry.register(ComponentDescriptor(kind: .loss, name: "my-contrastive", summary: "A copy.",
                                                  parameters: ContrastiveLoss.descriptor.parameters),
                              factory: .loss { try ContrastiveLoss($0) })
        _ = try registry.loss("my-contrastive")
        #expect(throws: SimileError.self) { try Registry.builtin.loss("my-contrastive") }
    }

    @Test func badDeclarationsAreRejectedWithEveryProblem() {
        var registry = Registry()
        let bad = ComponentDescriptor(kind: .loss, name: "Bad_Name", summary: "",
                                      parameters: [.double("x", -1, range: .atLeast(0), doc: ""), .double("x", 1, doc: "y")])
        do {
            try registry.register(bad, factory: .loss { try ContrastiveLoss($0) })
            Issue.record("expected an error")
        } catch {
            let text = "\(error)"
            for fragment in ["not kebab-case", "no summary", "declared twice", "no doc", "default of 'x'"] {
                #expect(text.contains(fragment), "missing '\(fragment)' in \(text)")
            }
        }
    }

    @Test func kindsHaveSingularAndPluralWords() {
        #expect(ComponentKind(word: "losses") == .loss)
        #expect(ComponentKind(word: "miner") == .miner)
        #expect(ComponentKind(word: "lossez") == nil)
    }
}
