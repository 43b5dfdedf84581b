import Foundation
import RealModule

/// `synthetic-ecg`: a built-in cohort of patients with repeated 12-lead ECG exams, for trying
/// Simile without real data. The task is to recognise a patient from a new exam.
///
/// Each exam has 13 features (heart rate, RR, PR, QRS, QT, Bazett QTc, P/QRS/T axes, P/R/S/T
/// amplitudes) and metadata: the exam date, sex, a QT range (`qt_bucket`), the state (rest or
/// exercise) and a quality flag (`InRange`). The generative model (docs/data.md gives every value):
///
/// - a baseline per patient, sex-dependent where physiology is (heart rate, QRS, QTc, R amplitude);
/// - per-patient linear drift over the years between exams;
/// - day-to-day physiological variation, and measurement noise (three times larger in the
///   "poor quality" minority, whose `InRange` flag is false);
/// - exercise exams: heart rate up 35–80 %, QT shortened (QT follows the patient's Fridericia-
///   corrected QT, so Bazett's QTc rises with heart rate as it does in real exercise ECGs), PR
///   shorter, QRS axis and amplitudes shifted;
/// - electrode placement: one gain per exam on all amplitudes.
///
/// It is tuned so that leave-one-out P@1 with z-scored raw features and Euclidean kNN is about
/// 0.45 for the default cohort (a test pins 0.3–0.6): there is room for a learned metric.
/// Deterministic by seed; patient p's exams depend only on the seed and p, so a larger cohort
/// extends a smaller one.
public struct SyntheticECG: Sendable, Equatable {
    /// The number of patients (classes).
    public let patients: Int
    /// How many exams each patient has (drawn uniformly from this range).
    public let exams: ClosedRange<Int>
    public let seed: UInt64
    /// The probability that an exam is an exercise exam.
    public let exerciseFraction: Double
    /// The probability that an exam is of poor quality (`InRange` false, noise × 3).
    public let poorQualityFraction: Double

    public init(patients: Int = 200, exams: ClosedRange<Int> = 4...8, seed: UInt64 = 1,
                exerciseFraction: Double = 0.3, poorQualityFraction: Double = 0.1) throws {
        guard patients >= 1, patients <= 1_000_000 else {
            throw SimileError.parameterOutOfRange(component: "synthetic-ecg", parameter: "patients",
                                                  value: String(patients), range: "1 ≤ x ≤ 1000000")
        }
        guard exams.lowerBound >= 1, exams.upperBound <= 1000 else {
            throw SimileError.parameterOutOfRange(component: "synthetic-ecg", parameter: "exams",
                                                  value: "\(exams.lowerBound)...\(exams.upperBound)",
                                                  range: "1 ≤ min ≤ max ≤ 1000")
        }
        for (name, value) in [("exercise-fraction", exerciseFraction), ("poor-quality-fraction", poorQualityFraction)]
        where !(value >= 0 && value <= 1) {
            throw SimileError.parameterOutOfRange(component: "synthetic-ecg", parameter: name,
                                                  value: ParameterValue.format(value), range: "0 ≤ x ≤ 1")
        }
        self.patients = patients
        self.exams = exams
        self.seed = seed
        self.exerciseFraction = exerciseFraction
        self.poorQualityFraction = poorQualityFraction
    }

    /// One feature column: name, unit, decimals written, and the physiologically plausible range
    /// every value lies in.
    public struct Feature: Sendable, Equatable {
        public let name: String
        public let unit: String
        public let decimals: Int
        public let plausible: ClosedRange<Double>
    }

