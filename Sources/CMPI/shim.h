#ifndef BATCHAUG_CMPI_SHIM_H
#define BATCHAUG_CMPI_SHIM_H
// Open MPI's predefined handles are macros that take the address of a global
// (`MPI_COMM_WORLD` is `((MPI_Comm) &ompi_mpi_comm_world)`), which Swift cannot import.
// Each one is re-exported here as a `static inline` function. The `_Nonnull` return
// types make them arrive in Swift as non-optional `OpaquePointer`s.
#include <mpi.h>

static inline MPI_Comm _Nonnull cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm _Nonnull cmpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm _Nonnull cmpi_comm_null(void) { return MPI_COMM_NULL; }

static inline MPI_Datatype _Nonnull cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype _Nonnull cmpi_char(void) { return MPI_CHAR; }
static inline MPI_Datatype _Nonnull cmpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype _Nonnull cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype _Nonnull cmpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype _Nonnull cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype _Nonnull cmpi_double(void) { return MPI_DOUBLE; }

static inline MPI_Op _Nonnull cmpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op _Nonnull cmpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op _Nonnull cmpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op _Nonnull cmpi_op_land(void) { return MPI_LAND; }

static inline MPI_Errhandler _Nonnull cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info _Nonnull cmpi_info_null(void) { return MPI_INFO_NULL; }

static inline MPI_Request _Nonnull cmpi_request_null(void) { return MPI_REQUEST_NULL; }

static inline void * _Nonnull cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status * _Nullable cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status * _Nullable cmpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }

static inline int cmpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int cmpi_undefined(void) { return MPI_UNDEFINED; }
static inline int cmpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int cmpi_any_tag(void) { return MPI_ANY_TAG; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cmpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }

#endif
