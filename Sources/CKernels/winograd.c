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
// (product_tile of microkernels.h: 4 output channels × 2 vectors of 8 tiles, or × 4 vectors of
// 16 with AVX-512), then the output transform scatters M back into the output planes. The weight
// gradient's product reduces over the tiles instead, with the input channels in the vector lanes
// (V laid out [e][tile][ci]): dU[e][co][ci] += Σ_tile dM[e][co][tile] · V[e][tile][ci]
// (reduce_tile, or reduce_tile16 with 4 or 8 output channels at a time).
//
// Transforms work on 8 tiles at once, one tile per vector lane (or, for the weight gradient's
// input transform, 8 input channels of one tile): each patch row of the 8 lanes is loaded (8
// floats from the tile's corner) and transposed, so tiles may sit anywhere (across rows and
// images, whatever the plane size). Tiles that reach past the valid region (image sizes not a
// multiple of m) are copied into a zero-filled patch first. With AVX-512, where tiles 0-3 and
// 4-7 of a group each lie along one row, m apart (`tile_group.halves`: eight tiles along a row, or
// two rows of four), or at least tiles 2k and 2k + 1 (`pairs`: four rows of two on 8-wide images),
// the forward and output-gradient transforms of F(4×4) run their first pass (down the columns) on
// the image rows themselves, 16 floats wide, and split its result into the tiles' columns by
// two-source permutes (F(2×2) gathers the columns that way); F(4×4) writes each half's output
// row by two permutes, or each pair's by one 8-float store. Every path computes each element by the same expressions
// in the same order (columns first, then rows).
//
// One body written with clang vector extensions is compiled three times (FOR_EACH_VARIANT,
// internal.h): portable, AVX2+FMA (contracted multiply-adds) and AVX-512F, which gives the AVX2
// variant's bits. The weight-side transforms (once per step or pass) have no AVX-512 variant.

#include "microkernels.h"

// Tiles per block: at most this many (`valid_block`).
#define CK_WINOGRAD_MAX_BLOCK 256

// ---- 1-D transforms, inputs and outputs with strides ----------------------------------------------
// Each for vectors of 8 (one tile per lane) and of 16 (`_16`: sixteen floats of an image row, the
// first pass of the AVX-512 paths below), from one body: an element is the same expression in
// either width, so both give the same bits.

#define TRANSFORMS_1D(T, W)                                                                          \
    /* Bᵀ d, F(2,3): 4 → 4. */                                                                       \
    INLINE void input_1d_2##W(const T *d, int s, T *o, int t) {                                      \
        o[0] = d[0] - d[2 * s];                                                                      \
        o[t] = d[s] + d[2 * s];                                                                      \
        o[2 * t] = d[2 * s] - d[s];                                                                  \
        o[3 * t] = d[s] - d[3 * s];                                                                  \
    }                                                                                                \
    /* Bᵀ d, F(4,3): 6 → 6 (points 0, ±1, ±2, ∞). */                                                 \
    INLINE void input_1d_4##W(const T *d, int s, T *o, int t) {                                      \
        const T d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s];                              \
        const T a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);           \
        o[0] = 4.0f * d[0] - 5.0f * d2 + d4;                                                         \
        o[t] = a + b;                                                                                \
        o[2 * t] = a - b;                                                                            \
        o[3 * t] = c + e;                                                                            \
        o[4 * t] = c - e;                                                                            \
        o[5 * t] = 4.0f * d1 - 5.0f * d3 + d[5 * s];                                                 \
    }                                                                                                \
    /* Aᵀ m, F(2,3): 4 → 2. */                                                                       \
    INLINE void output_1d_2##W(const T *m, int s, T *o, int t) {                                     \
        o[0] = m[0] + m[s] + m[2 * s];                                                               \
        o[t] = m[s] - m[2 * s] - m[3 * s];                                                           \
    }                                                                                                \
    /* Aᵀ m, F(4,3): 6 → 4. */                                                                       \
    INLINE void output_1d_4##W(const T *m, int s, T *o, int t) {                                     \
        const T a = m[s] + m[2 * s], b = m[s] - m[2 * s], c = m[3 * s] + m[4 * s],                   \
                d = m[3 * s] - m[4 * s];                                                             \
        o[0] = m[0] + a + c;                                                                         \
        o[t] = b + 2.0f * d;                                                                         \
        o[2 * t] = a + 4.0f * c;                                                                     \
        o[3 * t] = b + 8.0f * d + m[5 * s];                                                          \
    }                                                                                                \
    /* A g (the transpose of the output transform), F(2,3): 2 → 4. */                                \
    INLINE void gradient_1d_2##W(const T *g, int s, T *o, int t) {                                   \
        o[0] = g[0];                                                                                 \
        o[t] = g[0] + g[s];                                                                          \
        o[2 * t] = g[0] - g[s];                                                                      \
        o[3 * t] = -g[s];                                                                            \
    }                                                                                                \
    /* A g, F(4,3): 4 → 6. */                                                                        \
    INLINE void gradient_1d_4##W(const T *g, int s, T *o, int t) {                                   \
        const T g0 = g[0], g1 = g[s], g2 = g[2 * s], g3 = g[3 * s];                                  \
        const T e = g0 + g2, f = g1 + g3, e2 = g0 + 4.0f * g2, f2 = 2.0f * g1 + 8.0f * g3;           \
        o[0] = g0;                                                                                   \
        o[t] = e + f;                                                                                \
        o[2 * t] = e - f;                                                                            \
        o[3 * t] = e2 + f2;                                                                          \
        o[4 * t] = e2 - f2;                                                                          \
        o[5 * t] = g3;                                                                               \
    }

TRANSFORMS_1D(v8, )
TRANSFORMS_1D(v16, _16)

// The input (or, with `gradient`, output-gradient) transform along one dimension: `height` → α.
INLINE void tile_1d(const int m, const int gradient, const v8 *d, int s, v8 *o, int t) {
    if (gradient && m == 4) gradient_1d_4(d, s, o, t);
    else if (gradient) gradient_1d_2(d, s, o, t);
    else if (m == 4) input_1d_4(d, s, o, t);
    else input_1d_2(d, s, o, t);
}

