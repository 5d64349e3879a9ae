// Row-wise loops over strided views, written once and compiled three times by elementwise.c:
// under the AVX2+FMA target attribute (clang vectorises the inner loops 8-wide), under AVX-512F
// (16-wide) and portably. channel_sums allows reassociation so that it vectorises too (each row
// in float, each plane in double; not compiled for AVX-512, where it would add in another order);
// the backward sums keep eight explicit lanes per plane.
// Expects: KERNEL (function attribute), NAME(x) (name mangling), VECTORS (1: explicit 8-float
// vectors, 0: the same lanes as arrays, without vector types in the portable variant's code), internal.h.

#ifndef WITHOUT_CHANNEL_SUMS
KERNEL static void NAME(channel_sums)(ck_view x, int images, int channels, int height, int width,
                                      const double *center, double *sums) {
#pragma clang fp reassociate(on)
    for (int c = 0; c < channels; c++) {
        const float m = center ? (float)center[c] : 0.0f;
        double s = 0, ss = 0;
        for (int n = 0; n < images; n++) {
            for (int y = 0; y < height; y++) {
                const float *restrict p = view_row(x, n, c, y);
                if (n + 1 < images) prefetch_row(p + x.image, width);
                float rs = 0, rss = 0;
                for (int i = 0; i < width; i++) {
                    const float v = p[i];
                    const float d = v - m;
                    rs += v;
                    rss += d * d;
                }
                s += rs;
                ss += rss;
            }
        }
        sums[c] += s;
        sums[channels + c] += ss;
    }
}
#endif

KERNEL static void NAME(affine_apply)(ck_view x, ck_view residual, ck_view y, int images, int channels, int height,
                                      int width, const float *scale, const float *shift, int relu) {
    for (int n = 0; n < images; n++) {
        for (int c = 0; c < channels; c++) {
            const float a = scale[c], b = shift[c];
            for (int r = 0; r < height; r++) {
                const float *restrict p = view_row(x, n, c, r);
                float *restrict q = view_row(y, n, c, r);
                if (residual.data) {
                    const float *restrict s = view_row(residual, n, c, r);
                    if (relu) { for (int i = 0; i < width; i++) { const float v = p[i] * a + b + s[i]; q[i] = v > 0 ? v : 0; } }
                    else { for (int i = 0; i < width; i++) q[i] = p[i] * a + b + s[i]; }
                } else {
                    if (relu) { for (int i = 0; i < width; i++) { const float v = p[i] * a + b; q[i] = v > 0 ? v : 0; } }
                    else { for (int i = 0; i < width; i++) q[i] = p[i] * a + b; }
                }
            }
        }
    }
}

