/// Whether the buckets of the gradient are all-reduced during backward, on a thread of their own.
///
/// Overlap changes when the buckets are summed, never how: the bits are those of the same buckets
/// all-reduced one after the other after backward. It pays where the all-reduce is a noticeable
/// part of the step (a slow link) and buys nothing where it is not (ranks of one host over shared
/// memory), while its thread shares the cores with backward (docs/SCALING.md).
public enum Overlap: String, Sendable, CaseIterable {
    /// Decided after the step's first all-reduces (`GradientReduction.overlapPays`).
    case auto
    /// Always, where the job allows a second thread to call the communicator.
    case on
    /// Never: the buckets are all-reduced after backward.
    case off

    public static var names: [String] { allCases.map(\.rawValue) }
}
