/// Gradient clipping by global L2 norm, as `torch.nn.utils.clip_grad_norm_` (norm type 2):
///
///     N = √(Σ over the covered gradients of Σ g²);   c = min(1, max-norm / (N + 1e-6));   g ← c·g
///
/// over the gradients of the chosen groups (all non-frozen groups when `groups` is empty).
/// Text form: `clip-grad-norm(max-norm=1, groups=[model])`.
public struct GradientClipping: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The largest global norm let through.
    public var maxNorm: Double
    /// The groups whose gradients are measured and scaled; empty means every non-frozen group.
    public var groups: [String]

    public init(maxNorm: Double, groups: [String] = []) throws {
        self.maxNorm = maxNorm
        self.groups = groups
        guard maxNorm.isFinite, maxNorm > 0 else {
            throw SimileError.parameterOutOfRange(component: "clip-grad-norm", parameter: "max-norm",
                                                  value: "\(maxNorm)", range: "> 0")
        }
    }

    public init(_ text: String) throws {
        let arguments = try Self.schema.resolve(ComponentSpec(text))
        try self.init(maxNorm: arguments.double("max-norm"), groups: arguments.strings("groups"))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(maxNorm: c.decode(Double.self, forKey: .maxNorm), groups: c.decode([String].self, forKey: .groups))
    }

    public var description: String {
        "clip-grad-norm(max-norm=\(ParameterValue.format(maxNorm))"
            + (groups.isEmpty ? "" : ", groups=[\(groups.joined(separator: ", "))]") + ")"
    }

    /// PyTorch's guard against division by zero in the coefficient.
    public static let epsilon = 1e-6

    public static let schema = SettingsSchema(
        name: "clip-grad-norm",
        summary: "Scale the gradients of the chosen groups so that their global L2 norm is at most max-norm (torch.nn.utils.clip_grad_norm_).",
        parameters: [
            .double("max-norm", nil, range: .greaterThan(0), doc: "the largest global L2 norm of the covered gradients"),
            ParameterSpec("groups", .strings, default: .unset("every non-frozen group"),
                          doc: "names of the parameter groups whose gradients are measured and scaled"),
        ])
}
