/// One tensor of a safetensors file: a name, an element type, a row-major shape and its bytes in
/// little-endian (memory) order.
///
/// The bytes are an immutable snapshot: making one from the training buffers copies them once, so
/// the tensors can be written while training goes on (or on another thread) without racing the
/// optimizer. Tensors read from a file share that file's buffer rather than copying out of it.
public struct NamedTensor: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Where the tensor was read from, for error messages; nil for tensors made in memory.
    public let source: String?
    let bytes: ArraySlice<UInt8>

    /// The number of elements: the product of the shape (1 for a scalar, whose shape is `[]`).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The size of the data in bytes.
    public var byteCount: Int { bytes.count }

    /// A tensor from raw little-endian bytes; checks that they fit the shape and dtype.
    public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        try self.init(name: name, dtype: dtype, shape: shape, bytes: bytes[...], source: nil)
    }

    /// A tensor holding a copy of `values`, e.g. one layer's slice of the flat parameter buffer.
    public init<T: SafeTensorsElement>(name: String, shape: [Int], copying values: UnsafeBufferPointer<T>) throws {
        let bytes = [UInt8](UnsafeRawBufferPointer(values))
        try self.init(name: name, dtype: T.dtype, shape: shape, bytes: bytes[...], source: nil)
    }

    /// A tensor holding a copy of `values`.
    public init<T: SafeTensorsElement>(name: String, shape: [Int], values: [T]) throws {
        let bytes = values.withUnsafeBytes { [UInt8]($0) }
        try self.init(name: name, dtype: T.dtype, shape: shape, bytes: bytes[...], source: nil)
    }

    init(name: String, dtype: DType, shape: [Int], bytes: ArraySlice<UInt8>, source: String?) throws {
        let invalid = { (reason: String) in
            CheckpointError(path: source ?? "", .invalidTensor(tensor: name, reason: reason))
        }
        if name.isEmpty { throw invalid("the name is empty") }
        if name == SafeTensors.metadataKey { throw invalid("the name is reserved for the file's metadata") }
        if let dimension = shape.first(where: { $0 < 0 }) { throw invalid("negative dimension \(dimension) in shape \(shape)") }
        guard let expected = SafeTensors.byteCount(shape: shape, dtype: dtype) else {
            throw invalid("shape \(shape) is too large")
        }
        if bytes.count != expected {
            throw invalid("\(bytes.count) bytes given, shape \(shape) of \(dtype.rawValue) needs \(expected)")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.source = source
    }

    /// Calls `body` with the raw bytes, without copying them.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// The elements as a new array; the dtype must be `T`'s.
    public func values<T: SafeTensorsElement>(as type: T.Type = T.self) throws -> [T] {
        try checkDType(T.dtype)
        return [T](unsafeUninitializedCapacity: elementCount) { buffer, count in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            count = elementCount
        }
    }

    /// Copies the elements into the caller's buffer (e.g. a layer's slice of the flat parameter
    /// buffer), after checking the dtype and that the buffer holds exactly this many elements.
    public func copy<T: SafeTensorsElement>(into destination: UnsafeMutableBufferPointer<T>) throws {
        try checkDType(T.dtype)
        if destination.count != elementCount {
            throw error(.elementCountMismatch(tensor: name, expected: destination.count, actual: elementCount))
        }
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(destination).copyMemory(from: $0) }
    }

    /// Throws a `shapeMismatch` naming the file unless the shape is `expected`.
    public func checkShape(_ expected: [Int]) throws {
        if shape != expected { throw error(.shapeMismatch(tensor: name, expected: expected, actual: shape)) }
    }

    private func checkDType(_ expected: DType) throws {
        if dtype != expected { throw error(.dtypeMismatch(tensor: name, expected: expected, actual: dtype)) }
    }

    private func error(_ problem: CheckpointError.Problem) -> CheckpointError {
        CheckpointError(path: source ?? "", problem)
    }
}

extension NamedTensor: Equatable {
    /// Same name, dtype, shape and bytes (bit for bit: a NaN equals the same NaN); the source is
    /// not compared.
    public static func == (a: NamedTensor, b: NamedTensor) -> Bool {
        a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.bytes.elementsEqual(b.bytes)
    }
}

extension NamedTensor: CustomStringConvertible {
    public var description: String { "\(name): \(dtype.rawValue)\(shape)" }
}
