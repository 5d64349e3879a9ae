import Synchronization

/// What the data pipeline has cost so far: bytes read from disk, and seconds spent decoding
/// (parsing, decompressing, generating) and augmenting. The loaders and the batch augmenter add
/// to it; the caller reads it (for `bench augment`, and the training loop's timings).
///
/// Thread-safe: each update is one short lock (at most once per file read or per batch), so one
/// object may be shared by several augmenters working on different threads.
public final class IOCounters: Sendable {
    private struct State {
        var bytesRead = 0
        var decodeSeconds = 0.0
        var augmentSeconds = 0.0
    }
    private let state = Mutex(State())

    public init() {}

    /// Bytes read from dataset files (compressed bytes for gzip files).
    public var bytesRead: Int { state.withLock { $0.bytesRead } }
    /// Seconds spent turning file bytes into records (including reading them) or generating them.
    public var decodeSeconds: Double { state.withLock { $0.decodeSeconds } }
    /// Seconds spent writing augmented, normalised batches.
    public var augmentSeconds: Double { state.withLock { $0.augmentSeconds } }

    public func addBytesRead(_ bytes: Int) { state.withLock { $0.bytesRead += bytes } }
    public func addDecodeSeconds(_ seconds: Double) { state.withLock { $0.decodeSeconds += seconds } }
    public func addAugmentSeconds(_ seconds: Double) { state.withLock { $0.augmentSeconds += seconds } }

    /// Sets every counter back to zero.
    public func reset() { state.withLock { $0 = State() } }
}
