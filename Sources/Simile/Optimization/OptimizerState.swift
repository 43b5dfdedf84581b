/// Everything an optimizer remembers between steps: the number of steps taken and each
/// parameter's state. Codable bit-exactly, so that a run resumed from a checkpoint continues
/// exactly as the uninterrupted run would have.
public struct OptimizerState<S: SimileFloat>: Sendable, Equatable, Codable {
    /// Completed `Optimizer.step` calls (the counter a per-step schedule reads).
    public var steps: Int
    /// Per-parameter state, by parameter name.
    public var parameters: [String: ParameterState<S>]

    public init(steps: Int = 0, parameters: [String: ParameterState<S>] = [:]) {
        self.steps = steps
        self.parameters = parameters
    }
}
