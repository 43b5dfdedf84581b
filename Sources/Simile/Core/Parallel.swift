import Dispatch

/// Data-parallel loops whose split depends only on the problem size, never on the number of
/// cores, so that results (including floating-point sums merged in chunk order) are the same on
/// every machine.
enum Parallel {
    /// Calls `body` on consecutive ranges covering `0..<count`, concurrently.
    /// - Parameter grain: the smallest number of iterations worth a task of its own.
    static func forEach(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let ranges = chunks(count, grain: grain)
        if ranges.count <= 1 {
            if let only = ranges.first { body(only) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: ranges.count) { body(ranges[$0]) }
    }

    /// Maps each chunk to a partial result, concurrently; the partials come back in chunk order.
    static func map<T: Sendable>(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> T) -> [T] {
        let ranges = chunks(count, grain: grain)
        guard ranges.count > 1 else { return ranges.map(body) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: ranges.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let base = SendablePointer(results.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: ranges.count) { base.pointer[$0] = body(ranges[$0]) }
        return results.map { $0! }
    }

    /// At most 64 chunks, each at least `grain` long.
    static func chunks(_ count: Int, grain: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let pieces = max(1, min(64, count / max(1, grain)))
        let size = (count + pieces - 1) / pieces
        return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    }
}

/// A raw pointer that may cross into a concurrent task. The code that uses it guarantees that
/// tasks write disjoint elements.
struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// A read-only raw pointer that may cross into concurrent tasks.
struct SendableConstPointer<T>: @unchecked Sendable {
    let pointer: UnsafePointer<T>
    init(_ pointer: UnsafePointer<T>) { self.pointer = pointer }
}
