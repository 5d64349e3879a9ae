import Foundation
import Testing
import TestSupport

@Suite("the tests' process runner")
struct SubprocessTests {
    // A launcher killed by the watchdog can leave a child holding its pipes (mpirun's daemons, a host's
    // agent): the output written until then is what explains the failure, and it must reach the report.
    @Test("a child killed by the watchdog still reports what it wrote while a grandchild holds its pipes")
    func killedChildKeepsItsOutput() throws {
        let outcome = try runProcess("/bin/bash", ["-c", "echo written before; echo to stderr >&2; sleep 20 & wait"],
                                     timeout: 1)
        #expect(outcome.timedOut, "\(outcome)")
        #expect(outcome.stdout.contains("written before"), "\(outcome)")
        #expect(outcome.stderr.contains("to stderr"), "\(outcome)")
    }
}
