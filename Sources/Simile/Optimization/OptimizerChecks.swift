/// Range checks shared by the optimizer rules, for values given in code rather than text (text
/// is checked by the schema with the same ranges and messages).
enum OptimizerChecks {
    static func check<R: OptimizerRule>(_ rule: R, _ values: [String: Double]) throws {
        var problems: [SimileError] = []
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let spec = R.schema.parameters.first(where: { $0.name == name }) else { continue }
            if !value.isFinite || !(spec.range?.contains(value) ?? true) {
                problems.append(.parameterOutOfRange(component: R.schema.name, parameter: name,
                                                     value: "\(value)", range: spec.range?.description ?? "finite"))
            }
        }
        if problems.count == 1 { throw problems[0] }
        if problems.count > 1 { throw SimileError.invalidParameters(problems) }
    }
}
