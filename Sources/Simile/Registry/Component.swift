/// A registrable component: a descriptor that documents it, and construction from checked arguments.
///
/// Every loss, distance and reducer (and, later, miner, sampler and regularizer) is one of these.
/// Construction always goes through `Arguments`, so a component built from Swift, from the
/// command line, from a pipeline file or from a C plugin is validated the same way.
public protocol Component: Sendable {
    static var descriptor: ComponentDescriptor { get }
    init(_ arguments: Arguments) throws
}
