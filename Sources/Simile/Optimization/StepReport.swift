/// What one `Optimizer.step` did.
public struct StepReport: Sendable, Equatable {
    /// The base learning rate of the step (before group multipliers).
    public var learningRate: Double
    /// Each group's learning rate (base × multiplier), by group name.
    public var groupLearningRates: [String: Double]
    /// The global L2 norm of the gradients before clipping: over the clipped groups when there is
    /// clipping, else over every updated parameter.
    public var gradientNorm: Double
    /// The factor the clipped gradients were multiplied by (1 when nothing was clipped).
    public var clipCoefficient: Double
    /// How many parameters were updated (frozen ones and ones without a gradient are not).
    public var updatedParameters: Int
}
