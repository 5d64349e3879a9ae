#ifndef BATCHAUG_MICROKERNELS_H
#define BATCHAUG_MICROKERNELS_H
// The matrix-product micro-kernels shared by the Winograd kernels (winograd.c) and the blocked
// im2col GEMM convolutions (gemmconv.c), and the 8 × 8 transpose both gather with (clang vector
// extensions, internal.h; every function is inlined into a caller compiled for its instruction set).
//
// Two shapes of product, each in an 8-float (AVX2) and a 16-float (AVX-512F) width:
// - product_tile: m[c][0..lanes) = Σ_k u[k][c] · v[k][0..lanes) for 4 rows c (u packed as
//   [k][4]): the reduction runs over k, the lanes over the columns of v;
// - reduce_tile: du[c][0..lanes) += Σ_k d[c][k] · v[k][0..lanes): the same with d in rows and the
//   result added to du.
// Both widths compute every element as the same chain of fused multiply-adds in the same order,
// so they give the same bits.

#include "internal.h"

// 8 × 8 transpose: c[k] lane l = r[l] lane k.
INLINE void transpose8(const v8 r[8], v8 c[8]) {
    v8 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        s[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        s[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        s[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; i++) {
        c[i] = __builtin_shufflevector(s[i], s[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        c[i + 4] = __builtin_shufflevector(s[i], s[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

// Two 8 × 8 transposes side by side (the 256-bit halves of 16-float vectors): c[k] lanes 0-7 =
// lane k of r[0..7], lanes 8-15 = lane 8 + k of r[0..7]. The same steps as transpose8.
INLINE void transpose8x2(const v16 r[8], v16 c[8]) {
    v16 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        s[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
        s[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        s[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    }
    for (int i = 0; i < 4; i++) {
        c[i] = __builtin_shufflevector(s[i], s[i + 4], 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        c[i + 4] = __builtin_shufflevector(s[i], s[i + 4], 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    }
}

// ---- Matrix products over the channels ------------------------------------------------------------

// m[c][0..8·NV) = Σ_ci u[ci][c] · v[ci][0..8·NV) for the 4 output channels c of a block.
// With `resume`, the sums continue from the values in mp (a product split along ci gives the
// same bits as the whole one).
INLINE void product_tile(const float *u, const float *v, long vstride, int cin, const int NV, float *mp,
                         long mstride, const int resume) {
    v8 a00 = splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    if (resume) {
        a00 = load8(mp); a10 = load8(mp + mstride); a20 = load8(mp + 2 * mstride); a30 = load8(mp + 3 * mstride);
        if (NV == 2) {
            a01 = load8(mp + 8); a11 = load8(mp + mstride + 8); a21 = load8(mp + 2 * mstride + 8);
            a31 = load8(mp + 3 * mstride + 8);
        }
    }
    for (int ci = 0; ci < cin; ci++) {
        const v8 x0 = load8(v), x1 = NV == 2 ? load8(v + 8) : splat(0);
        v8 w = splat(u[0]);
        a00 += w * x0; if (NV == 2) a01 += w * x1;
        w = splat(u[1]);
        a10 += w * x0; if (NV == 2) a11 += w * x1;
        w = splat(u[2]);
        a20 += w * x0; if (NV == 2) a21 += w * x1;
        w = splat(u[3]);
        a30 += w * x0; if (NV == 2) a31 += w * x1;
        u += 4;
        v += vstride;
    }
    store8(mp, a00); store8(mp + mstride, a10); store8(mp + 2 * mstride, a20); store8(mp + 3 * mstride, a30);
    if (NV == 2) {
        store8(mp + 8, a01); store8(mp + mstride + 8, a11); store8(mp + 2 * mstride + 8, a21);
        store8(mp + 3 * mstride + 8, a31);
    }
}

// product_tile with 16 tiles per vector, NV vectors (the same sums, lane by lane).
INLINE void product_tile16(const float *u, const float *v, long vstride, int cin, const int NV, float *mp,
                           long mstride, const int resume) {
    v16 acc[4][4];
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < NV; j++) acc[c][j] = resume ? load16(mp + c * mstride + 16 * j) : splat16(0);
    for (int ci = 0; ci < cin; ci++) {
        v16 x[4];
        for (int j = 0; j < NV; j++) x[j] = load16(v + 16 * j);
        for (int c = 0; c < 4; c++) {
            const v16 w = splat16(u[c]);
            for (int j = 0; j < NV; j++) acc[c][j] += w * x[j];
        }
        u += 4;
        v += vstride;
    }
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < NV; j++) store16(mp + c * mstride + 16 * j, acc[c][j]);
}

// du[c][0..8·NV) += Σ_k d[c][k] · v[k][0..8·NV) over `count` tiles k, for 4 output channels c
// (d rows `dstride` apart, v rows `vstride` apart).
INLINE void reduce_tile(const float *d, long dstride, const float *v, long vstride, int count, const int NV,
                        float *du, long du_row) {
    v8 a00 = splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const float *d0 = d, *d1 = d + dstride, *d2 = d + 2 * dstride, *d3 = d + 3 * dstride;
    for (int k = 0; k < count; k++) {
        const v8 x0 = load8(v), x1 = NV == 2 ? load8(v + 8) : splat(0);
        v8 w = splat(d0[k]);
        a00 += w * x0; if (NV == 2) a01 += w * x1;
        w = splat(d1[k]);
        a10 += w * x0; if (NV == 2) a11 += w * x1;
        w = splat(d2[k]);
        a20 += w * x0; if (NV == 2) a21 += w * x1;
        w = splat(d3[k]);
        a30 += w * x0; if (NV == 2) a31 += w * x1;
        v += vstride;
    }
    store8(du, load8(du) + a00); store8(du + du_row, load8(du + du_row) + a10);
    store8(du + 2 * du_row, load8(du + 2 * du_row) + a20); store8(du + 3 * du_row, load8(du + 3 * du_row) + a30);
    if (NV == 2) {
        store8(du + 8, load8(du + 8) + a01); store8(du + du_row + 8, load8(du + du_row + 8) + a11);
        store8(du + 2 * du_row + 8, load8(du + 2 * du_row + 8) + a21);
        store8(du + 3 * du_row + 8, load8(du + 3 * du_row + 8) + a31);
    }
}

// reduce_tile with 16 input channels per vector, NV vectors (1, 2 or 4), for ROWS (4 or 8) output
// channels: 16 channels are one vector, and four accumulators of one vector each cannot hide the
// latency of the multiply-adds; eight rows can. Four rows of four vectors (16 accumulators) load
// one value per two multiply-adds instead of three per four. Every element is the same chain as in
// reduce_tile, whatever NV and ROWS.
INLINE void reduce_tile16(const float *d, long dstride, const float *v, long vstride, int count, const int NV,
                          const int ROWS, float *du, long du_row) {
    v16 acc[8][4];
    for (int c = 0; c < ROWS; c++)
        for (int j = 0; j < NV; j++) acc[c][j] = splat16(0);
    for (int k = 0; k < count; k++) {
        v16 x[4];
        for (int j = 0; j < NV; j++) x[j] = load16(v + 16 * j);
        for (int c = 0; c < ROWS; c++) {
            const v16 w = splat16(d[c * dstride + k]);
            for (int j = 0; j < NV; j++) acc[c][j] += w * x[j];
        }
        v += vstride;
    }
    for (int c = 0; c < ROWS; c++)
        for (int j = 0; j < NV; j++) store16(du + c * du_row + 16 * j, load16(du + c * du_row + 16 * j) + acc[c][j]);
}

#endif
