// Batch-norm passes and elementwise operations over strided views (see elementwise_body.h).
#include "ckernels.h"

#define KERNEL __attribute__((target("avx2,fma")))
#define NAME(x) x##_avx2
#include "elementwise_body.h"
#undef KERNEL
#undef NAME

#define KERNEL
#define NAME(x) x##_portable
#include "elementwise_body.h"
#undef KERNEL
#undef NAME

void ck_channel_sums(int isa, ck_view x, int images, int channels, int height, int width, const double *center,
                     double *sums) {
    if (isa == CK_ISA_AVX2) channel_sums_avx2(x, images, channels, height, width, center, sums);
    else channel_sums_portable(x, images, channels, height, width, center, sums);
}

void ck_affine_apply(int isa, ck_view x, ck_view residual, ck_view y, int images, int channels, int height, int width,
                     const float *scale, const float *shift, int relu) {
    if (isa == CK_ISA_AVX2) affine_apply_avx2(x, residual, y, images, channels, height, width, scale, shift, relu);
    else affine_apply_portable(x, residual, y, images, channels, height, width, scale, shift, relu);
}

void ck_bn_backward_sums(int isa, ck_view dy, ck_view y, ck_view x, int images, int channels, int height, int width,
                         const float *mean, const float *scale, const float *shift, double *sums) {
    if (isa == CK_ISA_AVX2) bn_backward_sums_avx2(dy, y, x, images, channels, height, width, mean, scale, shift, sums);
    else bn_backward_sums_portable(dy, y, x, images, channels, height, width, mean, scale, shift, sums);
}

void ck_bn_backward_apply(int isa, ck_view dy, ck_view y, ck_view x, ck_view dx, int accumulate_dx, ck_view dres,
                          int accumulate_res, int images, int channels, int height, int width, const float *mean,
                          const float *a, const float *b, const float *d, const float *scale, const float *shift) {
    if (isa == CK_ISA_AVX2)
        bn_backward_apply_avx2(dy, y, x, dx, accumulate_dx, dres, accumulate_res, images, channels, height, width,
                               mean, a, b, d, scale, shift);
    else
        bn_backward_apply_portable(dy, y, x, dx, accumulate_dx, dres, accumulate_res, images, channels, height, width,
                                   mean, a, b, d, scale, shift);
}

void ck_relu_backward(int isa, ck_view dy, ck_view y, ck_view dx, int accumulate, int images, int channels, int height,
                      int width) {
    if (isa == CK_ISA_AVX2) relu_backward_avx2(dy, y, dx, accumulate, images, channels, height, width);
    else relu_backward_portable(dy, y, dx, accumulate, images, channels, height, width);
}

void ck_copy(int isa, ck_view src, ck_view dst, int accumulate, int images, int channels, int height, int width) {
    if (isa == CK_ISA_AVX2) copy_avx2(src, dst, accumulate, images, channels, height, width);
    else copy_portable(src, dst, accumulate, images, channels, height, width);
}
