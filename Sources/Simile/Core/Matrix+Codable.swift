import Foundation

/// A matrix in a checkpoint: its shape, its scalar type and its elements as the base64 of their
/// little-endian IEEE-754 bits, so that saving and loading gives back every bit (NaN payloads,
/// −0 and subnormals included) whatever encoder is used, and 100,000 parameters take 0.5 MB
/// rather than a page of decimal text.
///
///     {"rows": 2, "columns": 3, "scalar": "float32", "data": "AACAPwAAAEA..."}
///
/// Decoding also accepts `"elements": [1, 2.5, ...]` (row-major numbers) in place of `data`, for
/// hand-written files. Float32 data may be read into a `Matrix<Double>` (exactly); float64 data
/// is not silently rounded into a `Matrix<Float>`.
extension Matrix: Codable {
    private enum CodingKeys: String, CodingKey {
        case rows, columns, scalar, data, elements
    }

    /// "float32" or "float64".
    static var scalarName: String { MemoryLayout<Scalar>.size == 4 ? "float32" : "float64" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rows, forKey: .rows)
        try container.encode(columns, forKey: .columns)
        try container.encode(Self.scalarName, forKey: .scalar)
        try container.encode(Self.littleEndianBytes(elements).base64EncodedString(), forKey: .data)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try container.decode(Int.self, forKey: .rows)
        let columns = try container.decode(Int.self, forKey: .columns)
        guard rows >= 0, columns >= 0, rows.multipliedReportingOverflow(by: columns).overflow == false else {
            throw DecodingError.dataCorruptedError(forKey: .rows, in: container,
                                                   debugDescription: "invalid matrix shape \(rows)×\(columns)")
        }
        let count = rows * columns
        let elements: [Scalar]
        if let text = try container.decodeIfPresent(String.self, forKey: .data) {
            let scalar = try container.decodeIfPresent(String.self, forKey: .scalar) ?? Self.scalarName
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(forKey: .data, in: container,
                                                       debugDescription: "matrix data is not valid base64")
            }
            switch scalar {
            case Self.scalarName:
                elements = try Self.elements(from: data, count: count, as: Scalar.self, container: container)
            case "float32":
                elements = try Self.elements(from: data, count: count, as: Float.self, container: container)
                    .map { Scalar($0) }
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .scalar, in: container,
                    debugDescription: "matrix holds \(scalar) values, which a Matrix<\(Scalar.self)> cannot hold exactly; decode it as Matrix<Double>")
            }
        } else {
            let numbers = try container.decode([Double].self, forKey: .elements)
            guard numbers.count == count else {
                throw DecodingError.dataCorruptedError(
                    forKey: .elements, in: container,
                    debugDescription: "\(numbers.count) elements do not make a \(rows)×\(columns) matrix")
            }
            elements = numbers.map { Scalar($0) }
        }
        self.init(rows: rows, columns: columns, elements: elements)
    }

    private static func littleEndianBytes(_ values: [Scalar]) -> Data {
        var data = values.withUnsafeBytes { Data($0) }
        #if _endian(big)
        let size = MemoryLayout<Scalar>.size
        data.withUnsafeMutableBytes { bytes in
            for start in stride(from: 0, to: bytes.count, by: size) { bytes[start..<(start + size)].reverse() }
        }
        #endif
        return data
    }

    private static func elements<T: SimileFloat>(from data: Data, count: Int, as type: T.Type,
                                                 container: KeyedDecodingContainer<CodingKeys>) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard data.count == count * size else {
            throw DecodingError.dataCorruptedError(
                forKey: .data, in: container,
                debugDescription: "matrix data has \(data.count) bytes; \(count) \(T.self) values need \(count * size)")
        }
        var bytes = data
        #if _endian(big)
        bytes.withUnsafeMutableBytes { raw in
            for start in stride(from: 0, to: raw.count, by: size) { raw[start..<(start + size)].reverse() }
        }
        #endif
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            }
            initialized = count
        }
    }
}
