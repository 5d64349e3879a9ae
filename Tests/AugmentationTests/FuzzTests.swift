import Augmentation
import Testing
import TestSupport

/// Mutated transform lists: an error or transforms, never a crash.
@Suite("augmentation lists: fuzzed")
struct TransformFuzzTests {
    @Test("transform lists", .timeLimit(.minutes(1)))
    func transforms() {
        let valid = ["crop,flip,cutout", " cutout=2x8, flip ,crop=2", "rrc", "none", "crop=4,flip"].map { Array($0.utf8) }
        let tried = fuzz("transforms", valid: valid) { bytes in
            _ = try Transform.parseList(String(decoding: bytes, as: UTF8.self))
        }
        #expect(tried > 100)
    }
}
