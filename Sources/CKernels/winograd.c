// Winograd convolutions F(m×m, 3×3), m = 2 (4×4 input tiles) or m = 4 (6×6 input tiles), for 3×3
// stride-1 convolutions: forward (and, with the transposed and flipped weights, the input gradient)
// and the weight gradient. Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016).
//
//   forward   Y = Aᵀ [ U ⊙ V ] A,   U = G w Gᵀ (once per step),  V = Bᵀ d B (per input tile)
//   weights   dw = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ V ] G
//
// Tiles of all images of a pass are numbered together and processed in blocks of `block` tiles:
// the input transform writes V[e][ci][tile] (e = one of the α² transformed elements), then for
// every e a matrix product over the channels, M[e][co][tiles] = U[e][co][ci] · V[e][ci][tiles]
// (the micro-kernel of conv.c: 4 output channels × 2 vectors of 8 tiles), then the output
// transform scatters M back into the output planes. The weight gradient's product reduces over
// the tiles instead: dU[e][co][ci] += Σ_tile dM[e][co][tile] · V[e][ci][tile].
//
// Transforms work on 8 tiles at once, one tile per vector lane: each row of 8 tiles is loaded
// (8 floats from the tile's corner) and transposed, so tiles may sit anywhere (across rows and
// images, whatever the plane size). Tiles that reach past the valid region (image sizes not a
// multiple of m) are copied into a zero-filled patch first.
//
// One body written with clang vector extensions is compiled twice: with AVX2+FMA (contracted
// multiply-adds) and portable.

#include "ckernels.h"
#include <math.h>
#include <string.h>

// Every function taking or returning vectors is inlined into one compiled for its instruction set.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
typedef float v2 __attribute__((vector_size(8)));

#define INLINE static inline __attribute__((always_inline))
#define AVX2 __attribute__((target("avx2,fma")))

INLINE v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }
INLINE float hsum8(v8 v) {
    // A fixed order (the same on both instruction sets).
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

static inline int min_int(int a, int b) { return a < b ? a : b; }

// ---- 1-D transforms (vectors = 8 tiles), inputs and outputs with strides --------------------

// Bᵀ d, F(2,3): 4 → 4.
INLINE void input_1d_2(const v8 *d, int s, v8 *o, int t) {
    o[0] = d[0] - d[2 * s];
    o[t] = d[s] + d[2 * s];
    o[2 * t] = d[2 * s] - d[s];
    o[3 * t] = d[s] - d[3 * s];
}

// Bᵀ d, F(4,3): 6 → 6 (points 0, ±1, ±2, ∞).
INLINE void input_1d_4(const v8 *d, int s, v8 *o, int t) {
    const v8 d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s];
    const v8 a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);
    o[0] = 4.0f * d[0] - 5.0f * d2 + d4;
    o[t] = a + b;
    o[2 * t] = a - b;
    o[3 * t] = c + e;
    o[4 * t] = c - e;
    o[5 * t] = 4.0f * d1 - 5.0f * d3 + d[5 * s];
}

// Aᵀ m, F(2,3): 4 → 2.
INLINE void output_1d_2(const v8 *m, int s, v8 *o, int t) {
    o[0] = m[0] + m[s] + m[2 * s];
    o[t] = m[s] - m[2 * s] - m[3 * s];
}

// Aᵀ m, F(4,3): 6 → 4.
INLINE void output_1d_4(const v8 *m, int s, v8 *o, int t) {
    const v8 a = m[s] + m[2 * s], b = m[s] - m[2 * s], c = m[3 * s] + m[4 * s], d = m[3 * s] - m[4 * s];
    o[0] = m[0] + a + c;
    o[t] = b + 2.0f * d;
    o[2 * t] = a + 4.0f * c;
    o[3 * t] = b + 8.0f * d + m[5 * s];
}

// A g (the transpose of the output transform), F(2,3): 2 → 4.
INLINE void gradient_1d_2(const v8 *g, int s, v8 *o, int t) {
    o[0] = g[0];
    o[t] = g[0] + g[s];
    o[2 * t] = g[0] - g[s];
    o[3 * t] = -g[s];
}

