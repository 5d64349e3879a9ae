import Foundation

/// Bounded, seeded fuzzing of a parser: mutations of valid inputs (bit flips, truncation,
/// extension, a slice repeated or moved, a number made huge) fed to `body`, which must return
/// (a valid result) or throw (an error); a crash or a hang is the failure. Runs for `seconds` or
/// `limit` inputs, whichever ends first, and prints how many it tried and the seed — printed also
/// before it starts, so a crash that kills the process leaves the seed to replay it with
/// (`BATCHAUG_FUZZ_SEED=S`). The seed is fixed unless that variable sets it, so that the suite is
/// deterministic (up to how many inputs a machine gets through in the time); set it to explore.
/// Returns the number of inputs tried.
@discardableResult
public func fuzz(_ name: String, valid inputs: [[UInt8]], seconds: Double = 3, limit: Int = 100_000,
                 _ body: ([UInt8]) throws -> Void) -> Int {
    let seed = ProcessInfo.processInfo.environment["BATCHAUG_FUZZ_SEED"].flatMap(UInt64.init)
        ?? 12
    print("fuzz \(name): seed \(seed) (BATCHAUG_FUZZ_SEED=\(seed) replays it)")
    fflush(nil)
    var random = SplitMix(seed: seed)
    let end = Date().addingTimeInterval(seconds)
    var tried = 0
    while tried < limit && (tried % 64 != 0 || Date() < end) {
        var input = inputs[Int(random.next() % UInt64(inputs.count))]
        for _ in 0 ... random.next() % 4 { mutate(&input, &random) }
        _ = try? body(input)
        tried += 1
    }
    print("fuzz \(name): \(tried) inputs tried, seed \(seed)")
    return tried
}

/// One random mutation of `bytes`.
func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix) {
    func position() -> Int { bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count)) }
    switch random.next() % 7 {
    case 0:   // flip a bit
        if !bytes.isEmpty { bytes[position()] ^= 1 << UInt8(random.next() % 8) }
    case 1:   // truncate
        bytes.removeLast(bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1)))
    case 2:   // extend with random bytes
        bytes += (0 ..< random.next() % 64).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    case 3:   // repeat a slice
        let start = position(), length = min(Int(random.next() % 32), bytes.count - start)
        if length > 0 { bytes.insert(contentsOf: bytes[start ..< start + length], at: position()) }
    case 4:   // swap two bytes (fields, characters)
        if !bytes.isEmpty { bytes.swapAt(position(), position()) }
    case 5:   // a huge or negative number where a digit was
        if let digit = bytes.indices.filter({ (48 ... 57).contains(bytes[$0]) }).randomElement(using: &random) {
            let numbers = ["99999999999999999999999", "-1", "1e308", "-0", "9223372036854775807", "4294967296", "nan"]
            bytes.replaceSubrange(digit ... digit, with: Array(numbers[Int(random.next() % UInt64(numbers.count))].utf8))
        }
    default:  // set a byte to an extreme
        if !bytes.isEmpty { bytes[position()] = [0, 0xff, 0x7f, 0x80][Int(random.next() % 4)] }
    }
}

/// SplitMix64: a small, seedable generator (the fuzzing must replay from its seed).
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
