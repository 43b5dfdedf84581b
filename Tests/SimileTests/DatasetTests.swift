import Foundation
import Testing
@testable import Simile

/// CSV loading, column roles, missing values, standardisation and splits.
struct DatasetTests {
    func load(_ text: String, label: String = "id", features: [String]? = nil, metadata: [String] = [],
              missing: MissingValuePolicy = .reject) throws -> Dataset {
        try Dataset(csv: text, source: "test.csv",
                    options: DatasetLoadOptions(label: label, features: features, metadata: metadata, missingValues: missing))
    }

    /// The error message of a throwing call ("" when it does not throw).
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func columnsGetTheirRolesAndTypes() throws {
        let data = try load("""
            id,exam_date,sex,InRange,qt_bucket,activity,hr,qt,site
            a,2020-01-02,F,true,normal,rest,60,400,north
            b,2020-03-01,M,0,long,walk,70.5,380,south
            a,2021-01-02,F,yes,normal,rest,62,410,north
            c,2019-12-31,M,no,short,jog,80,360,east
            """)
        #expect(data.featureNames == ["hr", "qt"])
        #expect(data.metadataNames == ["exam_date", "sex", "InRange", "qt_bucket", "activity", "site"])
        #expect(data.labels == [0, 1, 0, 2] && data.classNames == ["a", "b", "c"])
        #expect(data.metadata["sex"] == .categorical(["F", "M", "F", "M"]))
        #expect(data.metadata["InRange"] == .flags([true, false, true, false]))
        let day = Double(ISODate.days(year: 2020, month: 1, day: 2))
        #expect(data.metadata["exam_date"] == .numeric([day, day + 59, day + 366, day - 2]))
        #expect(data.value(row: 1, feature: 0) == 70.5)
        #expect(data.lines == [2, 3, 4, 5])
        // Explicit roles: features named, metadata named, the rest unused.
        let named = try load("id,a,b,c\nx,1,2,3\ny,4,5,6\n", features: ["c", "a"], metadata: ["b"])
        #expect(named.featureNames == ["c", "a"] && named.metadataNames == ["b"])
        #expect(named.metadata["b"] == .numeric([2, 5]))
        #expect(named.value(row: 1, feature: 0) == 6)
    }

    @Test func quotedFieldsWithCommasQuotesAndLineBreaks() throws {
        let data = try load("""
            id,"note, free text",hr
            "Smith, J.","says ""hi"", twice",60
            "multi
            line",x,70
            plain ,  "spaced"  , 80\r
            """)
        #expect(data.classNames == ["Smith, J.", "multi\nline", "plain"])
        #expect(data.metadata["note, free text"] == .categorical(["says \"hi\", twice", "x", "spaced"]))
        #expect(data.lines == [2, 3, 5])
        #expect(data.value(row: 2, feature: 0) == 80)
        // Writing quotes what needs quoting and reads back the same.
        let again = try load(data.csvText())
        #expect(again.classNames == data.classNames && again.metadata == data.metadata && again.rawFeatures == data.rawFeatures)
    }

