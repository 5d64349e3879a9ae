import CMPI
#if canImport(Glibc)
import Glibc
#endif

/// The MPI library's process-wide state: initialisation, finalisation and queries that need no
/// communicator. Started without `mpirun`, `initialize()` gives a singleton job of one rank.
public enum MPIRuntime {
    /// Initialises MPI and returns the world communicator, whose errors are returned as codes (and
    /// thrown as `MPIError`) instead of aborting the job.
    ///
    /// The thread level asked for is "serialized": the gradient all-reduce runs on a thread of its
    /// own during backward, one thread calling MPI at a time. The level the library provides is
    /// checked (`providesSerializedThreads`); below it, training all-reduces after backward, from
    /// the main thread only ("funneled").
    ///
    /// Before initialising, the `transportDefaults` are put into the environment where the user
    /// has not set them (Open MPI reads `OMPI_MCA_*` variables in `MPI_Init`; `mpirun --mca` sets
    /// the same variables, so an explicit choice always wins).
    public static func initialize() throws -> MPICommunicator {
        if !isInitialized {
            for setting in transportDefaults { setenv("OMPI_MCA_" + setting.name, setting.value, 0) }
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, cmpi_thread_serialized(), &provided), "MPI_Init_thread")
        }
        try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()), "MPI_Comm_set_errhandler")
        return try MPICommunicator(cmpi_comm_world())
    }

    /// Open MPI parameters this program sets unless the user did (see docs/PERFORMANCE.md).
    ///
    /// Single-copy transfers between ranks of one node (CMA, `process_vm_readv`) cost a system
    /// call and page pinning per message, done by the receiver alone; the copy-in/copy-out path
    /// through the shared-memory FIFO splits each copy between sender and receiver and measured
    /// faster on this machine for the ring all-reduce (1.04–3.8× from 1 to 64 MiB) while leaving
    /// `MPI_Allreduce` as fast as before at 1–16 MiB. "vader" is the shared-memory BTL of Open MPI
    /// 4; Open MPI 5 calls it "sm".
    public static let transportDefaults: [(name: String, value: String)] = [
        ("btl_vader_single_copy_mechanism", "none"),
        ("btl_sm_single_copy_mechanism", "none"),
    ]

    /// The value of an Open MPI parameter as seen in the environment (after `initialize()`).
    public static func parameter(_ name: String) -> String? {
        getenv("OMPI_MCA_" + name).map { String(cString: $0) }
    }

    /// Finalises MPI if it was initialised and not yet finalised.
    public static func finalize() {
        if isInitialized && !isFinalized { _ = MPI_Finalize() }
    }

    /// Whether the library lets any thread call MPI, one at a time (`MPI_Query_thread` ≥
    /// `MPI_THREAD_SERIALIZED`).
    public static var providesSerializedThreads: Bool {
        var provided: Int32 = 0
        guard isInitialized, MPI_Query_thread(&provided) == cmpi_success() else { return false }
        return provided >= cmpi_thread_serialized()
    }

    public static var isInitialized: Bool {
        var flag: Int32 = 0
        _ = MPI_Initialized(&flag)
        return flag != 0
    }

    public static var isFinalized: Bool {
        var flag: Int32 = 0
        _ = MPI_Finalized(&flag)
        return flag != 0
    }

    /// The library's own version text (`MPI_Get_library_version`), first line only.
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == cmpi_success() else { return "unknown" }
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(text.split(separator: "\n").first ?? "")
            .split(separator: ",").first.map(String.init) ?? text
    }

    /// The MPI standard version the library implements, e.g. "3.1".
    public static var standardVersion: String {
        var version: Int32 = 0, subversion: Int32 = 0
        _ = MPI_Get_version(&version, &subversion)
        return "\(version).\(subversion)"
    }

    /// This process's host name as MPI reports it (`MPI_Get_processor_name`).
    public static func processorName() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        try check(MPI_Get_processor_name(&buffer, &length), "MPI_Get_processor_name")
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
