// Winograd F(4×4, 3×3) kernels (winograd.c) of two revisions, A and B, in one process: forward
// (also the input gradient's kernel), weight gradient and the weight transforms (forward and
// flipped) of one layer on 64 images, alternated call by call with cold caches, and whether both
// give the same bits. Built by run.sh.
//   winograd CIN COUT SIZE
#include "common.h"

#define DECLARE(P)                                                                                          \
    long P##_weights_count(int m, int cout, int cin);                                                        \
    long P##_scratch_count(int m, int cin, int cout, int block);                                             \
    void P##_transform_weights(int m, const float *w, int cout, int cin, int transpose_flip, float *u);    \
    void P##_forward(int isa, int m, ck_view in, int cin, ck_view out, int cout, int images, int hout,      \
                     int wout, const float *u, const float *bias, int accumulate, double *sums,             \
                     float *scratch, int block);                                                             \
    void P##_backward_weights(int isa, int m, ck_view dy, int cout, ck_view in, int cin, int images,        \
                              int hout, int wout, float *dw, float *scratch, int block);
DECLARE(A)
DECLARE(B)

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CIN COUT SIZE\n", argv[0]);
        return 2;
    }
    const int cin = atoi(argv[1]), cout = atoi(argv[2]), size = atoi(argv[3]), m = 4, images = 64;
    const long plane = (long)(size + 2) * (size + 2), oplane = (long)size * size;
    float *in = filled(images * cin * plane), *out[2] = {filled(images * cout * oplane), filled(images * cout * oplane)};
    float *dy = filled(images * cout * plane);
    const ck_view inv = {in, cin * plane, plane, size + 2};
    const ck_view dyv = {dy + (size + 2) + 1, cout * plane, plane, size + 2};   // padded, as the engine's
    float *w = filled(9L * cout * cin), *u = filled(A_weights_count(m, cout, cin));
    float *dw[2] = {calloc(9L * cout * cin, 4), calloc(9L * cout * cin, 4)};
    A_transform_weights(m, w, cout, cin, 0, u);
    float *scratch = filled(A_scratch_count(m, cin, cout, 256));
    double sums[2][4096] = {{0}}, t[2][2][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            const ck_view outv = {out[v], cout * oplane, oplane, size};
            double start;
            flush_caches();
            start = now();
            (v ? B_forward : A_forward)(1, m, inv, cin, outv, cout, images, size, size, u, NULL, 0,
                                        r == 0 ? sums[v] : NULL, scratch, 64);
            t[v][0][r] = now() - start;
            flush_caches();
            start = now();
            (v ? B_backward_weights : A_backward_weights)(1, m, dyv, cout, inv, cin, images, size, size,
                                                          dw[v], scratch, 32);   // the engine's blocks (WinogradBlocking)
            t[v][1][r] = now() - start;
        }
    // The weight transform, as the engine runs it every step: for the forward and, transposed and
    // flipped, for the input gradient (both revisions' own).
    const long counts[2] = {A_weights_count(m, cout, cin), A_weights_count(m, cin, cout)};   // by flip
    float *uu[2][2] = {{filled(counts[0]), filled(counts[1])}, {filled(counts[0]), filled(counts[1])}};
    double tw[2][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            flush_caches();
            const double start = now();
            for (int flip = 0; flip < 2; flip++) (v ? B_transform_weights : A_transform_weights)(m, w, cout, cin, flip, uu[v][flip]);
            tw[v][r] = now() - start;
        }
    const int same = !memcmp(out[0], out[1], 4 * images * cout * oplane) && !memcmp(sums[0], sums[1], sizeof sums[0]) &&
                     !memcmp(dw[0], dw[1], 36L * cout * cin) &&
                     !memcmp(uu[0][0], uu[1][0], 4 * counts[0]) && !memcmp(uu[0][1], uu[1][1], 4 * counts[1]);
    printf("%d->%d %dx%d:", cin, cout, size, size);
    report("forward", t[0][0], t[1][0]);
    report("weight gradient", t[0][1], t[1][1]);
    report("weight transforms", tw[0], tw[1]);
    printf("  bits %s\n", same ? "same" : "DIFFER");
    return 0;
}