// A g, F(4,3): 4 → 6.
INLINE void gradient_1d_4(const v8 *g, int s, v8 *o, int t) {
    const v8 g0 = g[0], g1 = g[s], g2 = g[2 * s], g3 = g[3 * s];
    const v8 e = g0 + g2, f = g1 + g3, e2 = g0 + 4.0f * g2, f2 = 2.0f * g1 + 8.0f * g3;
    o[0] = g0;
    o[t] = e + f;
    o[2 * t] = e - f;
    o[3 * t] = e2 + f2;
    o[4 * t] = e2 - f2;
    o[5 * t] = g3;
}

// ---- 8 × 8 transpose: c[k] lane l = r[l] lane k -----------------------------------------------

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

// ---- Tiles -------------------------------------------------------------------------------------

// Where the 8 tiles of a group read and write. `src[l] + r * row[l]` is row r of lane l's patch
// (in the view, or in a zero-filled copy for tiles at the lower or right edge and empty lanes).
typedef struct {
    long in[8];       // offset of the tile's corner in the input view (channel 0)
    long out[8];      // offset of the tile's corner in the output view (channel 0)
    int rows[8];      // valid output rows and columns of the tile (0 for an empty lane)
    int columns[8];
    int lanes;        // tiles in this group
    int full;         // all 8 tiles full
} tile_group;

INLINE void group_setup(tile_group *g, long first, long tiles, int m, int tiles_x, int per_image, int hout,
                        int wout, ck_view in, ck_view out) {
    g->full = 1;
    g->lanes = 0;
    for (int l = 0; l < 8; l++) {
        const long p = first + l;
        if (p >= tiles) {
            g->in[l] = g->out[l] = 0;
            g->rows[l] = g->columns[l] = 0;
            g->full = 0;
            continue;
        }
        g->lanes++;
        const long n = p / per_image;
        const int t = (int)(p % per_image), ty = t / tiles_x, tx = t % tiles_x;
        g->in[l] = n * in.image + (long)ty * m * in.row + (long)tx * m;
        g->out[l] = n * out.image + (long)ty * m * out.row + (long)tx * m;
        g->rows[l] = min_int(m, hout - ty * m);
        g->columns[l] = min_int(m, wout - tx * m);
        if (g->rows[l] < m || g->columns[l] < m) g->full = 0;
    }
}

// Loads `height` rows of `width` valid values (of `extent` ≤ 8) of lane l's patch at `base`
// into patch rows of 8 floats, zero elsewhere.
INLINE void copy_patch(float patch[8][8], const float *base, long row, int height, int width) {
    memset(patch, 0, sizeof(float) * 64);
    for (int r = 0; r < height; r++)
        for (int k = 0; k < width; k++) patch[r][k] = base[r * row + k];
}

// The rows of the 8 tiles' patches of one channel, transposed: cols[r*8 + k] lane l = patch
// element (r, k) of lane l, for r < height. `valid_rows/valid_cols(l)` give how much of a
// non-full tile's patch lies inside the view.
INLINE void gather_rows(const tile_group *g, const float *plane, long row, int height, const int vr[8],
                        const int vc[8], float patches[8][8][8], v8 *cols) {
    for (int r = 0; r < height; r++) {
        v8 rows[8];
        if (g->full) {
            for (int l = 0; l < 8; l++) rows[l] = load8(plane + g->in[l] + r * row);
        } else {
            if (r == 0) {
                for (int l = 0; l < 8; l++) {
                    if (vr[l] >= height && vc[l] >= 8) continue;   // rows read in place below
                    copy_patch(patches[l], plane + g->in[l], row, min_int(vr[l], height), min_int(vc[l], 8));
                }
            }
            for (int l = 0; l < 8; l++)
                rows[l] = (vr[l] >= height && vc[l] >= 8) ? load8(plane + g->in[l] + r * row) : load8(patches[l][r]);
        }
        transpose8(rows, cols + r * 8);
    }
}

