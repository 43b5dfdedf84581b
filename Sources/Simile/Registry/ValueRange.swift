/// The allowed interval of a numeric parameter. Either end may be open, closed or absent.
public struct ValueRange: Sendable, Equatable, CustomStringConvertible {
    public var lower: Double?
    public var lowerInclusive: Bool
    public var upper: Double?
    public var upperInclusive: Bool

    public init(lower: Double?, lowerInclusive: Bool = true, upper: Double?, upperInclusive: Bool = true) {
        self.lower = lower
        self.lowerInclusive = lowerInclusive
        self.upper = upper
        self.upperInclusive = upperInclusive
    }

    /// x ≥ value
    public static func atLeast(_ value: Double) -> ValueRange { ValueRange(lower: value, upper: nil) }
    /// x > value
    public static func greaterThan(_ value: Double) -> ValueRange {
        ValueRange(lower: value, lowerInclusive: false, upper: nil)
    }
    /// low ≤ x ≤ high
    public static func closed(_ low: Double, _ high: Double) -> ValueRange { ValueRange(lower: low, upper: high) }
    /// low < x ≤ high
    public static func leftOpen(_ low: Double, _ high: Double) -> ValueRange {
        ValueRange(lower: low, lowerInclusive: false, upper: high)
    }
    /// low ≤ x < high
    public static func rightOpen(_ low: Double, _ high: Double) -> ValueRange {
        ValueRange(lower: low, upper: high, upperInclusive: false)
    }
    /// low < x < high
    public static func open(_ low: Double, _ high: Double) -> ValueRange {
        ValueRange(lower: low, lowerInclusive: false, upper: high, upperInclusive: false)
    }

    public func contains(_ x: Double) -> Bool {
        guard x.isFinite else { return false }
        if let lower, lowerInclusive ? x < lower : x <= lower { return false }
        if let upper, upperInclusive ? x > upper : x >= upper { return false }
        return true
    }

    public var description: String {
        switch (lower, upper) {
        case (nil, nil): return "finite"
        case let (low?, nil): return (lowerInclusive ? "≥ " : "> ") + ParameterValue.format(low)
        case let (nil, high?): return (upperInclusive ? "≤ " : "< ") + ParameterValue.format(high)
        case let (low?, high?):
            return "in " + (lowerInclusive ? "[" : "(") + ParameterValue.format(low) + ", "
                + ParameterValue.format(high) + (upperInclusive ? "]" : ")")
        }
    }
}