    @Test func malformedFilesNameTheLineAndColumn() {
        let cases: [(String, String, String)] = [
            ("", "id", "test.csv is empty"),
            ("id,hr\n", "id", "has a header but no data rows"),
            ("id,hr,hr\na,1,2\n", "id", "line 1, column 3: the column name 'hr' appears twice (columns 2 and 3)"),
            ("id,,hr\na,1,2\n", "id", "line 1, column 2: the column has no name"),
            ("id,hr,qt\na,1,2\nb,3\n", "id", "line 3: 2 fields but the header has 3 columns; column 3 ('qt') onwards is missing"),
            ("id,hr\na,1\nb,3,4\n", "id", "line 3: 3 fields but the header has 2 columns"),
            ("id,hr,qt\na,1,2\nb,3,abc\nc,5,6\n", "id", "line 3, column 3 ('qt'): 'abc' is not a number"),
            ("id,hr\na,1\nb,inf\nc,2\n", "id", "line 3, column 2 ('hr'): 'inf' is not finite"),
            ("id,hr\na,1\nb,\n", "id", "line 3, column 2 ('hr'): the value is missing"),
            ("id,hr\na,1\n,2\n", "id", "line 3, column 1 ('id'): the label is missing"),
            ("id,hr\na,\"1\nb,2\n", "id", "line 2, column 2: the quoted field is never closed"),
            ("id,hr\na,\"1\"x\n", "id", "line 2, column 2: unexpected text after a closing quote"),
            ("patient_id,hr\na,1\n", "patient", "has no label column 'patient'; did you mean 'patient_id'?"),
            ("id,exam_date,hr\na,2020-01-01,1\nb,2020-02-30,2\nc,2020-03-01,3\n", "id",
             "line 3, column 2 ('exam_date'): '2020-02-30' is not a date of the form YYYY-MM-DD"),
            ("id,sex\na,F\n", "id", "has no numeric feature columns"),
        ]
        for (text, label, expected) in cases {
            let error = message { _ = try load(text, label: label) }
            #expect(error.contains(expected), "\(text.debugDescription): got \(error.debugDescription)")
        }
        #expect(message { _ = try load("id,hr\na,1\n", features: ["hrr"]) }.contains("did you mean 'hr'"))
        #expect(message { _ = try load("id,hr,qt\na,1,2\n", features: ["hr"], metadata: ["hr"]) }
            .contains("cannot be both"))
    }

    @Test func missingValuesAreRejectedOrImputedWithTheTrainingMedian() throws {
        let text = """
            id,hr,qt
            a,60,400
            a,,410
            b,70,NA
            b,80,420
            c,1000,300
            """
        #expect(message { _ = try load(text) }.contains("line 3, column 2 ('hr'): the value is missing"))
        let data = try load(text, missing: .imputeMedian)
        #expect(data.missingCount == 2 && data.value(row: 1, feature: 0) == nil)
        // Fitted on rows 0–3: the median of hr over them is 70 (1000 is not a training row).
        let standard = try Standardization(fitting: data, rows: [0, 1, 2, 3])
        #expect(standard.medians == [70, 410])
        let z = try standard.apply(data)
        let hr = [60.0, 70, 70, 80]
        let mean = hr.reduce(0, +) / 4
        let sd = (hr.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
        #expect(standard.means[0] == mean && abs(standard.scales[0] - sd) < 1e-12)
        #expect(abs(z[1, 0] - (70 - mean) / sd) < 1e-12)
        #expect(abs(z[4, 0] - (1000 - mean) / sd) < 1e-12)
        // Fitting with reject on data that has missing values names the cell.
        #expect(message { _ = try Standardization(fitting: data, missingValues: .reject) }.contains("line 3, column 'hr'"))
    }

    @Test func standardisationUsesTrainingRowsOnlyAndRoundTrips() throws {
        let data = try load("id,x,c\na,1,5\na,3,5\nb,5,5\nb,100,7\n")
        let standard = try Standardization(fitting: data, rows: [0, 1, 2])
        #expect(standard.means == [3, 5])
        #expect(abs(standard.scales[0] - (8.0 / 3).squareRoot()) < 1e-12)
        #expect(standard.scales[1] == 1)  // constant over the training rows: centred only
        let z = try standard.apply(data)
        #expect(z[3, 1] == 2 && z[0, 1] == 0)
        #expect(z.elements.allSatisfy { $0.isFinite })
        let decoded = try JSONDecoder().decode(Standardization.self, from: JSONEncoder().encode(standard))
        #expect(decoded == standard)
        // New rows with the columns in another order and an extra column.
        let new = try load("id,c,extra,x\nz,6,0,3\n")
        let applied = try decoded.apply(new)
        #expect(applied[0, 0] == 0 && applied[0, 1] == 1)
        #expect(message { _ = try decoded.apply(try load("id,y\nz,1\n")) }.contains("no feature column 'x'"))
        #expect(try decoded.apply(row: [3, 5]) == [0, 0])
    }

    @Test func splitsAreSeededAndKeepTheirPromise() throws {
        let labels = (0..<100).map { $0 / 5 }  // 20 classes × 5 rows
        let subject = try DataSplit(labels: labels, strategy: .bySubject, testFraction: 0.25, seed: 4)
        #expect(subject == (try DataSplit(labels: labels, strategy: .bySubject, testFraction: 0.25, seed: 4)))
        #expect(subject != (try DataSplit(labels: labels, strategy: .bySubject, testFraction: 0.25, seed: 5)))
        let trainClasses = Set(subject.train.map { labels[$0] }), testClasses = Set(subject.test.map { labels[$0] })
        #expect(trainClasses.isDisjoint(with: testClasses) && testClasses.count == 5)
        #expect((subject.train + subject.test).sorted() == Array(0..<100))

        let exam = try DataSplit(labels: labels, strategy: .byExam, testFraction: 0.2, seed: 4)
        #expect(exam.test.count == 20)
        for c in 0..<20 {
            #expect(exam.test.filter { labels[$0] == c }.count == 1)
        }
        #expect((exam.train + exam.test).sorted() == Array(0..<100))
        // A validation split cut from the training rows keeps full-data indices.
        let validation = try DataSplit(labels: labels, rows: subject.train, strategy: .bySubject, testFraction: 0.2, seed: 1)
        #expect(Set(validation.train + validation.test) == Set(subject.train))
        #expect(throws: SimileError.self) { try DataSplit(labels: [0, 0, 0], strategy: .bySubject) }
        #expect(throws: SimileError.self) { try DataSplit(labels: [0, 1, 2], strategy: .byExam) }
        #expect(throws: SimileError.self) { try DataSplit(labels: labels, testFraction: 1) }
    }

    @Test func isoDatesRoundTrip() {
        for days in [-719_162, -1, 0, 1, 18_000, 19_782, 2_932_896] {
            #expect(ISODate.days(ISODate.text(days: days)) == days)
        }
        #expect(ISODate.days("1970-01-01") == 0 && ISODate.days("2000-03-01") == 11_017)
        #expect(ISODate.days("2024-02-29") != nil && ISODate.days("2023-02-29") == nil)
        #expect(ISODate.days("2024-13-01") == nil && ISODate.days("24-01-01") == nil && ISODate.days("2024-1-01") == nil)
    }

    static let sharedData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")

    @Test func realPBCSeqLoadsWhenPresent() throws {
        let url = Self.sharedData.appendingPathComponent("pbcseq_exams.csv")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let data = try Dataset(contentsOf: url, options: DatasetLoadOptions(label: "patient_id"))
        #expect(data.count == 1945 && data.classCount == 312 && data.featureCount == 12)
        #expect(data.metadataNames == ["exam_day"])
        guard case .numeric = data.metadata["exam_day"] else {
            Issue.record("exam_day should be numeric")
            return
        }
        let z = try Standardization(fitting: data).apply(data)
        let precision = leaveOneOutPrecisionAt1(z, data.labels)
        // The data's README measured 0.30 with z-scored features and Euclidean kNN.
        #expect(abs(precision - 0.30) < 0.02, "P@1 = \(precision)")
        _ = try PKSampler(Registry.builtin.arguments(.sampler, ComponentSpec("pk"))).batches(data.samplerData, epoch: 1)
        _ = try Registry.builtin.sampler("temporal-pk(min-gap-days=180, samples-per-class=2)").batches(data.samplerData, epoch: 1)
    }

    @Test func realGUDBLoadsWhenPresent() throws {
        let url = Self.sharedData.appendingPathComponent("gudb_rr_windows.csv")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let data = try Dataset(contentsOf: url, options: DatasetLoadOptions(label: "subject_id"))
        #expect(data.count == 492 && data.classCount == 25 && data.featureCount == 9)
        #expect(data.metadataNames == ["activity", "window"])
        let z = try Standardization(fitting: data).apply(data)
        let precision = leaveOneOutPrecisionAt1(z, data.labels)
        #expect(abs(precision - 0.21) < 0.02, "P@1 = \(precision)")  // the README's baseline
        let batches = try Registry.builtin.sampler("pk(classes-per-batch=10)")
            .batches(data.samplerData, epoch: 1)
        #expect(!batches.isEmpty)
    }
}