// Image by image, each image's channels in turn: the memory of a group of channels is read in
// the order it lies in (one channel across all images jumps a whole image between planes, and
// small planes, 8 × 8 floats, then cost a cache miss each). Each plane's values are summed in
// eight float lanes across all its rows, the lanes added once per plane into the channel's
// double (a horizontal sum per row cost as much as the loads on 8- and 16-wide rows); the
// elements of a row past a multiple of 8 go into a scalar beside the lanes (lane l takes the
// elements i ≡ l mod 8 of each row: the same order in every variant). The order is a fixed
// function of the shape, so the bits are the same on every run.
// `masked`: 0 no ReLU, 1 mask from the output o, 2 from the input p·sc + sh (as affine_apply).
// `next_image`: the pass goes on to image n + 1's plane of this group, whose rows are prefetched.
INLINE void NAME(bn_sums_plane)(
    ck_view dy, ck_view y, ck_view x, long n, long c, int height, int width, float m, float sc, float sh,
    const int masked, const int next_image, double *s, double *sx) {
#if VECTORS
    v8 acc_s = splat(0), acc_sx = splat(0);
#else
    float acc_s[8] = {0}, acc_sx[8] = {0};
#endif
    float ts = 0, tsx = 0;
    const int width8 = width / 8 * 8;
    for (int r = 0; r < height; r++) {
        const float *restrict g = view_row(dy, n, c, r);
        const float *restrict p = view_row(x, n, c, r);
        const float *restrict o = masked == 1 ? view_row(y, n, c, r) : p;
        if (next_image) {
            prefetch_row(g + dy.image, width);
            prefetch_row(p + x.image, width);
            if (masked == 1) prefetch_row(o + y.image, width);
        }
#if VECTORS
        for (int i = 0; i < width8; i += 8) {
            const v8 gv = load8(g + i), pv = load8(p + i), zero = splat(0);
            v8 gi = gv;
            if (masked == 1) gi = (v8)((v8i)gv & (v8i)(load8(o + i) > zero));
            if (masked == 2) {
                // The ReLU's input as affine_apply computed it: the same expression, not
                // reassociated (x·sc > −sh would round differently).
#pragma clang fp reassociate(off)
                const v8 pre = pv * sc + sh;
                gi = (v8)((v8i)gv & (v8i)(pre > zero));
            }
            acc_s += gi;
            acc_sx += gi * (pv - m);
        }
#else
        for (int i = 0; i < width8; i += 8)
            for (int l = 0; l < 8; l++) {
                float gi;
                {
#pragma clang fp reassociate(off)
                    const float pre = p[i + l] * sc + sh;
                    gi = masked == 1 ? (o[i + l] > 0 ? g[i + l] : 0.0f) : masked == 2 ? (pre > 0 ? g[i + l] : 0.0f)
                                                                                       : g[i + l];
                }
                acc_s[l] += gi;
                acc_sx[l] += gi * (p[i + l] - m);
            }
#endif
        for (int i = width8; i < width; i++) {
            float gi;
            {
#pragma clang fp reassociate(off)
                const float pre = p[i] * sc + sh;
                gi = masked == 1 ? (o[i] > 0 ? g[i] : 0.0f) : masked == 2 ? (pre > 0 ? g[i] : 0.0f) : g[i];
            }
            ts += gi;
            tsx += gi * (p[i] - m);
        }
    }
    *s += (double)(HSUM8(acc_s) + ts);
    *sx += (double)(HSUM8(acc_sx) + tsx);
}

KERNEL static void NAME(bn_backward_sums)(ck_view dy, ck_view y, ck_view x, int images, int channels, int height,
                                          int width, const float *mean, const float *scale, const float *shift,
                                          double *sums) {
    const int masked = y.data ? 1 : scale ? 2 : 0;
    for (int n = 0; n < images; n++) {
        for (int c = 0; c < channels; c++) {
            const float m = mean[c], sc = scale ? scale[c] : 0.0f, sh = scale ? shift[c] : 0.0f;
            double *s = &sums[c], *sx = &sums[channels + c];
            switch (masked) {
            case 0: NAME(bn_sums_plane)(dy, y, x, n, c, height, width, m, sc, sh, 0, n + 1 < images, s, sx); break;
            case 1: NAME(bn_sums_plane)(dy, y, x, n, c, height, width, m, sc, sh, 1, n + 1 < images, s, sx); break;
            default: NAME(bn_sums_plane)(dy, y, x, n, c, height, width, m, sc, sh, 2, n + 1 < images, s, sx); break;
            }
        }
    }
}

// One row of the second batch-norm backward pass; the flags are constants at each call site
// below, so every combination compiles to its own branch-free vector loop.
// `masked`: 0 no ReLU, 1 ReLU mask from its output o, 2 from its input p·sc + sh (as affine_apply
// computed it).
KERNEL static inline __attribute__((always_inline)) void NAME(bn_apply_row)(
    const float *restrict g, const float *restrict o, const float *restrict p, float *restrict q,
    float *restrict e, int width, float m, float ac, float bc, float dc, float sc, float sh,
    const int masked, const int accumulate_dx, const int residual, const int accumulate_res) {
    for (int i = 0; i < width; i++) {
        const float pre = p[i] * sc + sh;
        const float gi = masked == 1 ? (o[i] > 0 ? g[i] : 0.0f) : masked == 2 ? (pre > 0 ? g[i] : 0.0f) : g[i];
        const float v = ac * gi + bc * (p[i] - m) + dc;
        q[i] = accumulate_dx ? q[i] + v : v;
        if (residual) e[i] = accumulate_res ? e[i] + gi : gi;
    }
}

