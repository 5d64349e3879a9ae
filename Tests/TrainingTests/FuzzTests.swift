import Foundation
import JSON
import Testing
import TestSupport
import Training

/// Mutated --config files, through the JSON reader, the options and the checks every rank makes
/// before a run: an error naming an option, or a configuration, never a crash.
@Suite("--config JSON: fuzzed")
struct ConfigurationFuzzTests {
    @Test("configuration files", .timeLimit(.minutes(1)))
    func configurations() {
        let valid = [#"{"model": "mlp", "batch-size": 64, "copies": 4, "lr": 0.1, "regime": "0:lr=0.1;3:copies=2", "epochs": 5}"#,
                     #"{"seed": 18446744073709551615, "warmup-epochs": 1.5, "ghost-batch-size": 32, "augment": "crop,flip"}"#,
                     #"{"configuration": {"epochs": 3, "train-samples": 1000, "simulate-ranks": 2, "lr-scaling": "sqrt"}}"#]
            .map { Array($0.utf8) }
        let tried = fuzz("--config", valid: valid) { bytes in
            guard var options = try JSONValue(parsing: Data(bytes)).objectValue else { return }
            if case let .object(inner)? = options["configuration"] { options = inner }
            let configuration = try TrainingConfiguration(options: options)
            try configuration.validate(ranks: 2)
        }
        #expect(tried > 100)
    }
}
