#ifndef BATCHAUG_CPNG_SHIM_H
#define BATCHAUG_CPNG_SHIM_H
// libpng's simplified API (png_image): it catches libpng's errors itself, so no setjmp is needed
// here; every PNG colour type, bit depth and interlacing is converted to 8-bit RGBA on read.
#include <png.h>
#endif