    /// The 13 features, in column order.
    public static let features: [Feature] = [
        Feature(name: "heart_rate", unit: "bpm", decimals: 1, plausible: 40...190),
        Feature(name: "rr_interval", unit: "ms", decimals: 1, plausible: 315...1500),
        Feature(name: "pr_interval", unit: "ms", decimals: 0, plausible: 80...300),
        Feature(name: "qrs_duration", unit: "ms", decimals: 0, plausible: 60...160),
        Feature(name: "qt_interval", unit: "ms", decimals: 0, plausible: 220...560),
        Feature(name: "qtc_bazett", unit: "ms", decimals: 1, plausible: 300...600),
        Feature(name: "p_axis", unit: "degrees", decimals: 0, plausible: -90...180),
        Feature(name: "qrs_axis", unit: "degrees", decimals: 0, plausible: -90...180),
        Feature(name: "t_axis", unit: "degrees", decimals: 0, plausible: -90...180),
        Feature(name: "p_amplitude", unit: "mV", decimals: 3, plausible: 0.02...0.5),
        Feature(name: "r_amplitude", unit: "mV", decimals: 3, plausible: 0.1...3.5),
        Feature(name: "s_amplitude", unit: "mV", decimals: 3, plausible: 0...2.5),
        Feature(name: "t_amplitude", unit: "mV", decimals: 3, plausible: 0.02...1.2),
    ]

    /// The label column (patient ids `P001`, `P002`, ...).
    public static let labelColumn = "patient_id"
    /// The metadata columns, in column order after the label.
    public static let metadataColumns = ["exam_date", "sex", "qt_bucket", "state", "InRange"]

    /// How to load the CSV this generator writes.
    public static func loadOptions(missingValues: MissingValuePolicy = .reject) -> DatasetLoadOptions {
        DatasetLoadOptions(label: labelColumn, metadata: metadataColumns, recognizeMetadataNames: false,
                           missingValues: missingValues)
    }

    /// The cohort as CSV text: `patient_id, exam_date, sex, qt_bucket, state, InRange`, then the
    /// 13 features; one row per exam, each patient's exams in date order.
    public func csv() -> String {
        let header = [Self.labelColumn] + Self.metadataColumns + Self.features.map(\.name)
        let width = String(patients).count
        var rows: [[String]] = []
        for patient in 0..<patients {
            let id = "P" + String(repeating: "0", count: max(0, max(3, width) - String(patient + 1).count))
                + String(patient + 1)
            for exam in examsOfPatient(patient) {
                var fields = [id, ISODate.text(days: exam.day), exam.female ? "F" : "M", exam.qtBucket,
                              exam.exercise ? "exercise" : "rest", exam.inRange ? "true" : "false"]
                for (value, feature) in zip(exam.values, Self.features) {
                    fields.append(String(format: "%.\(feature.decimals)f", value))
                }
                rows.append(fields)
            }
        }
        return CSVTable.render(header: header, rows: rows)
    }

    /// The cohort as a dataset (the same as loading `csv()`).
    public func dataset() throws -> Dataset {
        try Dataset(csv: csv(), source: "synthetic-ecg", options: Self.loadOptions())
    }

    struct Exam {
        var day: Int
        var female: Bool
        var qtBucket: String
        var exercise: Bool
        var inRange: Bool
        var values: [Double]
    }