// V (α² vectors, element e = i·α + j at v[e·stride]) of the 8 tiles of one input channel.
INLINE void input_tile(const int m, const tile_group *g, const float *plane, long row, float patches[8][8][8],
                       float *v, long stride) {
    const int a = m + 2;
    int vr[8], vc[8];
    for (int l = 0; l < 8; l++) {
        // A tile whose output is full reads a patch inside the view; otherwise only the part of
        // the patch within the (hout + 2) × (wout + 2) view is real.
        const int full = g->rows[l] == m && g->columns[l] == m;
        vr[l] = full ? a : (g->rows[l] > 0 ? g->rows[l] + 2 : 0);
        vc[l] = full ? 8 : (g->columns[l] > 0 ? g->columns[l] + 2 : 0);
    }
    v8 cols[64], h[36];
    gather_rows(g, plane, row, a, vr, vc, patches, cols);
    for (int r = 0; r < a; r++) {
        if (m == 4) input_1d_4(cols + r * 8, 1, h + r * 6, 1);
        else input_1d_2(cols + r * 8, 1, h + r * 4, 1);
    }
    v8 out[36];
    for (int j = 0; j < a; j++) {
        if (m == 4) input_1d_4(h + j, 6, out + j, 6);
        else input_1d_2(h + j, 4, out + j, 4);
    }
    for (int e = 0; e < a * a; e++) store8(v + e * stride, out[e]);
}

// dM = A g Aᵀ (α² vectors) of the 8 tiles' m×m output-gradient tiles of one channel.
INLINE void gradient_tile(const int m, const tile_group *g, const float *plane, long row, float patches[8][8][8],
                          float *v, long stride) {
    const int a = m + 2;
    int vr[8], vc[8];
    for (int l = 0; l < 8; l++) {
        const int full = g->rows[l] == m && g->columns[l] == m;
        vr[l] = full ? m : g->rows[l];
        // A full tile's rows are read 8 wide in place; the lanes past m are ignored.
        vc[l] = full ? 8 : g->columns[l];
    }
    // Lanes that are not full: copy_patch zeroes what lies outside the tile.
    v8 cols[32], h[24];
    // gather_rows reads through `in` offsets: the gradient tiles' corners are the output corners.
    tile_group local = *g;
    for (int l = 0; l < 8; l++) local.in[l] = g->out[l];
    gather_rows(&local, plane, row, m, vr, vc, patches, cols);
    for (int r = 0; r < m; r++) {
        if (m == 4) gradient_1d_4(cols + r * 8, 1, h + r * 6, 1);
        else gradient_1d_2(cols + r * 8, 1, h + r * 4, 1);
    }
    v8 out[36];
    for (int j = 0; j < a; j++) {
        if (m == 4) gradient_1d_4(h + j, 6, out + j, 6);
        else gradient_1d_2(h + j, 4, out + j, 4);
    }
    for (int e = 0; e < a * a; e++) store8(v + e * stride, out[e]);
}

// Y = Aᵀ M A of the 8 tiles of one output channel (M at mp[e·stride]), + bias, written (or added)
// to the output plane; adds the written values and their squares into *sum, *square.
INLINE void output_tile(const int m, const tile_group *g, const float *mp, long stride, float *plane, long row,
                        float bias, int accumulate, v8 *sum, v8 *square, float *tail_sum, float *tail_square) {
    const int a = m + 2;
    v8 in[36], t[24], y[16];
    for (int e = 0; e < a * a; e++) in[e] = load8(mp + e * stride);
    for (int c = 0; c < a; c++) {
        if (m == 4) output_1d_4(in + c, 6, t + c, 6);
        else output_1d_2(in + c, 4, t + c, 4);
    }
    for (int i = 0; i < m; i++) {
        if (m == 4) output_1d_4(t + i * 6, 1, y + i * 4, 1);
        else output_1d_2(t + i * 4, 1, y + i * 2, 1);
    }
    const v8 b = splat(bias);
    for (int i = 0; i < m * m; i++) y[i] += b;
    if (g->full) {
        if (!accumulate) {
            for (int i = 0; i < m * m; i++) {
                *sum += y[i];
                *square += y[i] * y[i];
            }
        }
        for (int i = 0; i < m; i++) {
            v8 cols[8];
            v8 rows[8] = {0};
            for (int j = 0; j < m; j++) rows[j] = y[i * m + j];
            transpose8(rows, cols);
            for (int l = 0; l < 8; l++) {
                float *o = plane + g->out[l] + i * row;
                if (m == 4) {
                    v4 x = __builtin_shufflevector(cols[l], cols[l], 0, 1, 2, 3);
                    if (accumulate) { v4 old; memcpy(&old, o, sizeof old); x += old; }
                    memcpy(o, &x, sizeof x);
                } else {
                    v2 x = __builtin_shufflevector(cols[l], cols[l], 0, 1);
                    if (accumulate) { v2 old; memcpy(&old, o, sizeof old); x += old; }
                    memcpy(o, &x, sizeof x);
                }
            }
        }
        return;
    }
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
            const v8 value = y[i * m + j];
            for (int l = 0; l < 8; l++) {
                if (i >= g->rows[l] || j >= g->columns[l]) continue;
                float *o = plane + g->out[l] + i * row + j;
                const float x = accumulate ? *o + value[l] : value[l];
                *o = x;
                *tail_sum += x;
                *tail_square += x * x;
            }
        }
    }
}

