/// Where two Float arrays differ bit for bit: nil when they are identical, otherwise a short
/// description (the number of differing elements and the first of them). Use it as
/// `#expect(bitDifference(a, b) == nil)` for large arrays such as a model's parameters: a failing
/// `#expect(a.map(\.bitPattern) == b.map(\.bitPattern))` makes the testing library compute the
/// difference of the two collections, which takes hours at a million elements.
public func bitDifference(_ a: [Float], _ b: [Float]) -> String? {
    guard a.count == b.count else { return "\(a.count) elements vs \(b.count)" }
    var first: Int? = nil
    var differing = 0
    for i in a.indices where a[i].bitPattern != b[i].bitPattern {
        if first == nil { first = i }
        differing += 1
    }
    guard let first else { return nil }
    return "\(differing) of \(a.count) elements differ, the first at \(first): \(a[first]) vs \(b[first])"
}
