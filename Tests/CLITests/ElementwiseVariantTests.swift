import Foundation
import Testing
import TestSupport

/// The batch-norm passes and elementwise kernels run in an AVX-512 variant where the CPU has it; it
/// must give the AVX2 variant's bits (a run's bits may not depend on which of the two a machine has).
/// bench/kernel_ab/elementwise_bits.c calls both on random tensors of the ResNet shapes and every
/// flag combination; it is compiled here with the Swift toolchain's clang, as the package's C is.
@Suite("elementwise kernel variants")
struct ElementwiseVariantTests {
    @Test("the AVX-512 batch-norm and elementwise kernels give the AVX2 ones' bits")
    func sameBits() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let toolchain = try runProcess("/bin/sh", ["-c", "dirname \"$(readlink -f \"$(command -v swift)\")\""], timeout: 10)
        let clang = toolchain.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/clang"
        #expect(FileManager.default.isExecutableFile(atPath: clang), "the toolchain's clang: \(toolchain)")
        let program = scratchDirectory("elementwise-bits")
        defer { try? FileManager.default.removeItem(at: program) }
        let build = try runProcess(clang, ["-O3", "-I", repository.appendingPathComponent("Sources/CKernels/include").path,
                                           repository.appendingPathComponent("bench/kernel_ab/elementwise_bits.c").path,
                                           "-o", program.path], timeout: 120)
        try #require(build.status == 0, "\(build)")
        let run = try runProcess(program.path, [], timeout: 60)
        #expect(run.status == 0 && run.stdout.contains("same bits"), "\(run)")
    }
}