// The same for F(4×4), 16 lanes.
INLINE void tile_1d_16(const int gradient, const v16 *d, int s, v16 *o, int t) {
    if (gradient) gradient_1d_4_16(d, s, o, t);
    else input_1d_4_16(d, s, o, t);
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
    int run;          // full, and lane l's corner is lane 0's + l·m (tiles along one row)
    int halves;       // full, and tiles 0-3 and 4-7 each along a row, m apart (implied by run)
    int pairs;        // full, and tiles 2k and 2k + 1 along a row, m apart (implied by halves)
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
    g->run = g->full && g->in[7] - g->in[0] == 7 * m && g->out[7] - g->out[0] == 7 * m;
    g->halves = g->full && g->in[3] - g->in[0] == 3 * m && g->in[7] - g->in[4] == 3 * m &&
                g->out[3] - g->out[0] == 3 * m && g->out[7] - g->out[4] == 3 * m;
    g->pairs = g->full;
    for (int k = 0; k < 8; k += 2) g->pairs &= g->in[k + 1] - g->in[k] == m && g->out[k + 1] - g->out[k] == m;
}

// Copies `height` rows of `width` values from `base` (rows `row` apart) into the rows of an 8 × 8
// patch, zero elsewhere.
INLINE void copy_patch(float patch[8][8], const float *base, long row, int height, int width) {
    memset(patch, 0, sizeof(float) * 64);
    for (int r = 0; r < height; r++)
        for (int k = 0; k < width; k++) patch[r][k] = base[r * row + k];
}

// The rows of the 8 lanes' patches of one channel (corners at `corners[l]`, tiles `step` = m
// apart), transposed: cols[r*8 + k] lane l = patch element (r, k) of lane l, for r < height.
// `vr[l]` × `vc[l]` is how much of a non-full lane's patch lies inside the view.
INLINE void gather_rows(const int wide, const tile_group *g, const long *corners, const int step, const float *plane,
                        long row, int height, const int vr[8], const int vc[8], float patches[8][8][8], v8 *cols) {
    if (wide && g->halves && step == 2) {
        // Tiles 0-3 and 4-7 each along a row, 2 apart (8-wide images under F(2×2)): element k of
        // every tile is every other float from k, so each column comes out of 16-float loads by one
        // two-source permute (4 per row) instead of an 8 × 8 transpose (24 shuffles per row on the
        // one shuffle port). F(4×4) has a path of its own (transform_tile).
        for (int r = 0; r < height; r++) {
            const v16 lo = load16(plane + corners[0] + r * row), hi = load16(plane + corners[4] + r * row);
            v8 *c = cols + r * 8;
            c[0] = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 16, 18, 20, 22);
            c[1] = __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 17, 19, 21, 23);
            c[2] = __builtin_shufflevector(lo, hi, 2, 4, 6, 8, 18, 20, 22, 24);
            c[3] = __builtin_shufflevector(lo, hi, 3, 5, 7, 9, 19, 21, 23, 25);
        }
        return;
    }
    for (int r = 0; r < height; r++) {
        v8 rows[8];
        if (g->run) {
            const float *base = plane + corners[0] + r * row;
            for (int l = 0; l < 8; l++) rows[l] = load8(base + l * step);
        } else if (g->full) {
            for (int l = 0; l < 8; l++) rows[l] = load8(plane + corners[l] + r * row);
        } else {
            if (r == 0) {
                for (int l = 0; l < 8; l++) {
                    if (vr[l] >= height && vc[l] >= 8) continue;   // rows read in place below
                    copy_patch(patches[l], plane + corners[l], row, min_int(vr[l], height), min_int(vc[l], 8));
                }
            }
            for (int l = 0; l < 8; l++)
                rows[l] = (vr[l] >= height && vc[l] >= 8) ? load8(plane + corners[l] + r * row) : load8(patches[l][r]);
        }
        transpose8(rows, cols + r * 8);
    }
}

