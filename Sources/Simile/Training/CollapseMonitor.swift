import Foundation

/// Watches each epoch's validation embeddings for collapse, and decides when hard mining must pause.
///
/// Collapse shows first as shrinking variance of the embedding dimensions (all points drifting to
/// one place), then as an intra/inter distance ratio near 1 and falling rank-1 accuracy. The
/// policy: when the mean per-dimension variance falls below `varianceFloor`, hard mining is
/// suspended, and the trainer uses the previous phase's miners instead; it resumes when the
/// variance is back above twice the floor (the hysteresis keeps it from flapping every epoch).
public struct CollapseMonitor: Codable, Sendable, Equatable {
    /// One epoch's signals.
    public struct Reading: Codable, Sendable, Equatable {
        public var epoch: Int
        /// Mean over dimensions of the variance of each embedding dimension.
        public var variance: Double
        /// Mean same-label distance over mean different-label distance (L2); near 1 means collapse.
        public var intraInterRatio: Double
        /// Precision at 1 on the validation set.
        public var rank1: Double

        public init(epoch: Int, variance: Double, intraInterRatio: Double, rank1: Double) {
            self.epoch = epoch
            self.variance = variance
            self.intraInterRatio = intraInterRatio
            self.rank1 = rank1
        }
    }

    public let varianceFloor: Double?
    public private(set) var suspended = false
    public private(set) var readings: [Reading] = []
    /// What the policy did, one line per switch, for the run's log.
    public private(set) var events: [String] = []

    public init(varianceFloor: Double?) {
        self.varianceFloor = varianceFloor
    }

    /// Records an epoch's reading; returns a line to log when the policy switches.
    @discardableResult
    public mutating func observe(_ reading: Reading) -> String? {
        readings.append(reading)
        guard let floor = varianceFloor else { return nil }
        var event: String?
        if !suspended && reading.variance < floor {
            suspended = true
            event = String(format: "epoch %d: embedding variance %.3g < floor %.3g: hard mining suspended, falling back to the previous phase's miners",
                           reading.epoch, reading.variance, floor)
        } else if suspended && reading.variance >= 2 * floor {
            suspended = false
            event = String(format: "epoch %d: embedding variance %.3g ≥ 2 × floor: hard mining resumes",
                           reading.epoch, reading.variance)
        }
        if let event { events.append(event) }
        return event
    }
}

/// Skips non-finite training steps and stops a run after too many in a row.
public struct NaNGuard: Codable, Sendable, Equatable {
    public let limit: Int
    public private(set) var consecutive = 0
    public private(set) var skipped = 0

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Records a step; throws after `limit` bad steps in a row. Returns whether the step may be applied.
    public mutating func admit(finite: Bool, epoch: Int, batch: Int, what: String) throws -> Bool {
        if finite {
            consecutive = 0
            return true
        }
        consecutive += 1
        skipped += 1
        if consecutive >= limit {
            throw SimileError.invalidInput(
                "training stopped: \(consecutive) steps in a row gave a non-finite \(what) (last at epoch \(epoch), batch \(batch)); lower the learning rate, clip gradients (clip-norm), or use a gentler miner")
        }
        return false
    }
}
