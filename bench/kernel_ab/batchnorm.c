// Batch-norm backward (elementwise.c, one revision) over a 64-image ghost batch, cold caches, two
// ways alternated call by call:
//   groups  A: channel by channel; B: groups of channels spanning 1024 floats per image (as
//           BatchNorm.backward), both reading the ReLU's mask from y
//   mask    A: mask read from y; B: recomputed from x (x·scale + shift > 0), both in groups
// Built by run.sh against the working tree's kernels.
//   batchnorm groups|mask CHANNELS SIZE
#include "common.h"

// Sums, then dx, for channels [first, first + count).
static void backward(ck_view dy, ck_view y, ck_view x, ck_view dx, int images, int first, int count, int size,
                     const float *scale, const float *shift, const float *mean, const float *a, const float *b,
                     const float *d) {
    double sums[1024];
    ck_view g = dy, o = y, p = x, q = dx;
    g.data += first * g.plane;
    p.data += first * p.plane;
    q.data += first * q.plane;
    if (o.data) o.data += first * o.plane;
    memset(sums, 0, sizeof(double) * 2 * count);
    const float *sc = scale ? scale + first : NULL, *sh = shift ? shift + first : NULL;
    ck_bn_backward_sums(1, g, o, p, images, count, size, size, mean + first, sc, sh, sums);
    ck_bn_backward_apply(1, g, o, p, q, 0, (ck_view){0}, 0, images, count, size, size, mean + first, a + first,
                         b + first, d + first, sc, sh);
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "groups") && strcmp(argv[1], "mask"))) {
        fprintf(stderr, "usage: %s groups|mask CHANNELS SIZE\n", argv[0]);
        return 2;
    }
    const int mask = !strcmp(argv[1], "mask"), channels = atoi(argv[2]), size = atoi(argv[3]), images = 64;
    const long plane = (long)size * size, padded = (long)(size + 2) * (size + 2);
    int group = 1024 / (int)plane;
    group = group < 1 ? 1 : group > channels ? channels : group;
    // x and dy dense; y and dx with a zero border of 1 (read and written by 3×3 convolutions).
    float *x = filled(images * channels * plane), *dy = filled(images * channels * plane);
    float *y = filled(images * channels * padded), *dx = filled(images * channels * padded);
    const ck_view xv = {x, channels * plane, plane, size}, dyv = {dy, channels * plane, plane, size};
    const ck_view yv = {y + size + 3, channels * padded, padded, size + 2};
    const ck_view dxv = {dx + size + 3, channels * padded, padded, size + 2};
    float scale[1024], shift[1024], mean[1024], a[1024], b[1024], d[1024];
    for (int c = 0; c < channels; c++)
        scale[c] = 0.9f + 0.01f * c, shift[c] = 0.1f, mean[c] = 0.01f, a[c] = 1, b[c] = 0.1f, d[c] = 0.01f;
    ck_affine_apply(1, xv, (ck_view){0}, yv, images, channels, size, size, scale, shift, 1);
    double t[2][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            flush_caches();
            const double start = now();
            const int step = mask || v ? group : 1;
            for (int first = 0; first < channels; first += step) {
                const int count = step < channels - first ? step : channels - first;
                if (mask && v) backward(dyv, (ck_view){0}, xv, dxv, images, first, count, size, scale, shift, mean, a, b, d);
                else backward(dyv, yv, xv, dxv, images, first, count, size, NULL, NULL, mean, a, b, d);
            }
            t[v][r] = now() - start;
        }
    printf("%s %d channels %dx%d (groups of %d):", argv[1], channels, size, size, group);
    report("backward", t[0], t[1]);
    printf("\n");
    return 0;
}
