import Foundation
import Testing
import TestSupport

@Suite("the tests' process runner")
struct SubprocessTests {
    // A launcher killed by the watchdog can leave a child holding its pipes (mpirun's daemons, a host's
    // agent): the output written until then is what explains the failure, and it must reach the report.
    @Test("a child killed by the watchdog still reports what it wrote while a grandchild holds its pipes")
    func killedChildKeepsItsOutput() throws {
        // The grandchild keeps only standard input, output and error, as daemons do: with Foundation's
        // other descriptors (the one that tells it the child ended) the child's end would not be seen
        // until the grandchild's, and its pipes would reach end of file by then anyway.
        let grandchild = "(for fd in $(ls /proc/$BASHPID/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done; exec sleep 20)"
        let outcome = try runProcess("/bin/bash", ["-c", "echo written before; echo to stderr >&2; \(grandchild) & wait"],
                                     timeout: 1)
        #expect(outcome.timedOut, "\(outcome)")
        #expect(outcome.stdout.contains("written before"), "\(outcome)")
        #expect(outcome.stderr.contains("to stderr"), "\(outcome)")
    }
}