#define BN_APPLY_view_row(M, A, R, AR) NAME(bn_apply_row)(g, o, p, q, e, width, mc, ac, bc, dc, sc, sh, M, A, R, AR)

KERNEL static void NAME(bn_backward_apply)(ck_view dy, ck_view y, ck_view x, ck_view dx, int accumulate_dx,
                                           ck_view dres, int accumulate_res, int images, int channels, int height,
                                           int width, const float *mean, const float *a, const float *b,
                                           const float *d, const float *scale, const float *shift) {
    const int masked = y.data ? 1 : scale ? 2 : 0, residual = dres.data != 0;
    const int variant = masked << 3 | (accumulate_dx != 0) << 2 | residual << 1 | (residual && accumulate_res);
    for (int n = 0; n < images; n++) {
        for (int c = 0; c < channels; c++) {
            const float mc = mean[c], ac = a[c], bc = b[c], dc = d[c];
            const float sc = scale ? scale[c] : 0.0f, sh = scale ? shift[c] : 0.0f;
            for (int r = 0; r < height; r++) {
                const float *g = view_row(dy, n, c, r);
                const float *o = masked == 1 ? view_row(y, n, c, r) : g;   // no y when the mask comes from x
                const float *p = view_row(x, n, c, r);
                float *q = view_row(dx, n, c, r);
                float *e = residual ? view_row(dres, n, c, r) : q;
                switch (variant) {
                case 0: BN_APPLY_view_row(0, 0, 0, 0); break;
                case 2: BN_APPLY_view_row(0, 0, 1, 0); break;
                case 3: BN_APPLY_view_row(0, 0, 1, 1); break;
                case 4: BN_APPLY_view_row(0, 1, 0, 0); break;
                case 6: BN_APPLY_view_row(0, 1, 1, 0); break;
                case 7: BN_APPLY_view_row(0, 1, 1, 1); break;
                case 8: BN_APPLY_view_row(1, 0, 0, 0); break;
                case 10: BN_APPLY_view_row(1, 0, 1, 0); break;
                case 11: BN_APPLY_view_row(1, 0, 1, 1); break;
                case 12: BN_APPLY_view_row(1, 1, 0, 0); break;
                case 14: BN_APPLY_view_row(1, 1, 1, 0); break;
                case 15: BN_APPLY_view_row(1, 1, 1, 1); break;
                case 16: BN_APPLY_view_row(2, 0, 0, 0); break;
                case 18: BN_APPLY_view_row(2, 0, 1, 0); break;
                case 19: BN_APPLY_view_row(2, 0, 1, 1); break;
                case 20: BN_APPLY_view_row(2, 1, 0, 0); break;
                case 22: BN_APPLY_view_row(2, 1, 1, 0); break;
                default: BN_APPLY_view_row(2, 1, 1, 1); break;
                }
            }
        }
    }
}

#undef BN_APPLY_ROW

KERNEL static void NAME(relu_backward)(ck_view dy, ck_view y, ck_view dx, int accumulate, int images, int channels,
                                       int height, int width) {
    for (int n = 0; n < images; n++)
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < height; r++) {
                const float *restrict g = view_row(dy, n, c, r);
                const float *restrict o = view_row(y, n, c, r);
                float *restrict q = view_row(dx, n, c, r);
                if (accumulate) { for (int i = 0; i < width; i++) q[i] += o[i] > 0 ? g[i] : 0.0f; }
                else { for (int i = 0; i < width; i++) q[i] = o[i] > 0 ? g[i] : 0.0f; }
            }
}

KERNEL static void NAME(copy)(ck_view src, ck_view dst, int accumulate, int images, int channels, int height,
                              int width) {
    for (int n = 0; n < images; n++)
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < height; r++) {
                const float *restrict s = view_row(src, n, c, r);
                float *restrict q = view_row(dst, n, c, r);
                if (accumulate) { for (int i = 0; i < width; i++) q[i] += s[i]; }
                else { for (int i = 0; i < width; i++) q[i] = s[i]; }
            }
}

#undef ROW