// 16 floats of a patch row of four tiles, tile t's element k in lane 4t + k: from tile 0's corner
// where the four lie along a row (`halves`), else 8 from tile 0's and 8 from tile 2's (pairs).
INLINE v16 four_tiles(const int halves, const float *plane, const long *corners, long offset) {
    if (halves) return load16(plane + corners[0] + offset);
    return __builtin_shufflevector(load8(plane + corners[0] + offset), load8(plane + corners[2] + offset), 0, 1, 2, 3, 4,
                                   5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

// transform_tile's path for F(4×4) where the group's tiles lie along rows in pairs, 4 apart (tiles
// 2k and 2k + 1; `pairs`): eight along one row of a 32-wide image, two rows of four of a 16-wide
// one (both `halves`), or four rows of two of 8-wide ones. The first pass combines whole rows,
// 16 floats for four tiles (four_tiles; and from 4 floats further, for the input's columns 4 and
// 5, which pass the 8th float in the second tile of a pair): 16 lanes, no gathering; t[part][i]
// is its row i. (Gathering the patch's columns first and running both passes 8 lanes wide took
// 1.6 times as long: twice the arithmetic of the first pass, and more values than registers.)
INLINE void rows_first_pass(const int gradient, const int halves, const long *corners, const float *plane, long row,
                              v16 t[4][6]) {
    v16 x[4][6];
    for (int r = 0; r < (gradient ? 4 : 6); r++) {
        x[0][r] = four_tiles(halves, plane, corners, r * row);
        x[1][r] = four_tiles(halves, plane, corners + 4, r * row);
        if (!gradient) {
            x[2][r] = four_tiles(halves, plane, corners, r * row + 4);
            x[3][r] = four_tiles(halves, plane, corners + 4, r * row + 4);
        }
    }
    for (int p = 0; p < (gradient ? 2 : 4); p++) tile_1d_16(gradient, x[p], 1, t[p], 1);
}

// Row i of the first pass split into the 8 tiles' columns (4, or 6 for the input), one two-source
// permute each: the second pass's inputs.
INLINE void split_columns(const int gradient, v16 t[4][6], int i, v8 c[6]) {
    const v16 lo = t[0][i], hi = t[1][i];
    c[0] = __builtin_shufflevector(lo, hi, 0, 4, 8, 12, 16, 20, 24, 28);
    c[1] = __builtin_shufflevector(lo, hi, 1, 5, 9, 13, 17, 21, 25, 29);
    c[2] = __builtin_shufflevector(lo, hi, 2, 6, 10, 14, 18, 22, 26, 30);
    c[3] = __builtin_shufflevector(lo, hi, 3, 7, 11, 15, 19, 23, 27, 31);
    if (!gradient) {
        c[4] = __builtin_shufflevector(t[2][i], t[3][i], 0, 4, 8, 12, 16, 20, 24, 28);
        c[5] = __builtin_shufflevector(t[2][i], t[3][i], 1, 5, 9, 13, 17, 21, 25, 29);
    }
}

// The same for two groups with `halves` at once (g[0], g[1]; their V side by side, 16 tiles at v):
// the second pass 16 lanes wide, one 16-float store per element. (Also for groups of pairs only,
// it made the halves' pass 0.9× as fast: the choice of loads kept its rows out of registers.)
INLINE void transform_pair(const int gradient, const tile_group *g, const float *plane, long row, float *v, long stride) {
    v16 t[2][4][6];
    for (int h = 0; h < 2; h++) rows_first_pass(gradient, 1, gradient ? g[h].out : g[h].in, plane, row, t[h]);
    for (int i = 0; i < 6; i++) {
        v8 c[2][6];
        v16 c16[6], o[6];
        for (int h = 0; h < 2; h++) split_columns(gradient, t[h], i, c[h]);
        for (int k = 0; k < (gradient ? 4 : 6); k++)
            c16[k] = __builtin_shufflevector(c[0][k], c[1][k], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        tile_1d_16(gradient, c16, 1, o, 1);
        for (int j = 0; j < 6; j++) store16(v + (i * 6 + j) * stride, o[j]);
    }
}

// The α² transformed vectors (element e = i·α + j at v[e·stride]) of the 8 tiles of one channel:
// V = Bᵀ d B of the (m+2)×(m+2) input patches, or, with `gradient`, dM = A g Aᵀ of the m×m
// output-gradient tiles (whose corners are the output corners). Both passes in one order on every
// path: first down the columns (Bᵀ d, the patch's rows combined), then along the rows (· B).
INLINE void transform_tile(const int m, const int wide, const int gradient, const tile_group *g, const float *plane, long row,
                           float patches[8][8][8], float *v, long stride) {
    const int a = m + 2, height = gradient ? m : a;
    // The tiles' corners: in the input, or (gradient) in the output. (Not a copy of the group with
    // its corners swapped: the vector copy of a struct just written field by field stalled on
    // store forwarding; docs/PERFORMANCE.md, section "Where the kernel figures in the code went".)
    const long *corners = gradient ? g->out : g->in;
    if (wide && m == 4 && g->pairs) {
        v16 t[4][6];
        if (g->halves) rows_first_pass(gradient, 1, corners, plane, row, t);
        else rows_first_pass(gradient, 0, corners, plane, row, t);
        for (int i = 0; i < a; i++) {
            v8 c[6], o[6];
            split_columns(gradient, t, i, c);
            tile_1d(4, gradient, c, 1, o, 1);
            for (int j = 0; j < a; j++) store8(v + (i * a + j) * stride, o[j]);
        }
        return;
    }
    int vr[8], vc[8];
    for (int l = 0; l < 8; l++) {
        // A full tile's rows are read 8 wide in place (the lanes past the patch are ignored).
        // Otherwise only the part inside the view is real: the (hout + 2) × (wout + 2) input, or
        // the hout × wout gradient; copy_patch zeroes the rest.
        const int full = g->rows[l] == m && g->columns[l] == m, border = gradient ? 0 : 2;
        vr[l] = full ? height : (g->rows[l] > 0 ? g->rows[l] + border : 0);
        vc[l] = full ? 8 : (g->columns[l] > 0 ? g->columns[l] + border : 0);
    }
    v8 cols[64], h[48], out[36];
    gather_rows(wide, g, corners, m, plane, row, height, vr, vc, patches, cols);
    // The patch is height × height: column k → α values, then each of the α rows → α.
    for (int k = 0; k < height; k++) tile_1d(m, gradient, cols + k, 8, h + k, 8);
    for (int i = 0; i < a; i++) tile_1d(m, gradient, h + i * 8, 1, out + i * a, 1);
    for (int e = 0; e < a * a; e++) store8(v + e * stride, out[e]);
}

// Writes (or, with `accumulate`, adds) y = the m × m outputs of a full group of 8 tiles (y[i·m + j]
// lane l: row i, column j of tile l) into the output plane.
INLINE void store_group(const int m, const int wide, const tile_group *g, const v8 *y, float *plane, long row,
                        int accumulate) {
    if (wide && m == 4 && g->halves) {
        // Tiles 0-3 and 4-7 each along a row: each half's output row is 16 contiguous floats,
        // element 4l + j = y[4i + j] lane l, two permutes of the row's four vectors.
        for (int i = 0; i < 4; i++) {
            const v16 y01 = __builtin_shufflevector(y[4 * i], y[4 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                    12, 13, 14, 15);
            const v16 y23 = __builtin_shufflevector(y[4 * i + 2], y[4 * i + 3], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                    11, 12, 13, 14, 15);
            v16 first = __builtin_shufflevector(y01, y23, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
            v16 second = __builtin_shufflevector(y01, y23, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23,
                                                 31);
            float *o = plane + i * row;
            if (accumulate) {
                first += load16(o + g->out[0]);
                second += load16(o + g->out[4]);
            }
            store16(o + g->out[0], first);
            store16(o + g->out[4], second);
        }
        return;
    }
    for (int i = 0; i < m; i++) {
        float *o = plane + i * row;
        if (m == 4) {
            // 4 × 8 → 8 × 4 within the two 128-bit halves: r[k] = [tile k | tile k + 4].
            const v8 y0 = y[i * 4], y1 = y[i * 4 + 1], y2 = y[i * 4 + 2], y3 = y[i * 4 + 3];
            const v8 t0 = __builtin_shufflevector(y0, y1, 0, 8, 1, 9, 4, 12, 5, 13);
            const v8 t1 = __builtin_shufflevector(y0, y1, 2, 10, 3, 11, 6, 14, 7, 15);
            const v8 t2 = __builtin_shufflevector(y2, y3, 0, 8, 1, 9, 4, 12, 5, 13);
            const v8 t3 = __builtin_shufflevector(y2, y3, 2, 10, 3, 11, 6, 14, 7, 15);
            v8 r[4];
            r[0] = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
            r[1] = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
            r[2] = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
            r[3] = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
            if (g->pairs) {
                // Tiles 2k and 2k + 1 are 8 contiguous floats.
                for (int k = 0; k < 4; k++) {
                    const v8 first = r[(2 * k) % 4], second = r[(2 * k + 1) % 4];
                    v8 pair = k < 2 ? __builtin_shufflevector(first, second, 0, 1, 2, 3, 8, 9, 10, 11)
                                    : __builtin_shufflevector(first, second, 4, 5, 6, 7, 12, 13, 14, 15);
                    float *target = o + g->out[2 * k];
                    if (accumulate) pair += load8(target);
                    store8(target, pair);
                }
            } else {
                for (int k = 0; k < 4; k++) {
                    for (int half = 0; half < 2; half++) {
                        float *target = o + g->out[k + 4 * half];
                        v4 x = half ? __builtin_shufflevector(r[k], r[k], 4, 5, 6, 7)
                                    : __builtin_shufflevector(r[k], r[k], 0, 1, 2, 3);
                        if (accumulate) { v4 old; memcpy(&old, target, sizeof old); x += old; }
                        memcpy(target, &x, sizeof x);
                    }
                }
            }
        } else {
            // 2 × 8 → 8 × 2: lo = [t0 t1 | t4 t5], hi = [t2 t3 | t6 t7].
            const v8 lo = __builtin_shufflevector(y[i * 2], y[i * 2 + 1], 0, 8, 1, 9, 4, 12, 5, 13);
            const v8 hi = __builtin_shufflevector(y[i * 2], y[i * 2 + 1], 2, 10, 3, 11, 6, 14, 7, 15);
            if (g->run) {
                float *base = o + g->out[0];
                v8 first = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11);
                v8 second = __builtin_shufflevector(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15);
                if (accumulate) { first += load8(base); second += load8(base + 8); }
                store8(base, first);
                store8(base + 8, second);
            } else {
                for (int l = 0; l < 8; l++) {
                    const v8 source = (l & 2) ? hi : lo;
                    const int lane = (l & 1) * 2 + (l & 4);
                    v2 x = {source[lane], source[lane + 1]};
                    float *target = o + g->out[l];
                    if (accumulate) { v2 old; memcpy(&old, target, sizeof old); x += old; }
                    memcpy(target, &x, sizeof x);
                }
            }
        }
    }
}

// Y = Aᵀ M A of the 8 tiles of one output channel (M at mp[e·stride]), + bias, written (or added)
// to the output plane; adds the written values and their squares into *sum, *square lane by lane
// (a full group, only without `accumulate`), or into *tail_sum, *tail_square one by one (the
// valid part of a group with partial tiles; the caller uses them only without `accumulate`).
INLINE void output_tile(const int m, const int wide, const tile_group *g, const float *mp, long stride, float *plane,
                        long row, float bias, int accumulate, v8 *sum, v8 *square, float *tail_sum,
                        float *tail_square) {
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
        store_group(m, wide, g, y, plane, row, accumulate);
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

// The same for two full groups of F(4×4) tiles at once (g[0], g[1]: their M side by side, 16
// tiles from mp), 16 lanes wide: each value is the same expression as in output_tile, the
// statistics go lane by lane into *sum, *square (16 lanes).
INLINE void output_pair(const int wide, const tile_group *g, const float *mp, long stride, float *plane, long row,
                        float bias, int accumulate, v16 *sum, v16 *square) {
    v16 in[36], t[24], y[16];
    for (int e = 0; e < 36; e++) in[e] = load16(mp + e * stride);
    for (int c = 0; c < 6; c++) output_1d_4_16(in + c, 6, t + c, 6);
    for (int i = 0; i < 4; i++) output_1d_4_16(t + i * 6, 1, y + i * 4, 1);
    const v16 b = splat16(bias);
    for (int i = 0; i < 16; i++) y[i] += b;
    if (!accumulate) {
        for (int i = 0; i < 16; i++) {
            *sum += y[i];
            *square += y[i] * y[i];
        }
    }
    if (wide && g[0].halves && g[1].halves) {
        // Four half-groups of four tiles, each output row 16 contiguous floats (element 4l + j =
        // y[4i + j] lane 4q + l for quarter q): the rows' four vectors interleaved pairwise, then
        // the quarters picked, eight two-source permutes per row.
        for (int i = 0; i < 4; i++) {
            const v16 y0 = y[4 * i], y1 = y[4 * i + 1], y2 = y[4 * i + 2], y3 = y[4 * i + 3];
            const v16 p01 = __builtin_shufflevector(y0, y1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            const v16 q01 = __builtin_shufflevector(y0, y1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            const v16 p23 = __builtin_shufflevector(y2, y3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            const v16 q23 = __builtin_shufflevector(y2, y3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            v16 quarter[4];
            quarter[0] = __builtin_shufflevector(p01, p23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
            quarter[1] = __builtin_shufflevector(p01, p23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
            quarter[2] = __builtin_shufflevector(q01, q23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
            quarter[3] = __builtin_shufflevector(q01, q23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
            float *o = plane + i * row;
            for (int q = 0; q < 4; q++) {
                float *target = o + g[q / 2].out[(q % 2) * 4];
                if (accumulate) quarter[q] += load16(target);
                store16(target, quarter[q]);
            }
        }
        return;
    }
    for (int half = 0; half < 2; half++) {
        v8 part[16];
        for (int i = 0; i < 16; i++)
            part[i] = half ? __builtin_shufflevector(y[i], y[i], 8, 9, 10, 11, 12, 13, 14, 15)
                           : __builtin_shufflevector(y[i], y[i], 0, 1, 2, 3, 4, 5, 6, 7);
        store_group(4, wide, &g[half], part, plane, row, accumulate);
    }
}

// ---- Bodies ---------------------------------------------------------------------------------------

INLINE void forward_body(const int m, const int wide, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
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
    tile_group layout[CK_WINOGRAD_MAX_BLOCK / 8];   // where the block's groups of 8 tiles sit
    for (long first = 0; first < tiles; first += block) {
        const int count = (int)(tiles - first < block ? tiles - first : block);
        const int groups = (count + 7) / 8;
        for (int gi = 0; gi < groups; gi++)
            group_setup(&layout[gi], first + gi * 8, tiles, m, tiles_x, per_image, hout, wout, in, out);
        for (int gi = 0; gi < groups;) {
            // Two groups at a time where both have halves (AVX-512, F(4×4)): the same values.
            const int pair = wide && m == 4 && gi + 1 < groups && layout[gi].halves && layout[gi + 1].halves;
            for (int ci = 0; ci < cin; ci++) {
                const float *plane = in.data + ci * in.plane;
                float *target = v + (long)ci * block + gi * 8;
                if (pair) transform_pair(0, &layout[gi], plane, in.row, target, vstride);
                else transform_tile(m, wide, 0, &layout[gi], plane, in.row, patches, target, vstride);
            }
            gi += pair ? 2 : 1;
        }
        for (int e = 0; e < aa; e++) {
            const float *ve = v + e * vstride;
            for (int cb = 0; cb < cout4; cb += 4) {
                const float *ue = u + ((long)e * cout4 + cb) * cin;
                float *me = mp + e * mstride + (long)cb * block;
                int gi = 0;
                if (wide) {
                    for (; gi + 8 <= groups; gi += 8) product_tile16(ue, ve + gi * 8, block, cin, 4, me + gi * 8, block, 0);
                    for (; gi + 2 <= groups; gi += 2) product_tile16(ue, ve + gi * 8, block, cin, 1, me + gi * 8, block, 0);
                }
                for (; gi + 2 <= groups; gi += 2) product_tile(ue, ve + gi * 8, block, cin, 2, me + gi * 8, block, 0);
                if (gi < groups) product_tile(ue, ve + gi * 8, block, cin, 1, me + gi * 8, block, 0);
            }
        }
        for (int co = 0; co < cout; co++) {
            v8 sum = splat(0), square = splat(0);
            v16 sum16 = splat16(0), square16 = splat16(0);
            float tail_sum = 0, tail_square = 0;
            const float *mc = mp + (long)co * block;
            float *plane = out.data + co * out.plane;
            const float b = bias ? bias[co] : 0.0f;
            for (int gi = 0; gi < groups;) {
                // Full groups of F(4×4) tiles two at a time (the same pairs in every variant: the
                // statistics' order of summation depends on them).
                if (m == 4 && gi + 1 < groups && layout[gi].full && layout[gi + 1].full) {
                    output_pair(wide, &layout[gi], mc + gi * 8, mstride, plane, out.row, b, accumulate, &sum16, &square16);
                    gi += 2;
                } else {
                    output_tile(m, wide, &layout[gi], mc + gi * 8, mstride, plane, out.row, b, accumulate, &sum, &square,
                                &tail_sum, &tail_square);
                    gi += 1;
                }
            }
            if (sums) {
                const v8 sum8 = __builtin_shufflevector(sum16, sum16, 0, 1, 2, 3, 4, 5, 6, 7) +
                                __builtin_shufflevector(sum16, sum16, 8, 9, 10, 11, 12, 13, 14, 15);
                const v8 square8 = __builtin_shufflevector(square16, square16, 0, 1, 2, 3, 4, 5, 6, 7) +
                                   __builtin_shufflevector(square16, square16, 8, 9, 10, 11, 12, 13, 14, 15);
                sums[co] += (double)HSUM8(sum) + (double)HSUM8(sum8) + tail_sum;
                sums[cout + co] += (double)HSUM8(square) + (double)HSUM8(square8) + tail_square;
            }
        }
    }
}

// The 8 lanes of a group are 8 input channels of one tile (`channel_group`), for the weight
// gradient's transformed inputs V[e][tile][ci] (channels contiguous).
INLINE void channel_group(tile_group *g, long p, int first_channel, int cin, int m, int tiles_x, int per_image,
                          int hout, int wout, ck_view in) {
    const long n = p / per_image;
    const int t = (int)(p % per_image), ty = t / tiles_x, tx = t % tiles_x;
    const long corner = n * in.image + (long)ty * m * in.row + (long)tx * m;
    const int rows = min_int(m, hout - ty * m), columns = min_int(m, wout - tx * m);
    g->full = rows == m && columns == m;
    g->run = 0;
    g->halves = 0;
    g->pairs = 0;
    g->lanes = 0;
    for (int l = 0; l < 8; l++) {
        const int c = first_channel + l;
        g->out[l] = 0;
        if (c < cin) {
            g->lanes++;
            g->in[l] = corner + c * in.plane;
            g->rows[l] = rows;
            g->columns[l] = columns;
        } else {
            g->in[l] = 0;
            g->rows[l] = g->columns[l] = 0;
            g->full = 0;
        }
    }
}

// The same tile's next 8 channels (from `first_channel`).
INLINE void next_channels(tile_group *g, int first_channel, int cin, long plane) {
    for (int l = 0; l < 8; l++) {
        const int c = first_channel + l;
        if (c < cin) {
            g->in[l] += 8 * plane;
        } else {
            g->in[l] = 0;
            g->rows[l] = g->columns[l] = 0;
            g->full = 0;
        }
    }
}

// V = Bᵀ d B (F(4×4)) of one full tile for 16 input channels at once (AVX-512; `corner`: the
// tile's corner in the first channel's plane), channels in the lanes: V[e] at v[e·stride], 16
// channels contiguous. Rows of channels c and c + 8 share a vector, so one 8 × 8 transpose of
// each half serves two groups of 8 channels; the same values as transform_tile on each group.
INLINE void transform_channels16(const float *corner, long plane, long row, float *v, long stride) {
    v16 cols[6][8], h[6][6];
    for (int r = 0; r < 6; r++) {
        v16 rows[8];
        for (int l = 0; l < 8; l++) {
            const float *p = corner + l * plane + r * row;
            rows[l] = __builtin_shufflevector(load8(p), load8(p + 8 * plane), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                              13, 14, 15);
        }
        transpose8x2(rows, cols[r]);
    }
    for (int k = 0; k < 6; k++) input_1d_4_16(&cols[0][k], 8, &h[0][k], 6);
    for (int i = 0; i < 6; i++) {
        v16 out[6];
        input_1d_4_16(h[i], 1, out, 1);
        for (int j = 0; j < 6; j++) store16(v + (i * 6 + j) * stride, out[j]);
    }
}

// du[e][co4][cin8] (zeroed by the caller) += Σ_tiles dM[e][co][tile] · V[e][tile][ci].
INLINE void weights_body(const int m, const int wide, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                         float *du, float *scratch, int block) {
    const int a = m + 2, aa = a * a, cin8 = round_up(cin, 8), cout4 = round_up(cout, 4);
    const int tiles_x = (wout + m - 1) / m, per_image = tiles_x * ((hout + m - 1) / m);
    const long tiles = (long)images * per_image;
    // V[e][tile][cin8] and dM[e][co4][block], planes padded as in forward_body.
    const long vstride = (long)cin8 * block + 16, dstride = (long)cout4 * block + 16;
    float *v = scratch;
    float *d = scratch + aa * vstride;
    float patches[8][8][8];
    for (long first = 0; first < tiles; first += block) {
        const int count = (int)(tiles - first < block ? tiles - first : block);
        const int groups = (count + 7) / 8;
        for (int k = 0; k < count; k++) {
            tile_group g;
            channel_group(&g, first + k, 0, cin, m, tiles_x, per_image, hout, wout, in);
            int c = 0;
            if (wide && m == 4 && g.rows[0] == 4 && g.columns[0] == 4) {
                for (; c + 16 <= cin; c += 16)
                    transform_channels16(in.data + g.in[0] + (long)c * in.plane, in.plane, in.row,
                                         v + (long)k * cin8 + c, vstride);
                if (c > 0 && c < cin8) channel_group(&g, first + k, c, cin, m, tiles_x, per_image, hout, wout, in);
            }
            for (const int start = c; c < cin8; c += 8) {
                if (c > start) next_channels(&g, c, cin, in.plane);
                transform_tile(m, wide, 0, &g, in.data, in.row, patches, v + (long)k * cin8 + c, vstride);
            }
        }
        for (int gi = 0; gi < groups; gi++) {
            tile_group g;
            group_setup(&g, first + gi * 8, tiles, m, tiles_x, per_image, hout, wout, in, dy);
            for (int co = 0; co < cout; co++)
                transform_tile(m, wide, 1, &g, dy.data + co * dy.plane, dy.row, patches, d + (long)co * block + gi * 8,
                              dstride);
        }
        for (int e = 0; e < aa; e++) {
            const float *ve = v + e * vstride, *de = d + e * dstride;
            float *ue = du + (long)e * cout4 * cin8;
            // With AVX-512, the 16 input channels after the blocks of 32 (all of them in a
            // 16-channel layer) go eight output channels at a time (below).
            const int tail16 = wide && cin8 % 32 == 16, split = tail16 ? cin8 - 16 : cin8;
            for (int cb = 0; cb < cout; cb += 4) {
                // Rows of dM past cout are never written: only blocks of 4 valid rows are read
                // unless cout is not a multiple of 4, then the padding rows hold zeros (below).
                int ib = 0;
                if (wide) {
                    for (; ib + 64 <= split; ib += 64)
                        reduce_tile16(de + (long)cb * block, block, ve + ib, cin8, count, 4, 4,
                                      ue + (long)cb * cin8 + ib, cin8);
                    for (; ib + 32 <= split; ib += 32)
                        reduce_tile16(de + (long)cb * block, block, ve + ib, cin8, count, 2, 4,
                                      ue + (long)cb * cin8 + ib, cin8);
                }
                for (; ib + 16 <= split; ib += 16)
                    reduce_tile(de + (long)cb * block, block, ve + ib, cin8, count, 2, ue + (long)cb * cin8 + ib, cin8);
                if (ib < split)
                    reduce_tile(de + (long)cb * block, block, ve + ib, cin8, count, 1, ue + (long)cb * cin8 + ib, cin8);
            }
            if (tail16)
                for (int cb = 0; cb < cout; cb += 8) {
                    float *target = ue + (long)cb * cin8 + split;
                    if (cb + 8 <= cout4)
                        reduce_tile16(de + (long)cb * block, block, ve + split, cin8, count, 1, 8, target, cin8);
                    else
                        reduce_tile16(de + (long)cb * block, block, ve + split, cin8, count, 1, 4, target, cin8);
                }
        }
    }
}

#define WINOGRAD_VARIANTS(name, wide, attributes)                                                             \
    attributes static void forward_##name(int m, ck_view in, int cin, ck_view out, int cout, int images, int hout,    \
                                          int wout, const float *u, const float *bias, int accumulate, double *sums, \
                                          float *scratch, int block) {                                               \
        if (m == 4)                                                                                                  \
            forward_body(4, wide, in, cin, out, cout, images, hout, wout, u, bias, accumulate, sums, scratch, block); \
        else                                                                                                         \
            forward_body(2, wide, in, cin, out, cout, images, hout, wout, u, bias, accumulate, sums, scratch, block); \
    }                                                                                                                \
    attributes static void weights_##name(int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout,    \
                                          int wout, float *du, float *scratch, int block) {                          \
        if (m == 4) weights_body(4, wide, dy, cout, in, cin, images, hout, wout, du, scratch, block);                \
        else weights_body(2, wide, dy, cout, in, cin, images, hout, wout, du, scratch, block);                       \
    }

FOR_EACH_VARIANT(WINOGRAD_VARIANTS)

// ---- Weight-side transforms (once per step, and once per weight-gradient pass) ------------------

// G g, F(2,3): 3 → 4.
INLINE void weight_1d_2(const v8 *g, int s, v8 *o, int t) {
    const v8 even = 0.5f * (g[0] + g[2 * s]), odd = 0.5f * g[s];
    o[0] = g[0];
    o[t] = even + odd;
    o[2 * t] = even - odd;
    o[3 * t] = g[2 * s];
}

// G g, F(4,3): 3 → 6.
INLINE void weight_1d_4(const v8 *g, int s, v8 *o, int t) {
    const v8 g0 = g[0], g1 = g[s], g2 = g[2 * s];
    const v8 a = (-1.0f / 6) * (g0 + g2), b = (-1.0f / 6) * g1;
    const v8 c = (1.0f / 24) * g0 + (1.0f / 6) * g2, d = (1.0f / 12) * g1;
    o[0] = 0.25f * g0;
    o[t] = a + b;
    o[2 * t] = a - b;
    o[3 * t] = c + d;
    o[4 * t] = c - d;
    o[5 * t] = g2;
}

// Gᵀ u, F(2,3): 4 → 3.
INLINE void final_1d_2(const v8 *u, int s, v8 *o, int t) {
    const v8 sum = 0.5f * (u[s] + u[2 * s]);
    o[0] = u[0] + sum;
    o[t] = 0.5f * (u[s] - u[2 * s]);
    o[2 * t] = sum + u[3 * s];
}

// Gᵀ u, F(4,3): 6 → 3.
INLINE void final_1d_4(const v8 *u, int s, v8 *o, int t) {
    const v8 p12 = u[s] + u[2 * s], m12 = u[2 * s] - u[s], p34 = u[3 * s] + u[4 * s], m34 = u[3 * s] - u[4 * s];
    o[0] = 0.25f * u[0] - (1.0f / 6) * p12 + (1.0f / 24) * p34;
    o[t] = (1.0f / 6) * m12 + (1.0f / 12) * m34;
    o[2 * t] = (1.0f / 6) * (p34 - p12) + u[5 * s];
}

// (G w Gᵀ)[e] for output channel o and input channels i0 ..< i0 + 8 (vector lanes; 0 past `ins`).
INLINE void transform_weight_lanes(const int m, const float *w, int cin, int flip, int ins, int o, int i0,
                                   v8 out[36]) {
    const int a = m + 2;
    float taps[9][8];
    for (int l = 0; l < 8; l++) {
        const int i = i0 + l;
        for (int t = 0; t < 9; t++)
            taps[t][l] = i >= ins ? 0.0f : flip ? w[((long)i * cin + o) * 9 + 8 - t] : w[((long)o * cin + i) * 9 + t];
    }
    v8 k[9], rows[18];
    for (int t = 0; t < 9; t++) k[t] = load8(taps[t]);
    for (int x = 0; x < 3; x++) {   // columns: rows[y·3 + x] = (G k)[y][x]
        if (m == 4) weight_1d_4(k + x, 3, rows + x, 3);
        else weight_1d_2(k + x, 3, rows + x, 3);
    }
    for (int y = 0; y < a; y++) {
        if (m == 4) weight_1d_4(rows + y * 3, 1, out + y * a, 1);
        else weight_1d_2(rows + y * 3, 1, out + y * a, 1);
    }
}

// u[e][out-block][in][4] = (G w Gᵀ)[e], 8 input channels at a time (vector lanes), the 4 output
// channels of a block together, so that element e of 8 input channels is 32 consecutive floats,
// written as four vectors ([i][o] from the four channels' [o][i] by two rounds of interleaving),
// where one output channel at a time wrote them one float at a time, 16 bytes apart (that took
// about 2 % of a ResNet step's samples). Every entry is written: 0 for the rows past the last output channel.
// The transforms themselves are unchanged, so are the bits.
INLINE void transform_weights_body(const int m, const float *w, int cout, int cin, int flip, float *u) {
    const int a = m + 2;
    const int outs = flip ? cin : cout, ins = flip ? cout : cin;
    const long plane = (long)round_up(outs, 4) * ins;
    for (int o0 = 0; o0 < outs; o0 += 4) {
        for (int i0 = 0; i0 < ins; i0 += 8) {
            v8 out[4][36];
            for (int r = 0; r < 4; r++) {
                if (o0 + r < outs) transform_weight_lanes(m, w, cin, flip, ins, o0 + r, i0, out[r]);
                else for (int e = 0; e < a * a; e++) out[r][e] = splat(0);
            }
            float *target = u + (long)o0 * ins + (long)i0 * 4;
            for (int e = 0; e < a * a; e++) {
                float *t = target + e * plane;
                if (i0 + 8 <= ins) {
                    const v8 ab_low = __builtin_shufflevector(out[0][e], out[1][e], 0, 8, 1, 9, 2, 10, 3, 11);
                    const v8 ab_high = __builtin_shufflevector(out[0][e], out[1][e], 4, 12, 5, 13, 6, 14, 7, 15);
                    const v8 cd_low = __builtin_shufflevector(out[2][e], out[3][e], 0, 8, 1, 9, 2, 10, 3, 11);
                    const v8 cd_high = __builtin_shufflevector(out[2][e], out[3][e], 4, 12, 5, 13, 6, 14, 7, 15);
                    store8(t, __builtin_shufflevector(ab_low, cd_low, 0, 1, 8, 9, 2, 3, 10, 11));
                    store8(t + 8, __builtin_shufflevector(ab_low, cd_low, 4, 5, 12, 13, 6, 7, 14, 15));
                    store8(t + 16, __builtin_shufflevector(ab_high, cd_high, 0, 1, 8, 9, 2, 3, 10, 11));
                    store8(t + 24, __builtin_shufflevector(ab_high, cd_high, 4, 5, 12, 13, 6, 7, 14, 15));
                } else {
                    for (int l = 0; i0 + l < ins; l++)
                        for (int r = 0; r < 4; r++) t[l * 4 + r] = out[r][e][l];
                }
            }
        }
    }
}

// dw[co][ci] += Gᵀ dU[co][ci] G, 8 input channels at a time.
INLINE void finish_weights_body(const int m, const float *du, int cout, int cin, float *dw) {
    const int a = m + 2, cin8 = round_up(cin, 8);
    const long plane = (long)round_up(cout, 4) * cin8;
    for (int co = 0; co < cout; co++) {
        for (int c0 = 0; c0 < cin; c0 += 8) {
            v8 d[36], t[18], r[9];
            for (int e = 0; e < a * a; e++) d[e] = load8(du + e * plane + (long)co * cin8 + c0);
            for (int x = 0; x < a; x++) {   // t[ky·α + x] = (Gᵀ d)[ky][x]
                if (m == 4) final_1d_4(d + x, 6, t + x, 6);
                else final_1d_2(d + x, 4, t + x, 4);
            }
            for (int ky = 0; ky < 3; ky++) {
                if (m == 4) final_1d_4(t + ky * 6, 1, r + ky * 3, 1);
                else final_1d_2(t + ky * 4, 1, r + ky * 3, 1);
            }
            for (int l = 0; l < 8 && c0 + l < cin; l++) {
                float *target = dw + ((long)co * cin + c0 + l) * 9;
                for (int k = 0; k < 9; k++) target[k] += r[k][l];
            }
        }
    }
}

// The weight-side transforms in two variants (no products: nothing for AVX-512 to widen).
#define WEIGHT_TRANSFORM_VARIANTS(name, attributes)                                                           \
    attributes static void transform_weights_##name(int m, const float *w, int cout, int cin, int flip,       \
                                                    float *u) {                                               \
        if (m == 4) transform_weights_body(4, w, cout, cin, flip, u);                                         \
        else transform_weights_body(2, w, cout, cin, flip, u);                                                \
    }                                                                                                         \
    attributes static void finish_weights_##name(int m, const float *du, int cout, int cin, float *dw) {      \
        if (m == 4) finish_weights_body(4, du, cout, cin, dw);                                                \
        else finish_weights_body(2, du, cout, cin, dw);                                                       \
    }

WEIGHT_TRANSFORM_VARIANTS(portable, )
WEIGHT_TRANSFORM_VARIANTS(avx2, AVX2)

// ---- Public entry points ------------------------------------------------------------------------

long ck_winograd_weights_count(int m, int cout, int cin) {
    return (long)(m + 2) * (m + 2) * round_up(cout, 4) * cin;
}

long ck_winograd_scratch_count(int m, int cin, int cout, int block) {
    block = valid_block(block, CK_WINOGRAD_MAX_BLOCK);
    const long aa = (long)(m + 2) * (m + 2);
    const long forward = aa * ((cin + round_up(cout, 4)) * block + 32);
    const long input_gradient = aa * ((cout + round_up(cin, 4)) * block + 32);
    const long weights = aa * ((round_up(cin, 8) + round_up(cout, 4)) * block + 32)
                         + aa * round_up(cout, 4) * round_up(cin, 8);
    long most = forward > input_gradient ? forward : input_gradient;
    return most > weights ? most : weights;
}

void ck_winograd_transform_weights(int m, const float *w, int cout, int cin, int transpose_flip, float *u) {
    // Every entry is written (0 for the output channels past the last block of 4).
    CALL_FOR_ISA(ck_best_isa(), transform_weights, m, w, cout, cin, transpose_flip, u);
}

void ck_winograd_forward(int isa, int m, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                         const float *u, const float *bias, int accumulate, double *channel_sums, float *scratch,
                         int block) {
    block = valid_block(block, CK_WINOGRAD_MAX_BLOCK);
    CALL_FOR_ISA_WIDE(isa, forward, m, in, cin, out, cout, images, hout, wout, u, bias, accumulate, channel_sums,
                      scratch, block);
}

void ck_winograd_backward_weights(int isa, int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout,
                                  int wout, float *dw, float *scratch, int block) {
    block = valid_block(block, CK_WINOGRAD_MAX_BLOCK);
    const int a = m + 2, aa = a * a, cin8 = round_up(cin, 8), cout4 = round_up(cout, 4);
    float *du = scratch + (long)aa * ((cin8 + cout4) * block + 32);
    memset(du, 0, sizeof(float) * (size_t)aa * cout4 * cin8);
    // dM rows cout..cout4 of every plane are read by the 4-row products: keep them zero.
    const long dstride = (long)cout4 * block + 16;
    for (int e = 0; e < aa; e++)
        memset(scratch + aa * ((long)cin8 * block + 16) + e * dstride + (long)cout * block, 0,
               sizeof(float) * (size_t)(cout4 - cout) * block);
    CALL_FOR_ISA_WIDE(isa, weights, m, dy, cout, in, cin, images, hout, wout, du, scratch, block);
    CALL_FOR_ISA(isa, finish_weights, m, du, cout, cin, dw);
}
