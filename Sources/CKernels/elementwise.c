// Batch-norm passes and elementwise operations over strided views (see elementwise_body.h).
#include "internal.h"

#define KERNEL AVX2
#define NAME(x) x##_avx2
#define VECTORS 1
#include "elementwise_body.h"
#undef KERNEL
#undef NAME
#undef VECTORS

// The same loops with AVX-512F (16-float vectors where clang vectorises a loop): elementwise
// results are the same expression per element (bit-identical to the AVX2 variant's), and the
// backward sums keep their explicit eight lanes. Not channel_sums: its reassociated reduction
// would add in another order with wider vectors.
#define KERNEL AVX512
#define NAME(x) x##_avx512
#define VECTORS 1
#define WITHOUT_CHANNEL_SUMS
#include "elementwise_body.h"
#undef KERNEL
#undef NAME
#undef VECTORS
#undef WITHOUT_CHANNEL_SUMS

#define KERNEL
#define NAME(x) x##_portable
#define VECTORS 0
#include "elementwise_body.h"
#undef KERNEL
#undef NAME
#undef VECTORS

void ck_channel_sums(int isa, ck_view x, int images, int channels, int height, int width, const double *center,
                     double *sums) {
    CALL_FOR_ISA(isa, channel_sums, x, images, channels, height, width, center, sums);
}

void ck_affine_apply(int isa, ck_view x, ck_view residual, ck_view y, int images, int channels, int height, int width,
                     const float *scale, const float *shift, int relu) {
    CALL_FOR_ISA_WIDE(isa, affine_apply, x, residual, y, images, channels, height, width, scale, shift, relu);
}

void ck_bn_backward_sums(int isa, ck_view dy, ck_view y, ck_view x, int images, int channels, int height, int width,
                         const float *mean, const float *scale, const float *shift, double *sums) {
    CALL_FOR_ISA_WIDE(isa, bn_backward_sums, dy, y, x, images, channels, height, width, mean, scale, shift, sums);
}

void ck_bn_backward_apply(int isa, ck_view dy, ck_view y, ck_view x, ck_view dx, int accumulate_dx, ck_view dres,
                          int accumulate_res, int images, int channels, int height, int width, const float *mean,
                          const float *a, const float *b, const float *d, const float *scale, const float *shift) {
    CALL_FOR_ISA_WIDE(isa, bn_backward_apply, dy, y, x, dx, accumulate_dx, dres, accumulate_res, images, channels, height,
                 width, mean, a, b, d, scale, shift);
}

void ck_relu_backward(int isa, ck_view dy, ck_view y, ck_view dx, int accumulate, int images, int channels, int height,
                      int width) {
    CALL_FOR_ISA_WIDE(isa, relu_backward, dy, y, dx, accumulate, images, channels, height, width);
}

void ck_copy(int isa, ck_view src, ck_view dst, int accumulate, int images, int channels, int height, int width) {
    CALL_FOR_ISA_WIDE(isa, copy, src, dst, accumulate, images, channels, height, width);
}
