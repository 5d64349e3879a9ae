/// Whether two rates agree to a few units in the last place: the hand-computed values in these
/// tests are written with 17 significant digits or as the same arithmetic.
func isClose(_ actual: Double, _ expected: Double, relativeTolerance: Double = 1e-13) -> Bool {
    abs(actual - expected) <= relativeTolerance * max(1, abs(expected))
}
