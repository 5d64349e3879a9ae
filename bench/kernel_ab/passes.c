// The batch-norm passes that walk one channel (or a group of channels) across the images of a pass
// (elementwise.c) of two revisions, A and B, in one process, on 64 images with cold caches,
// alternated call by call, and whether both give the same bits:
//   backward   ck_bn_backward_sums then ck_bn_backward_apply, group by group as BatchNorm.backward:
//              a residual layer (the ReLU's mask read from y, the residual's gradient written too)
//              or not (the mask recomputed from x)
//   statistics ck_channel_sums (a batch norm whose input no convolution's epilogue summed)
// Built by run.sh.
//   passes CHANNELS SIZE
#include "common.h"

#define DECLARE(P)                                                                                           \
    void P##_channel_sums(int isa, ck_view x, int images, int channels, int height, int width,               \
                          const double *center, double *sums);                                               \
    void P##_bn_backward_sums(int isa, ck_view dy, ck_view y, ck_view x, int images, int channels, int height, \
                              int width, const float *mean, const float *scale, const float *shift,           \
                              double *sums);                                                                  \
    void P##_bn_backward_apply(int isa, ck_view dy, ck_view y, ck_view x, ck_view dx, int accumulate_dx,      \
                               ck_view dres, int accumulate_res, int images, int channels, int height,        \
                               int width, const float *mean, const float *a, const float *b, const float *d,  \
                               const float *scale, const float *shift);
DECLARE(A)
DECLARE(B)

typedef struct {
    ck_view dy, y, x, dx, dres;
    const float *scale, *shift, *mean, *a, *b, *d;
    int images, channels, size, group;
} layer;

static ck_view from(ck_view v, int first) {
    if (v.data) v.data += first * v.plane;
    return v;
}

// The backward of one batch norm by revision `side`; `masked_by_y`: a residual layer's (the mask
// from y, the residual's gradient written), else the mask from x.
static void backward(int side, const layer *l, int masked_by_y, double *all_sums) {
    const int isa = ck_best_isa();
    for (int first = 0; first < l->channels; first += l->group) {
        const int count = l->group < l->channels - first ? l->group : l->channels - first;
        const ck_view y = masked_by_y ? from(l->y, first) : (ck_view){0};
        const float *sc = masked_by_y ? NULL : l->scale + first, *sh = masked_by_y ? NULL : l->shift + first;
        double *sums = all_sums + 2 * first;
        memset(sums, 0, sizeof(double) * 2 * count);
        (side ? B_bn_backward_sums : A_bn_backward_sums)(isa, from(l->dy, first), y, from(l->x, first), l->images,
                                                         count, l->size, l->size, l->mean + first, sc, sh, sums);
        (side ? B_bn_backward_apply : A_bn_backward_apply)(
            isa, from(l->dy, first), y, from(l->x, first), from(l->dx, first), 0,
            masked_by_y ? from(l->dres, first) : (ck_view){0}, 0, l->images, count,
            l->size, l->size, l->mean + first, l->a + first, l->b + first, l->d + first, sc, sh);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s CHANNELS SIZE\n", argv[0]);
        return 2;
    }
    const int channels = atoi(argv[1]), size = atoi(argv[2]), images = 64;
    const long plane = (long)size * size, padded = (long)(size + 2) * (size + 2);
    int group = 1024 / (int)plane;   // BatchNorm.channelGroup
    group = group < 1 ? 1 : group > channels ? channels : group;
    // x and dy dense; y and dx with a zero border of 1 (read and written by 3×3 convolutions).
    float *x = filled(images * channels * plane), *dy = filled(images * channels * plane);
    float *y = filled(images * channels * padded), *dx[2] = {filled(images * channels * padded), filled(images * channels * padded)};
    float *dres[2] = {filled(images * channels * padded), filled(images * channels * padded)};
    float scale[1024], shift[1024], mean[1024], a[1024], b[1024], d[1024];
    for (int c = 0; c < channels; c++)
        scale[c] = 0.9f + 0.01f * c, shift[c] = 0.1f, mean[c] = 0.01f, a[c] = 1, b[c] = 0.1f, d[c] = 0.01f;
    layer l = {{dy, channels * plane, plane, size}, {y + size + 3, channels * padded, padded, size + 2},
               {x, channels * plane, plane, size}, {0}, {0}, scale, shift, mean, a, b, d, images, channels, size, group};
    const ck_view xv = l.x;
    double sums[2][2048], t[3][2][ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            for (int masked_by_y = 0; masked_by_y < 2; masked_by_y++) {
                l.dx = (ck_view){dx[v] + size + 3, channels * padded, padded, size + 2};
                l.dres = (ck_view){dres[v] + size + 3, channels * padded, padded, size + 2};
                flush_caches();
                const double start = now();
                backward(v, &l, masked_by_y, sums[v]);
                t[masked_by_y][v][r] = now() - start;
            }
            flush_caches();
            memset(sums[v], 0, sizeof(double) * 2 * channels);
            const double start = now();
            (v ? B_channel_sums : A_channel_sums)(ck_best_isa(), xv, images, channels, size, size, NULL, sums[v]);
            t[2][v][r] = now() - start;
        }
    const int same = !memcmp(dx[0], dx[1], sizeof(float) * images * channels * padded) &&
                     !memcmp(dres[0], dres[1], sizeof(float) * images * channels * padded) &&
                     !memcmp(sums[0], sums[1], sizeof(double) * 2 * channels);
    printf("%d channels %dx%d (groups of %d):", channels, size, size, group);
    report("backward, residual layer", t[1][0], t[1][1]);
    report("without residual", t[0][0], t[0][1]);
    report("statistics", t[2][0], t[2][1]);
    printf("  bits %s\n", same ? "same" : "DIFFER");
    return same ? 0 : 1;
}
