#ifndef BATCHAUG_CZLIB_SHIM_H
#define BATCHAUG_CZLIB_SHIM_H
// zlib, for reading gzip-compressed IDX files (MNIST, Fashion-MNIST) directly.
#include <zlib.h>
#endif
