import Checkpoints
import Foundation
import TestSupport
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    @Test("the FIPS 180-4 example digests")
    func knownDigests() {
        #expect(SHA256.hexDigest(of: Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hexDigest(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("fed in pieces of every size around a block, the digest is the same")
    func incremental() {
        let data = (0 ..< 300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = SHA256.hexDigest(of: data)
        for piece in [1, 3, 55, 56, 63, 64, 65, 128, 299] {
            var hasher = SHA256()
            for start in stride(from: 0, to: data.count, by: piece) {
                data[start ..< min(start + piece, data.count)].withUnsafeBytes { hasher.update($0) }
            }
            #expect(hasher.finalizeHex() == whole, "pieces of \(piece)")
        }
    }

    @Test("matches coreutils sha256sum on a file", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum")))
    func matchesCoreutils() throws {
        let directory = try TemporaryDirectory()
        let data = (0 ..< 100_003).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        try directory.write("blob", data)
        let outcome = try runProcess("/usr/bin/sha256sum", [directory.url("blob").path], timeout: 30)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.stdout.split(separator: " ").first.map(String.init) == SHA256.hexDigest(of: data))
    }
}
