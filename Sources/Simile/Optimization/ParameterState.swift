/// An optimizer's state for one parameter: how many updates it has had and its buffers, under
/// PyTorch's names (`momentum_buffer`; `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`; `square_avg`,
/// `grad_avg`). Codable, bit-exactly (see `Matrix`'s Codable form).
public struct ParameterState<S: SimileFloat>: Sendable, Equatable, Codable {
    /// Updates applied to this parameter (PyTorch's per-parameter `step`; the bias corrections use it).
    public var step: Int
    public var buffers: [String: Matrix<S>]

    public init(step: Int = 0, buffers: [String: Matrix<S>] = [:]) {
        self.step = step
        self.buffers = buffers
    }
}