// ---- Matrix products over the channels ------------------------------------------------------------

// m[c][0..8·NV) = Σ_ci u[ci][c] · v[ci][0..8·NV) for the 4 output channels c of a block.
INLINE void product_tile(const float *u, const float *v, long vstride, int cin, const int NV, float *mp,
                         long mstride) {
    v8 a00 = splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
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

// du[c][i] += Σ_k d[c][k] · v[i][k] over `vectors` vectors of 8, for CO output and CI input channels.
INLINE void reduce_tile(const float *d, const float *v, long stride, int vectors, const int CO, const int CI, float *du,
                        long du_row) {
    v8 acc[4][3];
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 3; i++) acc[c][i] = splat(0);
    for (int k = 0; k < vectors; k++) {
        v8 x[3];
        for (int i = 0; i < CI; i++) x[i] = load8(v + i * stride + k * 8);
        for (int c = 0; c < CO; c++) {
            const v8 gv = load8(d + c * stride + k * 8);
            for (int i = 0; i < CI; i++) acc[c][i] += gv * x[i];
        }
    }
    for (int c = 0; c < CO; c++)
        for (int i = 0; i < CI; i++) du[c * du_row + i] += hsum8(acc[c][i]);
}

// ---- Bodies ---------------------------------------------------------------------------------------

static inline int round_up(int x, int k) { return (x + k - 1) / k * k; }

INLINE void forward_body(const int m, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                         const float *u, const float *bias, int accumulate, double *sums, float *scratch, int block) {
    const int a = m + 2, aa = a * a, cout4 = round_up(cout, 4);
    const int tiles_x = (wout + m - 1) / m, per_image = tiles_x * ((hout + m - 1) / m);
    const long tiles = (long)images * per_image;
    // V[e][ci][block] and M[e][co][block]; the planes of consecutive e are a cache line further
    // apart than their size, so that the α² loads and stores of a tile do not all fall into one
    // L1 set (cin · block is a multiple of 4 KiB for the usual shapes).
    const long vstride = (long)cin * block + 16, mstride = (long)cout4 * block + 16;
    float *v = scratch;
    float *mp = scratch + aa * vstride;
    float patches[8][8][8];
    for (long first = 0; first < tiles; first += block) {
        const int count = (int)(tiles - first < block ? tiles - first : block);
        const int groups = (count + 7) / 8;
        for (int gi = 0; gi < groups; gi++) {
            tile_group g;
            group_setup(&g, first + gi * 8, tiles, m, tiles_x, per_image, hout, wout, in, out);
            for (int ci = 0; ci < cin; ci++)
                input_tile(m, &g, in.data + ci * in.plane, in.row, patches, v + (long)ci * block + gi * 8, vstride);
        }
        for (int e = 0; e < aa; e++) {
            const float *ve = v + e * vstride;
            for (int cb = 0; cb < cout4; cb += 4) {
                const float *ue = u + ((long)e * cout4 + cb) * cin;
                float *me = mp + e * mstride + (long)cb * block;
                int gi = 0;
                for (; gi + 2 <= groups; gi += 2) product_tile(ue, ve + gi * 8, block, cin, 2, me + gi * 8, block);
                if (gi < groups) product_tile(ue, ve + gi * 8, block, cin, 1, me + gi * 8, block);
            }
        }
        for (int co = 0; co < cout; co++) {
            v8 sum = splat(0), square = splat(0);
            float tail_sum = 0, tail_square = 0;
            for (int gi = 0; gi < groups; gi++) {
                tile_group g;
                group_setup(&g, first + gi * 8, tiles, m, tiles_x, per_image, hout, wout, in, out);
                output_tile(m, &g, mp + (long)co * block + gi * 8, mstride, out.data + co * out.plane,
                            out.row, bias ? bias[co] : 0.0f, accumulate, &sum, &square, &tail_sum, &tail_square);
            }
            if (sums) {
                sums[co] += (double)hsum8(sum) + tail_sum;
                sums[cout + co] += (double)hsum8(square) + tail_square;
            }
        }
    }
}

