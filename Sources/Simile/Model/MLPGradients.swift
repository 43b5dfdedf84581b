/// What `MLP.backward` returns.
public struct MLPGradients<S: SimileFloat>: Sendable {
    /// dL/d(parameter) for every parameter of the model, by name.
    public var parameters: [String: Matrix<S>]
    /// dL/d(input), batch × inputSize, when it was asked for.
    public var input: Matrix<S>?

    public init(parameters: [String: Matrix<S>], input: Matrix<S>?) {
        self.parameters = parameters
        self.input = input
    }
}