    /// The exams of one patient, drawn from a generator of its own (seed, patient).
    func examsOfPatient(_ patient: Int) -> [Exam] {
        var random = SeededGenerator(seed: seed, stream: UInt64(patient) &+ 1)
        func clamp(_ x: Double, _ range: ClosedRange<Double>) -> Double {
            min(max(x, range.lowerBound), range.upperBound)
        }
        // Baseline.
        let female = random.chance(0.5)
        let restingRate = clamp(random.normal(female ? 72 : 68, 9), 48...100)
        let pr0 = clamp(random.normal(158, 20), 110...220)
        let qrs0 = clamp(random.normal(female ? 88 : 96, 9), 70...125)
        let qtcF0 = clamp(random.normal(female ? 418 : 405, 16), 350...480)
        let pAxis0 = clamp(random.normal(50, 18), -30...100)
        let qrsAxis0 = clamp(random.normal(40, 30), -60...110)
        let tAxis0 = clamp(random.normal(38, 18), -40...110)
        let pAmp0 = clamp(random.normal(0.14, 0.04), 0.04...0.3)
        let rAmp0 = clamp(random.normal(female ? 1.0 : 1.25, 0.35), 0.3...2.8)
        let sAmp0 = clamp(random.normal(0.55, 0.22), 0.05...1.6)
        let tAmp0 = clamp(random.normal(0.32, 0.1), 0.05...0.8)
        // Drift per year.
        let drift = (0..<9).map { _ in random.gaussian() }
        // QT range from the baseline Bazett QTc at the resting heart rate.
        let rr0 = 60 / restingRate
        let qtcB0 = qtcF0 * Double.pow(rr0, 1.0 / 3) / rr0.squareRoot()
        let qtBucket = qtcB0 < 400 ? "short" : (qtcB0 > (female ? 450 : 440) ? "long" : "normal")

        let count = exams.lowerBound + random.below(exams.count)
        var day = Double(ISODate.days(year: 2015, month: 1, day: 1)) + random.uniform(0, 5 * 365)
        let first = day
        var out: [Exam] = []
        for index in 0..<count {
            if index > 0 { day += random.uniform(30, 400) }
            let years = (day - first) / 365.25
            let exercise = random.chance(exerciseFraction)
            let poor = random.chance(poorQualityFraction)
            let noise = poor ? 3.0 : 1.0
            // Rhythm.
            let restRate = restingRate + 1.5 * drift[0] * years + random.normal(0, 6)
            var rate = exercise ? restRate * random.uniform(1.35, 1.8) : restRate
            rate = clamp(rate + noise * random.normal(0, 2.25), 40...190)
            rate = Self.rounded(rate, 1)
            let rr = Self.rounded(60_000 / rate, 1)
            // Intervals.
            let pr = pr0 + 3 * drift[1] * years - 0.2 * (rate - restRate) + random.normal(0, 7.5)
                + noise * random.normal(0, 6)
            let qrs = qrs0 + drift[2] * years + random.normal(0, 3) + noise * random.normal(0, 4.5)
            let seconds = rr / 1000
            var qt = (qtcF0 + 3 * drift[3] * years + random.normal(0, 9)) * Double.pow(seconds, 1.0 / 3)
                + noise * random.normal(0, 9)
            let root = seconds.squareRoot()
            qt = Self.rounded(clamp(qt, max(220, 300 * root)...min(560, 600 * root)), 0)
            let qtc = Self.rounded(qt / root, 1)
            // Axes.
            let pAxis = pAxis0 + 3 * drift[4] * years + random.normal(0, 7.5) + noise * random.normal(0, 9)
            let qrsAxis = qrsAxis0 + 3 * drift[5] * years + (exercise ? random.normal(8, 4) : 0) + random.normal(0, 7.5)
                + noise * random.normal(0, 9)
            let tAxis = tAxis0 + 3 * drift[6] * years + random.normal(0, 9) + noise * random.normal(0, 12)
            // Amplitudes, with one electrode gain per exam.
            let gain = random.uniform(0.85, 1.15)
            let pAmp = pAmp0 * gain * (exercise ? 1.15 : 1) * Double.exp(noise * random.normal(0, 0.2))
            let rAmp = rAmp0 * gain * (exercise ? 0.92 : 1) * (1 + 0.05 * drift[7] * years)
                * Double.exp(noise * random.normal(0, 0.1))
            let sAmp = sAmp0 * gain * (1 + 0.05 * drift[8] * years) * Double.exp(noise * random.normal(0, 0.16))
            let tAmp = tAmp0 * gain * (exercise ? random.uniform(0.8, 1.3) : 1) * Double.exp(noise * random.normal(0, 0.18))

            let raw = [rate, rr, pr, qrs, qt, qtc, pAxis, qrsAxis, tAxis, pAmp, rAmp, sAmp, tAmp]
            let values = zip(raw, Self.features).map { value, feature in
                Self.rounded(clamp(value, feature.plausible), feature.decimals)
            }
            out.append(Exam(day: Int(day.rounded(.down)), female: female, qtBucket: qtBucket, exercise: exercise,
                            inRange: !poor, values: values))
        }
        return out
    }

    /// x rounded to `decimals` places; prints and parses back to the same Double.
    static func rounded(_ x: Double, _ decimals: Int) -> Double {
        let scale = Double.pow(10, Double(decimals))
        return (x * scale).rounded() / scale + 0  // + 0 turns −0 into 0
    }
}
