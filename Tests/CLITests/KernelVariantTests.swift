import Foundation
import Testing
import TestSupport

/// The batch-norm passes, the elementwise kernels and the Winograd convolutions run in an AVX-512
/// variant where the CPU has it; it must give the AVX2 variant's bits (a run's bits may not depend
/// on which of the two a machine has). bench/kernel_ab/elementwise_bits.c and winograd_bits.c call
/// both variants on random tensors of the ResNet shapes (and, for Winograd, of odd sizes) with
/// every flag combination; they are compiled here with the Swift toolchain's clang, as the
/// package's C is.
@Suite("kernel variants")
struct KernelVariantTests {
    @Test("the AVX-512 kernels give the AVX2 ones' bits", arguments: ["elementwise_bits", "winograd_bits"])
    func sameBits(program name: String) throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let toolchain = try runProcess("/bin/sh", ["-c", "dirname \"$(readlink -f \"$(command -v swift)\")\""], timeout: 10)
        let clang = toolchain.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/clang"
        #expect(FileManager.default.isExecutableFile(atPath: clang), "the toolchain's clang: \(toolchain)")
        let program = scratchDirectory(name)
        defer { try? FileManager.default.removeItem(at: program) }
        // conv.c holds ck_best_isa, which winograd.c's public entry points call.
        let sources = ["bench/kernel_ab/\(name).c", "Sources/CKernels/conv.c"].map { repository.appendingPathComponent($0).path }
        let build = try runProcess(clang, ["-O3", "-I", repository.appendingPathComponent("Sources/CKernels/include").path]
                                       + sources + ["-o", program.path], timeout: 120)
        try #require(build.status == 0, "\(build)")
        let run = try runProcess(program.path, [], timeout: 60)
        #expect(run.status == 0 && run.stdout.contains("same bits"), "\(run)")
    }
}
