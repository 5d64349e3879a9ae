#ifndef BATCHAUG_COPENBLAS_SHIM_H
#define BATCHAUG_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface plus its configuration queries
// (openblas_get_config, openblas_get_num_threads, openblas_set_num_threads, openblas_get_corename).
#include <cblas.h>
#endif
