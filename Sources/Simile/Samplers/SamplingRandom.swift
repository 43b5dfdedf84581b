import RealModule

/// Random choices for samplers, splits and generators, written out here (not taken from the
/// standard library's `shuffle` or `randomElement`, whose algorithms may change between Swift
/// versions) so that a seed draws the same batches on every platform and toolchain.
extension SeededGenerator {
    /// A uniform integer in 0..<bound (Lemire's multiply-and-reject, unbiased).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform double in [low, high).
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// A normal sample with the given mean and standard deviation.
    mutating func normal(_ mean: Double, _ deviation: Double) -> Double {
        mean + deviation * gaussian()
    }

    /// A standard normal sample (Box–Muller on this file's own uniforms).
    mutating func gaussian() -> Double {
        let u1 = 1 - unit()  // (0, 1]
        let u2 = unit()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * .pi * u2)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Fisher–Yates shuffle.
    mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { values.swapAt(i, j) }
        }
    }

    /// The values in a random order.
    mutating func shuffled<T>(_ values: [T]) -> [T] {
        var copy = values
        shuffle(&copy)
        return copy
    }

    /// `count` distinct elements in random order (all of them, shuffled, when there are fewer).
    mutating func sample<T>(_ values: [T], count: Int) -> [T] {
        var copy = values
        let take = min(count, copy.count)
        for i in 0..<take {
            let j = i + below(copy.count - i)
            if i != j { copy.swapAt(i, j) }
        }
        return Array(copy[0..<take])
    }
}
