/// A set of named parameters that share a learning-rate multiplier and a weight decay, like a
/// PyTorch parameter group.
///
/// A group's learning rate at a step is the (scheduled) base rate times `learningRateMultiplier`:
/// proxies and class centers commonly take 100× the model's rate. A multiplier of 0 freezes the
/// group: its parameters are not updated at all (no weight decay, no optimizer state, and they do
/// not count in gradient clipping's norm) — what a loss's `learningRateMultiplier` of 0 means.
public struct ParameterGroup: Sendable, Equatable, Codable {
    /// A name for reports and for choosing the groups that gradient clipping covers.
    public var name: String
    /// The parameters in this group, in the order they are updated.
    public var parameters: [String]
    /// Multiplies the base learning rate; 0 freezes the group.
    public var learningRateMultiplier: Double
    /// This group's weight decay; nil takes the optimizer's (`weight-decay`).
    public var weightDecay: Double?

    public init(name: String, parameters: [String], learningRateMultiplier: Double = 1, weightDecay: Double? = nil) {
        self.name = name
        self.parameters = parameters
        self.learningRateMultiplier = learningRateMultiplier
        self.weightDecay = weightDecay
    }

    /// Whether the group is frozen (multiplier 0).
    public var isFrozen: Bool { learningRateMultiplier == 0 }
}
