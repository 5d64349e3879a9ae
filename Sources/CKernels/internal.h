#ifndef BATCHAUG_INTERNAL_H
#define BATCHAUG_INTERNAL_H
// What the kernels' sources share, written once (not part of the public ckernels.h): integer
// arithmetic, the instruction-set variants and which one runs, addresses in a view, and the
// vector types with their loads, stores and horizontal sum. Everything here is static inline
// (or a macro), so that each source can be compiled on its own (bench/kernel_ab links two revisions' objects).

#include "ckernels.h"
#include <string.h>

// Every function taking or returning vectors is inlined into one compiled for its instruction set.
#pragma clang diagnostic ignored "-Wpsabi"

// ---- Instruction sets -----------------------------------------------------------------------------
// A kernel is compiled for an instruction set through a function target attribute (no build flags),
// in up to three variants: portable, AVX2 + FMA, AVX-512F (16-float vectors, where the CPU has it:
// the matrix products compute every element as the same chain of fused multiply-adds in the same
// order as with 8-float vectors, so the results are bit-identical to the AVX2 variant's).

#define INLINE static inline __attribute__((always_inline))
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx2,fma,avx512f")))

// Defines the three variants of a kernel: DEFINE(suffix, wide, attributes), `wide` 1 for 16-float vectors.
#define FOR_EACH_VARIANT(DEFINE) DEFINE(portable, 0, ) DEFINE(avx2, 0, AVX2) DEFINE(avx512, 1, AVX512)

// Whether the CPU runs AVX-512F.
__attribute__((unused)) static int has_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cached;
}

// Calls NAME_avx2(…) for CK_ISA_AVX2, NAME_portable(…) otherwise.
#define CALL_FOR_ISA(isa, NAME, ...)                                                                    \
    do {                                                                                                \
        if ((isa) == CK_ISA_AVX2) NAME##_avx2(__VA_ARGS__);                                             \
        else NAME##_portable(__VA_ARGS__);                                                              \
    } while (0)

// The same with a third variant: NAME_avx512(…) for CK_ISA_AVX2 on a CPU with AVX-512F.
#define CALL_FOR_ISA_WIDE(isa, NAME, ...)                                                               \
    do {                                                                                                \
        if ((isa) == CK_ISA_AVX2 && has_avx512()) NAME##_avx512(__VA_ARGS__);                           \
        else CALL_FOR_ISA(isa, NAME, __VA_ARGS__);                                                      \
    } while (0)

// ---- Integers and views ---------------------------------------------------------------------------

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }

// x rounded up to a multiple of k.
static inline int round_up(int x, int k) { return (x + k - 1) / k * k; }

// A block size as the blocked kernels take it: rounded down to a multiple of 16 (their products
// take 16 columns at a time: two vectors of 8 or one of 16), from 16 to `most`.
static inline int valid_block(int block, int most) {
    block = block / 16 * 16;
    return block < 16 ? 16 : block > most ? most : block;
}

// Row y of channel c of image n of a view: element (n, c, y, 0).
static inline float *view_row(ck_view v, long n, long c, long y) {
    return v.data + n * v.image + c * v.plane + y * v.row;
}

// Asks the cache for a row of `width` floats (its lines from the first element to the last). For
// passes that walk one channel (or group of channels) across the images of a pass: each image's
// plane is a few kB at an image's distance from the last, a new stream every page, which the
// hardware prefetcher has to learn again each time; asking for the next image's row while this
// one is summed keeps the loads in flight (the measurements: docs/PERFORMANCE.md, section "A new
// host, resnet56 below 2.0×; batch norm's passes across images prefetched"). A pass that reads
// its tensors in the order they lie in runs slower with it, so only those passes call it.
static inline void prefetch_row(const float *row, int width) {
    for (int i = 0; i < width; i += 16) __builtin_prefetch(row + i);
    __builtin_prefetch(row + width - 1);
}

// ---- Vectors (clang vector extensions) ----------------------------------------------------------

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
typedef float v2 __attribute__((vector_size(8)));
typedef int v8i __attribute__((vector_size(32)));   // lane masks of v8 comparisons

INLINE v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }
INLINE v16 load16(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }
INLINE v16 splat16(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// The sum of the 8 lanes of a v8 or __m256 in a fixed order, the same on every instruction set. (A
// macro: a function compiled for AVX2 may not pass a vector by value to one compiled without.)
#define HSUM8(v) ((((v)[0] + (v)[4]) + ((v)[2] + (v)[6])) + (((v)[1] + (v)[5]) + ((v)[3] + (v)[7])))

#endif
