// Blocked-product convolutions (gemmconv.c) of one strided layer on 64 images with blocks of 32 to
// 256 output positions (the engine's choice: GemmBlocking, Sources/Engine/Layers/Conv2D.swift):
// forward, input gradient and weight gradient, alternated call by call with cold caches; medians
// of the rounds, ms. Built by run.sh.
//   gemm_blocks CIN COUT SIZE STRIDE KERNEL
#include "common.h"
#include "strided.h"

int main(int argc, char **argv) {
    const strided_layer l = parse_strided_layer(argc, argv);
    const int cin = l.cin, cout = l.cout, size = l.size, s = l.s, k = l.k, pad = l.pad, hout = l.hout;
    const long plane = l.plane, oplane = l.oplane;
    const int blocks[] = {32, 64, 128, 256}, nb = 4, images = 64;
    // Inputs with a zero border of 1 (as the engine's activations), dense outputs.
    float *in = filled(images * cin * plane), *dx = filled(images * cin * plane);
    float *out = filled(images * cout * oplane), *dy = filled(images * cout * oplane);
    const ck_view inv = strided_input(l, in, pad);
    const ck_view dxv = strided_input(l, dx, 0);
    const ck_view outv = {out, cout * oplane, oplane, hout}, dyv = {dy, cout * oplane, oplane, hout};
    float *w = filled((long)cout * cin * k * k), *dw = filled((long)cout * cin * k * k);
    float *u = filled(ck_gemm_conv_weights_count(cout, cin, k, k, 0));
    float *ut = filled(ck_gemm_conv_weights_count(cout, cin, k, k, 1));
    ck_gemm_conv_pack(w, cout, cin, k, k, 0, u);
    ck_gemm_conv_pack(w, cout, cin, k, k, 1, ut);
    float *scratch = filled(ck_gemm_conv_scratch_count(cin, cout, k, k, 256));
    double sums[2048] = {0}, t[4][3][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int b = 0; b < nb; b++) {
            flush_caches();
            double start = now();
            ck_gemm_conv_forward(1, inv, cin, outv, cout, images, hout, hout, k, k, s, u, NULL, 0, sums, scratch,
                                 blocks[b]);
            t[b][0][r] = now() - start;
            flush_caches();
            start = now();
            ck_gemm_conv_backward_input(1, dyv, cout, dxv, cin, images, size, size, hout, hout, k, k, s, pad, 1, ut,
                                        scratch, blocks[b]);
            t[b][1][r] = now() - start;
            flush_caches();
            start = now();
            ck_gemm_conv_backward_weights(1, dyv, cout, inv, cin, images, hout, hout, k, k, s, dw, scratch, blocks[b]);
            t[b][2][r] = now() - start;
        }
    printf("%d->%d %dx%d %dx%d/%d:\n", cin, cout, size, size, k, k, s);
    const char *names[3] = {"forward", "input gradient", "weight gradient"};
    for (int p = 0; p < 3; p++) {
        printf("  %-16s", names[p]);
        for (int b = 0; b < nb; b++) printf("  b%-3d %7.3f", blocks[b], median(t[b][p], ROUNDS) * 1e3);
        printf("\n");
    }
    return 0;
}