INLINE void weights_body(const int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                         float *du, float *scratch, int block) {
    const int a = m + 2, aa = a * a;
    const int tiles_x = (wout + m - 1) / m, per_image = tiles_x * ((hout + m - 1) / m);
    const long tiles = (long)images * per_image;
    // V[e][ci][block] and dM[e][co][block], planes padded as in forward_body.
    const long vstride = (long)cin * block + 16, dstride = (long)cout * block + 16;
    float *v = scratch;
    float *d = scratch + aa * vstride;
    float patches[8][8][8];
    for (long first = 0; first < tiles; first += block) {
        const int count = (int)(tiles - first < block ? tiles - first : block);
        const int groups = (count + 7) / 8;
        for (int gi = 0; gi < groups; gi++) {
            tile_group g;
            group_setup(&g, first + gi * 8, tiles, m, tiles_x, per_image, hout, wout, in, dy);
            for (int ci = 0; ci < cin; ci++)
                input_tile(m, &g, in.data + ci * in.plane, in.row, patches, v + (long)ci * block + gi * 8, vstride);
            for (int co = 0; co < cout; co++)
                gradient_tile(m, &g, dy.data + co * dy.plane, dy.row, patches, d + (long)co * block + gi * 8,
                              dstride);
        }
        for (int e = 0; e < aa; e++) {
            const float *ve = v + e * vstride, *de = d + e * dstride;
            float *ue = du + (long)e * cout * cin;
            for (int cb = 0; cb < cout; cb += 4) {
                const int co = min_int(4, cout - cb);
                for (int ib = 0; ib < cin; ib += 3) {
                    const int ci = min_int(3, cin - ib);
                    const float *dp = de + (long)cb * block, *vp = ve + (long)ib * block;
                    float *target = ue + (long)cb * cin + ib;
#define REDUCE(CO, CI) reduce_tile(dp, vp, block, groups, CO, CI, target, cin)
                    switch (co * 4 + ci) {
                    case 4 * 4 + 3: REDUCE(4, 3); break;
                    case 4 * 4 + 2: REDUCE(4, 2); break;
                    case 4 * 4 + 1: REDUCE(4, 1); break;
                    case 3 * 4 + 3: REDUCE(3, 3); break;
                    case 3 * 4 + 2: REDUCE(3, 2); break;
                    case 3 * 4 + 1: REDUCE(3, 1); break;
                    case 2 * 4 + 3: REDUCE(2, 3); break;
                    case 2 * 4 + 2: REDUCE(2, 2); break;
                    case 2 * 4 + 1: REDUCE(2, 1); break;
                    case 1 * 4 + 3: REDUCE(1, 3); break;
                    case 1 * 4 + 2: REDUCE(1, 2); break;
                    default: REDUCE(1, 1); break;
                    }
#undef REDUCE
                }
            }
        }
    }
}

AVX2 static void forward_avx2(int m, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                              const float *u, const float *bias, int accumulate, double *sums, float *scratch,
                              int block) {
    if (m == 4) forward_body(4, in, cin, out, cout, images, hout, wout, u, bias, accumulate, sums, scratch, block);
    else forward_body(2, in, cin, out, cout, images, hout, wout, u, bias, accumulate, sums, scratch, block);
}

static void forward_portable(int m, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                             const float *u, const float *bias, int accumulate, double *sums, float *scratch,
                             int block) {
    if (m == 4) forward_body(4, in, cin, out, cout, images, hout, wout, u, bias, accumulate, sums, scratch, block);
    else forward_body(2, in, cin, out, cout, images, hout, wout, u, bias, accumulate, sums, scratch, block);
}

AVX2 static void weights_avx2(int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                              float *du, float *scratch, int block) {
    if (m == 4) weights_body(4, dy, cout, in, cin, images, hout, wout, du, scratch, block);
    else weights_body(2, dy, cout, in, cin, images, hout, wout, du, scratch, block);
}

