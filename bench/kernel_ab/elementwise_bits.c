// The AVX-512 variants of elementwise.c against the AVX2 ones, bit for bit: every batch-norm pass
// and elementwise operation on random tensors of the ResNet shapes (views with a zero border, as
// the convolutions leave them), each flag combination. Prints the first difference and exits 1,
// or "same bits" and 0. Compiled and run by the test KernelVariantTests (Tests/CLITests); it
// includes elementwise.c to reach the variants, which are static.
#include "../../Sources/CKernels/elementwise.c"
#include <stdio.h>
#include <stdlib.h>
#include "random.h"

static int same(const char *what, const float *a, const float *b, long n) {
    if (!memcmp(a, b, sizeof(float) * (size_t)n)) return 1;
    for (long i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) {
            printf("%s: element %ld differs: %a (AVX2) vs %a (AVX-512)\n", what, i, a[i], b[i]);
            break;
        }
    return 0;
}

int main(void) {
    if (!has_avx512()) { printf("no AVX-512 on this CPU: nothing to compare\n"); return 0; }
    const int shapes[][2] = {{16, 32}, {32, 16}, {64, 8}, {10, 7}};
    int ok = 1;
    for (int s = 0; s < 4; s++) {
        const int channels = shapes[s][0], size = shapes[s][1], images = 8;
        const long padded = (long)(size + 2) * (size + 2), count = images * channels * padded;
        const ck_view v = {0, channels * padded, padded, size + 2};
        float *x = tensor(count), *res = tensor(count), *g = tensor(count), *y = tensor(count);
        float *outa = tensor(count), *outb = malloc(sizeof(float) * (size_t)count);
        float *ea = tensor(count), *eb = malloc(sizeof(float) * (size_t)count);
        float scale[64], shift[64], mean[64], a[64], b[64], d[64];
        for (int c = 0; c < channels; c++)
            scale[c] = uniform(), shift[c] = 0.3f * uniform(), mean[c] = 0.1f * uniform(), a[c] = uniform(),
            b[c] = uniform(), d[c] = 0.01f * uniform();
        ck_view xv = v, rv = v, gv = v, yv = v, oa = v, ob = v, da = v, db = v;
        xv.data = x + size + 3, rv.data = res + size + 3, gv.data = g + size + 3, yv.data = y + size + 3;
        oa.data = outa + size + 3, ob.data = outb + size + 3, da.data = ea + size + 3, db.data = eb + size + 3;
        char what[128];
        for (int variant = 0; variant < 4; variant++) {
            const ck_view r = variant & 1 ? rv : (ck_view){0};
            memcpy(outb, outa, sizeof(float) * (size_t)count);
            affine_apply_avx2(xv, r, oa, images, channels, size, size, scale, shift, variant >> 1);
            affine_apply_avx512(xv, r, ob, images, channels, size, size, scale, shift, variant >> 1);
            snprintf(what, sizeof what, "affine_apply %dx%dx%d residual %d relu %d", channels, size, size, variant & 1, variant >> 1);
            ok &= same(what, outa, outb, count);
        }
        for (int masked = 0; masked < 3; masked++) {
            const ck_view o = masked == 1 ? yv : (ck_view){0};
            const float *sc = masked == 2 ? scale : NULL, *sh = masked == 2 ? shift : NULL;
            double sa[128] = {0}, sb[128] = {0};
            bn_backward_sums_avx2(gv, o, xv, images, channels, size, size, mean, sc, sh, sa);
            bn_backward_sums_avx512(gv, o, xv, images, channels, size, size, mean, sc, sh, sb);
            if (memcmp(sa, sb, sizeof sa)) { printf("bn_backward_sums %dx%dx%d mask %d differ\n", channels, size, size, masked); ok = 0; }
            for (int flags = 0; flags < 8; flags++) {
                const int acc = flags & 1, residual = flags >> 1 & 1, acc_res = flags >> 2 & 1;
                if (!residual && acc_res) continue;
                memcpy(outb, outa, sizeof(float) * (size_t)count);
                memcpy(eb, ea, sizeof(float) * (size_t)count);
                bn_backward_apply_avx2(gv, o, xv, oa, acc, residual ? da : (ck_view){0}, acc_res, images, channels, size,
                                       size, mean, a, b, d, sc, sh);
                bn_backward_apply_avx512(gv, o, xv, ob, acc, residual ? db : (ck_view){0}, acc_res, images, channels, size,
                                         size, mean, a, b, d, sc, sh);
                snprintf(what, sizeof what, "bn_backward_apply %dx%dx%d mask %d flags %d", channels, size, size, masked, flags);
                ok &= same(what, outa, outb, count) & same(what, ea, eb, count);
            }
        }
        for (int acc = 0; acc < 2; acc++) {
            memcpy(outb, outa, sizeof(float) * (size_t)count);
            relu_backward_avx2(gv, yv, oa, acc, images, channels, size, size);
            relu_backward_avx512(gv, yv, ob, acc, images, channels, size, size);
            ok &= same("relu_backward", outa, outb, count);
            memcpy(outb, outa, sizeof(float) * (size_t)count);
            copy_avx2(gv, oa, acc, images, channels, size, size);
            copy_avx512(gv, ob, acc, images, channels, size, size);
            ok &= same("copy", outa, outb, count);
        }
    }
    printf(ok ? "same bits\n" : "DIFFERENT BITS\n");
    return ok ? 0 : 1;
}
