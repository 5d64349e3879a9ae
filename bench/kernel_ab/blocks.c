// Winograd F(4×4, 3×3) forward and weight gradient of one layer on 64 images with blocks of 16 to
// 256 tiles (the engine's choice: WinogradBlocking, Sources/Engine/Layers/Conv2D+Winograd.swift),
// alternated call by call with cold caches; medians of the rounds, ms. Built by run.sh.
//   blocks CIN COUT SIZE
#include "common.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CIN COUT SIZE\n", argv[0]);
        return 2;
    }
    const int cin = atoi(argv[1]), cout = atoi(argv[2]), size = atoi(argv[3]), m = 4, images = 64;
    const int blocks[] = {16, 32, 64, 128, 256}, nb = 5;
    const long plane = (long)(size + 2) * (size + 2), oplane = (long)size * size;
    float *in = filled(images * cin * plane), *out = filled(images * cout * oplane), *dy = filled(images * cout * plane);
    const ck_view inv = {in, cin * plane, plane, size + 2}, dyv = {dy + (size + 2) + 1, cout * plane, plane, size + 2};
    const ck_view outv = {out, cout * oplane, oplane, size};
    float *w = filled(9L * cout * cin), *u = filled(ck_winograd_weights_count(m, cout, cin)), *dw = calloc(9L * cout * cin, 4);
    ck_winograd_transform_weights(m, w, cout, cin, 0, u);
    float *scratch = filled(ck_winograd_scratch_count(m, cin, cout, 256));
    double tf[5][ROUNDS], tw[5][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int b = 0; b < nb; b++) {
            flush_caches();
            double s = now();
            ck_winograd_forward(1, m, inv, cin, outv, cout, images, size, size, u, NULL, 0, NULL, scratch, blocks[b]);
            tf[b][r] = now() - s;
            flush_caches();
            s = now();
            ck_winograd_backward_weights(1, m, dyv, cout, inv, cin, images, size, size, dw, scratch, blocks[b]);
            tw[b][r] = now() - s;
        }
    printf("%d->%d %dx%d:", cin, cout, size, size);
    for (int b = 0; b < nb; b++)
        printf("  b%d forward %.3f weight gradient %.3f", blocks[b], median(tf[b], ROUNDS) * 1e3, median(tw[b], ROUNDS) * 1e3);
    printf("\n");
    return 0;
}