static void weights_portable(int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                             float *du, float *scratch, int block) {
    if (m == 4) weights_body(4, dy, cout, in, cin, images, hout, wout, du, scratch, block);
    else weights_body(2, dy, cout, in, cin, images, hout, wout, du, scratch, block);
}

// ---- Public entry points ------------------------------------------------------------------------

// G (α × 3) of F(m, 3), in double: the weight-side transforms run once per step.
static const double g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double g4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

static double g_entry(int m, int i, int k) { return m == 4 ? g4[i][k] : g2[i][k]; }

long ck_winograd_weights_count(int m, int cout, int cin) {
    return (long)(m + 2) * (m + 2) * round_up(cout, 4) * cin;
}

long ck_winograd_scratch_count(int m, int cin, int cout, int block) {
    const long aa = (long)(m + 2) * (m + 2);
    const long forward = aa * ((cin + round_up(cout, 4)) * block + 32);
    const long input_gradient = aa * ((cout + round_up(cin, 4)) * block + 32);
    const long weights = aa * ((cin + cout) * block + 32) + aa * cout * cin;
    long most = forward > input_gradient ? forward : input_gradient;
    return most > weights ? most : weights;
}

void ck_winograd_transform_weights(int m, const float *w, int cout, int cin, int transpose_flip, float *u) {
    // u[e][co-block][ci][4] = (G w Gᵀ)[e] for the 4 output channels of the block (0 past the end).
    const int a = m + 2, aa = a * a;
    const int outs = transpose_flip ? cin : cout, ins = transpose_flip ? cout : cin;
    const int outs4 = round_up(outs, 4);
    memset(u, 0, sizeof(float) * (size_t)aa * outs4 * ins);
    for (int o = 0; o < outs; o++) {
        for (int i = 0; i < ins; i++) {
            double k[3][3];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    k[ky][kx] = transpose_flip ? w[((long)i * cin + o) * 9 + (2 - ky) * 3 + (2 - kx)]
                                               : w[((long)o * cin + i) * 9 + ky * 3 + kx];
            for (int y = 0; y < a; y++) {
                double row[3];
                for (int kx = 0; kx < 3; kx++) {
                    row[kx] = 0;
                    for (int ky = 0; ky < 3; ky++) row[kx] += g_entry(m, y, ky) * k[ky][kx];
                }
                for (int x = 0; x < a; x++) {
                    double value = 0;
                    for (int kx = 0; kx < 3; kx++) value += row[kx] * g_entry(m, x, kx);
                    u[((long)(y * a + x) * outs4 + (o / 4) * 4) * ins + i * 4 + o % 4] = (float)value;
                }
            }
        }
    }
}

void ck_winograd_forward(int isa, int m, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                         const float *u, const float *bias, int accumulate, double *channel_sums, float *scratch,
                         int block) {
    if (isa == CK_ISA_AVX2)
        forward_avx2(m, in, cin, out, cout, images, hout, wout, u, bias, accumulate, channel_sums, scratch, block);
    else
        forward_portable(m, in, cin, out, cout, images, hout, wout, u, bias, accumulate, channel_sums, scratch, block);
}

void ck_winograd_backward_weights(int isa, int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout,
                                  int wout, float *dw, float *scratch, int block) {
    const int a = m + 2, aa = a * a;
    float *du = scratch + (long)aa * ((cin + cout) * block + 32);
    memset(du, 0, sizeof(float) * (size_t)aa * cout * cin);
    if (isa == CK_ISA_AVX2) weights_avx2(m, dy, cout, in, cin, images, hout, wout, du, scratch, block);
    else weights_portable(m, dy, cout, in, cin, images, hout, wout, du, scratch, block);
    // dw[co][ci] += Gᵀ dU[co][ci] G, in double.
    for (int co = 0; co < cout; co++) {
        for (int ci = 0; ci < cin; ci++) {
            double t[3][8];
            for (int ky = 0; ky < 3; ky++)
                for (int x = 0; x < a; x++) {
                    double s = 0;
                    for (int y = 0; y < a; y++) s += g_entry(m, y, ky) * du[((long)(y * a + x) * cout + co) * cin + ci];
                    t[ky][x] = s;
                }
            float *target = dw + ((long)co * cin + ci) * 9;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    double s = 0;
                    for (int x = 0; x < a; x++) s += t[ky][x] * g_entry(m, x, kx);
                    target[ky * 3 + kx] += (float)s;
                }
        }
    }
}
