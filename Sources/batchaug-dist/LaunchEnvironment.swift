import Foundation

/// What the launcher tells a process about its place in the job before MPI is initialised.
/// Only used to decide which rank prints an argument error; everything else asks MPI.
enum LaunchEnvironment {
    static var rank: Int? {
        let environment = ProcessInfo.processInfo.environment
        for name in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = environment[name], let rank = Int(value) { return rank }
        }
        return nil
    }
}

enum BuildInfo {
    static let version = "0.1.0"
}
