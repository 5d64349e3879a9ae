#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `value` with `digits` decimals, rounded half away from zero; never "-0.0".
public func fixed(_ value: Double, _ digits: Int) -> String {
    precondition(digits >= 0 && digits <= 15, "fixed: \(digits) decimals")
    guard value.isFinite else { return "\(value)" }
    var scale: UInt64 = 1
    for _ in 0 ..< digits { scale *= 10 }
    let scaled = (abs(value) * Double(scale)).rounded()
    // Beyond 2^53 a Double holds no fraction anyway; its own text is exact enough.
    guard scaled < 9_007_199_254_740_992 else { return "\(value)" }
    let units = UInt64(scaled)
    var text = (value < 0 && units > 0 ? "-" : "") + "\(units / scale)"
    if digits > 0 { text += "." + zeroPadded(units % scale, width: digits) }
    return text
}

/// A fraction as a percentage with two decimals: 0.1234 → "12.34%".
public func percent(_ fraction: Double) -> String { fixed(fraction * 100, 2) + "%" }

/// `value` with `digits` significant digits, as C's `%.*g` writes it: 0.1 → "0.1", 3.3333e-05 → "3.333e-05".
public func significant(_ value: Double, digits: Int = 4) -> String {
    withVaList([Int32(digits), value]) { arguments in
        var buffer = [CChar](repeating: 0, count: 64)
        _ = vsnprintf(&buffer, buffer.count, "%.*g", arguments)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The decimal digits of `value`, left-padded with zeros to `width`.
func zeroPadded(_ value: UInt64, width: Int) -> String {
    let digits = "\(value)"
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// `value` in scientific notation with one decimal: "3.2e-06" (0 as "0").
public func scientific(_ value: Double) -> String {
    guard value > 0 && value.isFinite else { return value == 0 ? "0" : "\(value)" }
    var exponent = 0
    var mantissa = value
    while mantissa >= 9.95 { mantissa /= 10; exponent += 1 }
    while mantissa < 0.995 { mantissa *= 10; exponent -= 1 }
    return fixed(mantissa, 1) + "e" + (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + "\(abs(exponent))"
}
