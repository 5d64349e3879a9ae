import Formatting
import Foundation

/// What rank 0 prints while training: progress lines every `--log-every` steps, an epoch summary,
/// and a progress bar on standard error when it is a terminal.
struct Console {
    let enabled: Bool
    let terminal: Bool

    init(enabled: Bool) {
        self.enabled = enabled
        terminal = enabled && isatty(2) != 0
    }

    func line(_ text: String) {
        guard enabled else { return }
        if terminal { StandardError.write("\r\u{1B}[K") }
        print(text)
        fflush(nil)
    }

    func progress(epoch: Int, step: Int, steps: Int) {
        guard terminal else { return }
        let width = 30
        let done = steps > 0 ? width * step / steps : width
        let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
        StandardError.write("\r[\(bar)] epoch \(epoch) step \(step)/\(steps)")
    }
}
