// Blocked-product convolutions (gemmconv.c) of two revisions, A and B, in one process: forward,
// input gradient and weight gradient of one strided layer on 64 images, alternated call by call
// with cold caches, and whether both give the same bits. Built by run.sh, which renames each
// revision's ck_gemm_conv_* to A_* / B_*.
//   gemm CIN COUT SIZE STRIDE KERNEL
#include "common.h"
#include "strided.h"

#define DECLARE(P)                                                                                          \
    long P##_weights_count(int cout, int cin, int kh, int kw, int transpose);                                \
    void P##_pack(const float *w, int cout, int cin, int kh, int kw, int transpose, float *u);             \
    long P##_scratch_count(int cin, int cout, int kh, int kw, int block);                                    \
    void P##_forward(int isa, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,   \
                     int kh, int kw, int stride, const float *u, const float *bias, int accumulate,         \
                     double *sums, float *scratch, int block);                                               \
    void P##_backward_input(int isa, ck_view dy, int cout, ck_view dx, int cin, int images, int height,     \
                            int width, int hout, int wout, int kh, int kw, int stride, int padding,        \
                            int accumulate, const float *ut, float *scratch, int block);                    \
    void P##_backward_weights(int isa, ck_view dy, int cout, ck_view in, int cin, int images, int hout,     \
                              int wout, int kh, int kw, int stride, float *dw, float *scratch, int block);
DECLARE(A)
DECLARE(B)

int main(int argc, char **argv) {
    const strided_layer l = parse_strided_layer(argc, argv);
    const int cin = l.cin, cout = l.cout, size = l.size, s = l.s, k = l.k, pad = l.pad, hout = l.hout;
    const long plane = l.plane, oplane = l.oplane;
    const int images = 64, block = 64;
    // Inputs with a zero border of 1 (as the engine's activations), dense outputs.
    // Each side writes its own outputs (the input and weight gradients accumulate over the rounds,
    // from the same start on both sides), compared at the end.
    float *in = filled(images * cin * plane), *dy = filled(images * cout * oplane);
    float *dx[2] = {filled(images * cin * plane), filled(images * cin * plane)};
    float *out[2] = {filled(images * cout * oplane), filled(images * cout * oplane)};
    const ck_view inv = strided_input(l, in, pad);
    const ck_view dyv = {dy, cout * oplane, oplane, hout};
    float *w = filled((long)cout * cin * k * k);
    float *dw[2] = {filled((long)cout * cin * k * k), filled((long)cout * cin * k * k)};
    float *u = filled(A_weights_count(cout, cin, k, k, 0)), *ut = filled(A_weights_count(cout, cin, k, k, 1));
    A_pack(w, cout, cin, k, k, 0, u);
    A_pack(w, cout, cin, k, k, 1, ut);
    float *scratch = filled(A_scratch_count(cin, cout, k, k, block));
    static double sums[2][2048];
    double t[2][3][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            const ck_view outv = {out[v], cout * oplane, oplane, hout};
            const ck_view dxv = strided_input(l, dx[v], 0);
            double start;
            flush_caches();
            start = now();
            (v ? B_forward : A_forward)(1, inv, cin, outv, cout, images, hout, hout, k, k, s, u, NULL, 0,
                                        r == 0 ? sums[v] : NULL, scratch, block);
            t[v][0][r] = now() - start;
            flush_caches();
            start = now();
            (v ? B_backward_input : A_backward_input)(1, dyv, cout, dxv, cin, images, size, size, hout, hout, k, k, s,
                                                      pad, 1, ut, scratch, block);
            t[v][1][r] = now() - start;
            flush_caches();
            start = now();
            (v ? B_backward_weights : A_backward_weights)(1, dyv, cout, inv, cin, images, hout, hout, k, k, s, dw[v],
                                                          scratch, block);
            t[v][2][r] = now() - start;
        }
    printf("%d->%d %dx%d %dx%d/%d:", cin, cout, size, size, k, k, s);
    report("forward", t[0][0], t[1][0]);
    report("input gradient", t[0][1], t[1][1]);
    report("weight gradient", t[0][2], t[1][2]);
    const int same = !memcmp(out[0], out[1], 4L * images * cout * oplane) && !memcmp(sums[0], sums[1], sizeof sums[0]) &&
                     !memcmp(dx[0], dx[1], 4L * images * cin * plane) && !memcmp(dw[0], dw[1], 4L * cout * cin * k * k);
    printf("  bits %s\n", same ? "same" : "DIFFER");
    return 0;
}
