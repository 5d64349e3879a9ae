// The AVX-512 variants of winograd.c against the AVX2 ones, bit for bit: forward (with and
// without accumulation and statistics; the input gradient runs the same kernel) and weight
// gradient, F(2×2) and F(4×4), on random tensors of the ResNets' shapes and of odd sizes (groups
// of tiles along one row, two rows of four, four rows of two, and partial tiles). Prints each check
// that differs and exits 1, or "same bits" and 0. Compiled and run by the test KernelVariantTests
// (Tests/CLITests); it includes winograd.c to reach the variants, which are static.
#include "../../Sources/CKernels/winograd.c"
#include <stdio.h>
#include <stdlib.h>
#include "random.h"

static int same(const char *what, const void *a, const void *b, long bytes) {
    if (!memcmp(a, b, (size_t)bytes)) return 1;
    printf("%s: AVX2 and AVX-512 differ\n", what);
    return 0;
}

int main(void) {
    if (!has_avx512()) { printf("no AVX-512 on this CPU: nothing to compare\n"); return 0; }
    // cin, cout, height, width, images
    // (96 input channels: the weight gradient's 64-lane and 32-lane micro-tiles in one layer.)
    const int shapes[][5] = {{16, 16, 32, 32, 4}, {32, 32, 16, 16, 4}, {64, 64, 8, 8, 4}, {9, 17, 9, 11, 3},
                             {5, 6, 6, 35, 2}, {6, 5, 10, 16, 3}, {24, 12, 16, 16, 2}, {96, 20, 6, 6, 2}};
    int ok = 1;
    char what[160];
    for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        const int cin = shapes[s][0], cout = shapes[s][1], h = shapes[s][2], w = shapes[s][3], images = shapes[s][4];
        // Input and output gradient with a zero border of 1, as the engine's views.
        const long plane = (long)(h + 2) * (w + 2);
        float *in = tensor(images * cin * plane + 64), *dy = tensor(images * cout * plane + 64);
        const ck_view inv = {in, cin * plane, plane, w + 2}, dyv = {dy + w + 3, cout * plane, plane, w + 2};
        const long outputs = (long)images * cout * h * w;
        float *outa = tensor(outputs), *outb = malloc(sizeof(float) * (size_t)outputs);
        float bias[64];
        for (int c = 0; c < cout; c++) bias[c] = uniform();
        for (int m = 2; m <= 4; m += 2) {
            const long count = ck_winograd_scratch_count(m, cin, cout, 256);
            const long weights = ck_winograd_weights_count(m, cout, cin);
            float *scratch = tensor(count), *u = calloc((size_t)weights, sizeof(float)), *wt = tensor(9L * cout * cin);
            transform_weights_avx2(m, wt, cout, cin, 0, u);
            for (int flags = 0; flags < 4; flags++) {
                const int accumulate = flags & 1, with_bias = flags >> 1;
                double sa[128] = {0}, sb[128] = {0};
                memcpy(outb, outa, sizeof(float) * (size_t)outputs);
                const ck_view oa = {outa, cout * h * w, h * w, w}, ob = {outb, cout * h * w, h * w, w};
                forward_avx2(m, inv, cin, oa, cout, images, h, w, u, with_bias ? bias : NULL, accumulate, sa, scratch, 64);
                forward_avx512(m, inv, cin, ob, cout, images, h, w, u, with_bias ? bias : NULL, accumulate, sb, scratch, 64);
                snprintf(what, sizeof what, "forward F(%d) %d->%d %dx%d accumulate %d bias %d", m, cin, cout, h, w,
                         accumulate, with_bias);
                ok &= same(what, outa, outb, sizeof(float) * outputs) & same(what, sa, sb, sizeof sa);
            }
            float *dwa = calloc(9L * cout * cin, sizeof(float)), *dwb = calloc(9L * cout * cin, sizeof(float));
            for (int block = 32; block <= 128; block *= 4) {
                // What ck_winograd_backward_weights does around the variant, for each of them.
                const int aa = (m + 2) * (m + 2), cin8 = round_up(cin, 8), cout4 = round_up(cout, 4);
                const long dstride = (long)cout4 * block + 16;
                float *du = scratch + (long)aa * ((cin8 + cout4) * block + 32);
                for (int variant = 0; variant < 2; variant++) {
                    memset(du, 0, sizeof(float) * (size_t)aa * cout4 * cin8);
                    for (int e = 0; e < aa; e++)
                        memset(scratch + aa * ((long)cin8 * block + 16) + e * dstride + (long)cout * block, 0,
                               sizeof(float) * (size_t)(cout4 - cout) * block);
                    if (variant) weights_avx512(m, dyv, cout, inv, cin, images, h, w, du, scratch, block);
                    else weights_avx2(m, dyv, cout, inv, cin, images, h, w, du, scratch, block);
                    finish_weights_avx2(m, du, cout, cin, variant ? dwb : dwa);
                }
                snprintf(what, sizeof what, "weight gradient F(%d) %d->%d %dx%d block %d", m, cin, cout, h, w, block);
                ok &= same(what, dwa, dwb, sizeof(float) * 9 * cout * cin);
            }
            free(dwa), free(dwb), free(scratch), free(u), free(wt);
        }
        free(in), free(dy), free(outa), free(outb);
    }
    if (ok) printf("same bits\n");
    return ok ? 0 : 1;
}
