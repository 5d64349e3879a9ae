// Direct stride-1 convolution: forward (also the gradient of the input, with packed transposed and
// flipped weights) and the weight gradient.
//
// Forward tile: 4 output channels x 2 vectors of 8 output pixels = 8 accumulators. Per tap: 2
// vector loads of input, 4 broadcasts of weights, 8 FMAs. (A 4x3 tile with 12 accumulators
// spilled a register under clang.)
//
// Weight-gradient tile: 4 output channels x 3 horizontal taps of one input channel, vectors running
// over pixels (of several images when a plane is small, so the 12 horizontal sums are amortised);
// chosen over 4 outputs x 2 inputs at one tap.
//
// What these tiles and the alternatives measured: docs/PERFORMANCE.md, section "Where the kernel
// figures in the code went".

#include "internal.h"
#include <immintrin.h>
#include <stdint.h>

int ck_best_isa(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
    }
    return cached;
}

long ck_conv_packed_count(int cout, int cin, int kh, int kw) {
    return (long)((cout + 3) / 4) * cin * kh * kw * 4;
}

void ck_conv_pack(const float *w, int cout, int cin, int kh, int kw, int transpose_flip, float *packed) {
    // Packed layout: [out-block][in][ky][kx][4 outs of the block], zero for outs past the end.
    // Reversing the row-major tap order flips the kernel in both directions.
    const int kk = kh * kw;
    const int outs = transpose_flip ? cin : cout;
    const int ins = transpose_flip ? cout : cin;
    const int blocks = (outs + 3) / 4;
    for (int b = 0; b < blocks; b++) {
        for (int i = 0; i < ins; i++) {
            for (int t = 0; t < kk; t++) {
                float *dst = packed + (((long)b * ins + i) * kk + t) * 4;
                for (int j = 0; j < 4; j++) {
                    const int o = b * 4 + j;
                    float value = 0;
                    if (o < outs) {
                        if (transpose_flip) {
                            // out channel o = ci of w, in channel i = co of w, tap flipped
                            value = w[((long)i * cin + o) * kk + (kk - 1 - t)];
                        } else {
                            value = w[((long)o * cin + i) * kk + t];
                        }
                    }
                    dst[j] = value;
                }
            }
        }
    }
}

// ---- Forward, portable -----------------------------------------------------------------------

static void conv_forward_portable(ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                                  const float *packed, int kh, int kw, const float *bias, int accumulate,
                                  double *sums) {
    const int kk = kh * kw;
    for (int n = 0; n < images; n++) {
        for (int co = 0; co < cout; co++) {
            const float *wblock = packed + (long)(co / 4) * cin * kk * 4;
            const int lane = co % 4;
            double s = 0, ss = 0;
            for (int y = 0; y < hout; y++) {
                float *o = view_row(out, n, co, y);
                for (int x = 0; x < wout; x++) {
                    float acc = 0;
                    for (int ci = 0; ci < cin; ci++) {
                        const float *p = view_row(in, n, ci, y) + x;
                        const float *wp = wblock + (long)ci * kk * 4 + lane;
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) acc += wp[(ky * kw + kx) * 4] * p[ky * in.row + kx];
                    }
                    if (bias) acc += bias[co];
                    if (accumulate) acc += o[x];
                    o[x] = acc;
                    s += acc;
                    ss += (double)acc * acc;
                }
            }
            if (sums) { sums[co] += s; sums[cout + co] += ss; }
        }
    }
}

// ---- Forward, AVX2 ---------------------------------------------------------------------------

static const int32_t lane_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

AVX2 static inline __m256i lane_mask(int lanes) {
    return _mm256_loadu_si256((const __m256i *)(lane_mask_table + 8 - lanes));
}

// The 4x2 tile over all input channels and taps. The kernel height and width are compile-time
// constants for the common shapes (3x3, and the 2x2/2x1/1x2/1x1 phases of a strided 3x3), so
// the tap loops unroll.
#define CONV_TILE_BODY(KH, KW)                                                                     \
    for (int ci = 0; ci < cin; ci++) {                                                             \
        for (int ky = 0; ky < (KH); ky++) {                                                        \
            const float *r0 = p0 + ky * in_row, *r1 = p1 + ky * in_row;                            \
            for (int kx = 0; kx < (KW); kx++) {                                                    \
                const __m256 v0 = _mm256_loadu_ps(r0 + kx), v1 = _mm256_loadu_ps(r1 + kx);        \
                __m256 wv = _mm256_broadcast_ss(w + 0);                                            \
                a00 = _mm256_fmadd_ps(wv, v0, a00); a01 = _mm256_fmadd_ps(wv, v1, a01);            \
                wv = _mm256_broadcast_ss(w + 1);                                                   \
                a10 = _mm256_fmadd_ps(wv, v0, a10); a11 = _mm256_fmadd_ps(wv, v1, a11);            \
                wv = _mm256_broadcast_ss(w + 2);                                                   \
                a20 = _mm256_fmadd_ps(wv, v0, a20); a21 = _mm256_fmadd_ps(wv, v1, a21);            \
                wv = _mm256_broadcast_ss(w + 3);                                                   \
                a30 = _mm256_fmadd_ps(wv, v0, a30); a31 = _mm256_fmadd_ps(wv, v1, a31);            \
                w += 4;                                                                            \
            }                                                                                      \
        }                                                                                          \
        p0 += in_plane; p1 += in_plane;                                                            \
    }

AVX2 INLINE void conv_tile(const float *p0, const float *p1, long in_plane, long in_row, int cin, const int kh,
                           const int kw, const float *w, __m256 acc[8]) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    CONV_TILE_BODY(kh, kw)
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11; acc[4] = a20; acc[5] = a21; acc[6] = a30; acc[7] = a31;
}

AVX2 static void conv_tile_dispatch(const float *p0, const float *p1, long in_plane, long in_row, int cin, int kh,
                                    int kw, const float *w, __m256 acc[8]) {
    switch (kh * 8 + kw) {
    case 3 * 8 + 3: conv_tile(p0, p1, in_plane, in_row, cin, 3, 3, w, acc); break;
    case 2 * 8 + 2: conv_tile(p0, p1, in_plane, in_row, cin, 2, 2, w, acc); break;
    case 2 * 8 + 1: conv_tile(p0, p1, in_plane, in_row, cin, 2, 1, w, acc); break;
    case 1 * 8 + 2: conv_tile(p0, p1, in_plane, in_row, cin, 1, 2, w, acc); break;
    case 1 * 8 + 1: conv_tile(p0, p1, in_plane, in_row, cin, 1, 1, w, acc); break;
    default: {
        // Any other shape: loops with run-time bounds.
        __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
               a31 = a00;
        CONV_TILE_BODY(kh, kw)
        acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11; acc[4] = a20; acc[5] = a21; acc[6] = a30; acc[7] = a31;
    }
    }
}

AVX2 static void conv_forward_avx2(ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                                   const float *packed, int kh, int kw, const float *bias, int accumulate,
                                   double *sums) {
    const int per_row = (wout + 7) / 8;
    const int vectors = hout * per_row;
    const int blocks = (cout + 3) / 4;
    const long block_floats = (long)cin * kh * kw * 4;
    const long in_plane = in.plane, in_row = in.row;
    for (int n = 0; n < images; n++) {
        const float *in_image = in.data + n * in.image;
        float *out_image = out.data + n * out.image;
        for (int b = 0; b < blocks; b++) {
            const float *wb = packed + b * block_floats;
            const int valid = min_int(4, cout - b * 4);
            __m256 stat_sum[4], stat_sq[4];
            for (int c = 0; c < 4; c++) { stat_sum[c] = _mm256_setzero_ps(); stat_sq[c] = _mm256_setzero_ps(); }
            __m256 bias_v[4];
            for (int c = 0; c < 4; c++) bias_v[c] = _mm256_set1_ps(bias && c < valid ? bias[b * 4 + c] : 0.0f);
            for (int v = 0; v < vectors; v += 2) {
                const int y0 = v / per_row, x0 = (v % per_row) * 8, lanes0 = min_int(8, wout - x0);
                int y1 = y0, x1 = x0, lanes1 = 0;
                if (v + 1 < vectors) { y1 = (v + 1) / per_row; x1 = ((v + 1) % per_row) * 8; lanes1 = min_int(8, wout - x1); }
                const float *p0 = in_image + y0 * in_row + x0, *p1 = in_image + y1 * in_row + x1;
                __m256 acc[8];
                if (kh == 3 && kw == 3) conv_tile(p0, p1, in_plane, in_row, cin, 3, 3, wb, acc);
                else conv_tile_dispatch(p0, p1, in_plane, in_row, cin, kh, kw, wb, acc);
                const __m256i m0 = lane_mask(lanes0), m1 = lane_mask(lanes1);
                for (int c = 0; c < valid; c++) {
                    float *o0 = out_image + (b * 4 + c) * out.plane + y0 * out.row + x0;
                    float *o1 = out_image + (b * 4 + c) * out.plane + y1 * out.row + x1;
                    __m256 r0 = _mm256_add_ps(acc[2 * c], bias_v[c]), r1 = _mm256_add_ps(acc[2 * c + 1], bias_v[c]);
                    if (accumulate) {
                        r0 = _mm256_add_ps(r0, _mm256_maskload_ps(o0, m0));
                        if (lanes1) r1 = _mm256_add_ps(r1, _mm256_maskload_ps(o1, m1));
                    }
                    if (lanes0 == 8) _mm256_storeu_ps(o0, r0); else _mm256_maskstore_ps(o0, m0, r0);
                    if (lanes1 == 8) _mm256_storeu_ps(o1, r1); else if (lanes1) _mm256_maskstore_ps(o1, m1, r1);
                    if (sums) {
                        r0 = _mm256_and_ps(r0, _mm256_castsi256_ps(m0));
                        r1 = _mm256_and_ps(r1, _mm256_castsi256_ps(m1));
                        stat_sum[c] = _mm256_add_ps(stat_sum[c], _mm256_add_ps(r0, r1));
                        stat_sq[c] = _mm256_fmadd_ps(r0, r0, _mm256_fmadd_ps(r1, r1, stat_sq[c]));
                    }
                }
            }
            if (sums) {
                for (int c = 0; c < valid; c++) {
                    sums[b * 4 + c] += HSUM8(stat_sum[c]);
                    sums[cout + b * 4 + c] += HSUM8(stat_sq[c]);
                }
            }
        }
    }
}

void ck_conv_forward(int isa, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                     const float *packed, int kh, int kw, const float *bias, int accumulate, double *sums) {
    CALL_FOR_ISA(isa, conv_forward, in, cin, out, cout, images, hout, wout, packed, kh, kw, bias, accumulate, sums);
}

// ---- Weight gradient -------------------------------------------------------------------------

static void conv_dw_portable(ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout, int kh,
                             int kw, float *dw) {
    const int kk = kh * kw;
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++) {
                    double acc = 0;
                    for (int n = 0; n < images; n++)
                        for (int y = 0; y < hout; y++) {
                            const float *g = view_row(dy, n, co, y);
                            const float *p = view_row(in, n, ci, y + ky) + kx;
                            for (int x = 0; x < wout; x++) acc += (double)g[x] * p[x];
                        }
                    dw[((long)co * cin + ci) * kk + ky * kw + kx] += (float)acc;
                }
}

static void conv_dbias(ck_view dy, int cout, int images, int hout, int wout, float *dbias) {
    for (int co = 0; co < cout; co++) {
        double acc = 0;
        for (int n = 0; n < images; n++)
            for (int y = 0; y < hout; y++) {
                const float *g = view_row(dy, n, co, y);
                for (int x = 0; x < wout; x++) acc += g[x];
            }
        dbias[co] += (float)acc;
    }
}

// CO output channels x TAPS horizontally adjacent taps (kx0 .. kx0+TAPS-1) of one input channel
// and one kernel row, summed over all pixels of `images` images: up to 12 accumulators, 3 loads
// of input and CO of gradient per pixel vector. CO and TAPS are constants at every call site.
AVX2 INLINE void dw_tile(
    ck_view dy, ck_view in, int images, int hout, int per_row, int tail, __m256i tail_mask,
    const int CO, const int TAPS, float *dw, long co_step) {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_setzero_ps();
    if (per_row == 1 && tail == 8) {   // one vector per row (8-wide maps): rows are the loop
        for (int n = 0; n < images; n++) {
            const float *g = dy.data + n * dy.image;
            const float *xp = in.data + n * in.image;
            for (int y = 0; y < hout; y++) {
                __m256 x[3];
                for (int t = 0; t < TAPS; t++) x[t] = _mm256_loadu_ps(xp + t);
                for (int c = 0; c < CO; c++) {
                    const __m256 gv = _mm256_loadu_ps(g + c * dy.plane);
                    for (int t = 0; t < TAPS; t++) acc[c * 3 + t] = _mm256_fmadd_ps(gv, x[t], acc[c * 3 + t]);
                }
                g += dy.row;
                xp += in.row;
            }
        }
        images = 0;
    }
    for (int n = 0; n < images; n++) {
        const float *g_base = dy.data + n * dy.image;
        const float *x_base = in.data + n * in.image;
        for (int y = 0; y < hout; y++) {
            const float *g = g_base + y * dy.row;
            const float *xp = x_base + y * in.row;
            const int full = tail == 8 ? per_row : per_row - 1;
            for (int xv = 0; xv < full; xv++) {
                __m256 x[3];
                for (int t = 0; t < TAPS; t++) x[t] = _mm256_loadu_ps(xp + t);
                for (int c = 0; c < CO; c++) {
                    const __m256 gv = _mm256_loadu_ps(g + c * dy.plane);
                    for (int t = 0; t < TAPS; t++) acc[c * 3 + t] = _mm256_fmadd_ps(gv, x[t], acc[c * 3 + t]);
                }
                g += 8;
                xp += 8;
            }
            if (full < per_row) {   // the row's last, partial vector: gradient lanes past the row are 0
                __m256 x[3];
                for (int t = 0; t < TAPS; t++) x[t] = _mm256_loadu_ps(xp + t);
                for (int c = 0; c < CO; c++) {
                    const __m256 gv = _mm256_maskload_ps(g + c * dy.plane, tail_mask);
                    for (int t = 0; t < TAPS; t++) acc[c * 3 + t] = _mm256_fmadd_ps(gv, x[t], acc[c * 3 + t]);
                }
            }
        }
    }
    for (int c = 0; c < CO; c++)
        for (int t = 0; t < TAPS; t++) dw[c * co_step + t] += HSUM8(acc[c * 3 + t]);
}

AVX2 static void conv_dw_avx2(ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout, int kh,
                              int kw, float *dw) {
    const int kk = kh * kw;
    const int per_row = (wout + 7) / 8;
    const int tail = wout - (per_row - 1) * 8;   // lanes of each row's last vector
    const __m256i tail_mask = lane_mask(tail);
    // Images per pass: about 64 pixel vectors, enough to amortise the horizontal sums while the
    // pass's gradient and input planes stay in L1.
    const int vectors_per_image = hout * per_row;
    int chunk = (64 + vectors_per_image - 1) / vectors_per_image;
    if (chunk < 1) chunk = 1;
    const long co_step = (long)cin * kk;
    for (int n0 = 0; n0 < images; n0 += chunk) {
        const int nc = min_int(chunk, images - n0);
        for (int cb = 0; cb < cout; cb += 4) {
            const int co = min_int(4, cout - cb);
            for (int ci = 0; ci < cin; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx += 3) {
                        const int taps = min_int(3, kw - kx);
                        ck_view g = dy, x = in;
                        g.data = dy.data + n0 * dy.image + cb * dy.plane;
                        x.data = in.data + n0 * in.image + ci * in.plane + ky * in.row + kx;
                        float *d = dw + ((long)cb * cin + ci) * kk + ky * kw + kx;
#define DW_TILE(CO, TAPS) dw_tile(g, x, nc, hout, per_row, tail, tail_mask, CO, TAPS, d, co_step)
                        switch (co * 4 + taps) {
                        case 4 * 4 + 3: DW_TILE(4, 3); break;
                        case 4 * 4 + 2: DW_TILE(4, 2); break;
                        case 4 * 4 + 1: DW_TILE(4, 1); break;
                        case 3 * 4 + 3: DW_TILE(3, 3); break;
                        case 3 * 4 + 2: DW_TILE(3, 2); break;
                        case 3 * 4 + 1: DW_TILE(3, 1); break;
                        case 2 * 4 + 3: DW_TILE(2, 3); break;
                        case 2 * 4 + 2: DW_TILE(2, 2); break;
                        case 2 * 4 + 1: DW_TILE(2, 1); break;
                        case 1 * 4 + 3: DW_TILE(1, 3); break;
                        case 1 * 4 + 2: DW_TILE(1, 2); break;
                        default: DW_TILE(1, 1); break;
                        }
#undef DW_TILE
                    }
                }
            }
        }
    }
}

void ck_conv_backward_bias(ck_view dy, int cout, int images, int hout, int wout, float *dbias) {
    conv_dbias(dy, cout, images, hout, wout, dbias);
}

void ck_conv_backward_weights(int isa, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                              int kh, int kw, float *dw, float *dbias) {
    CALL_FOR_ISA(isa, conv_dw, dy, cout, in, cin, images, hout, wout, kh, kw, dw);
    if (dbias) conv_dbias(dy, cout, images, hout, wout, dbias);
}

// ---- Strided convolutions as sums over phases ------------------------------------------------

// Split and merge are one strided pass each; compiled for AVX2, clang vectorises the interleaved
// loads and stores.
#define PHASE_SPLIT_BODY                                                                                   \
    const long plane = (long)phase_height * phase_width;                                                   \
    const long image = (long)stride * stride * channels * plane;                                           \
    for (int n = 0; n < images; n++)                                                                       \
        for (int c = 0; c < channels; c++)                                                                 \
            for (int y = 0; y < height; y++) {                                                             \
                const float *restrict row = view_row(in, n, c, y);                                          \
                float *base = phases + n * image + ((long)(y % stride) * stride * channels + c) * plane    \
                              + (long)(y / stride) * phase_width;                                          \
                if (stride == 2) {                                                                         \
                    float *restrict even = base, *restrict odd = base + channels * plane;                  \
                    const int pairs = width / 2;                                                           \
                    for (int j = 0; j < pairs; j++) { even[j] = row[2 * j]; odd[j] = row[2 * j + 1]; }     \
                    if (width & 1) even[pairs] = row[width - 1];                                           \
                } else {                                                                                   \
                    for (int b = 0; b < stride; b++) {                                                     \
                        float *target = base + (long)b * channels * plane;                                 \
                        for (int x = b, j = 0; x < width; x += stride, j++) target[j] = row[x];            \
                    }                                                                                      \
                }                                                                                          \
            }

AVX2 static void phase_split_avx2(ck_view in, int images, int channels, int height, int width, int stride,
                                  float *phases, int phase_height, int phase_width) {
    PHASE_SPLIT_BODY
}

static void phase_split_portable(ck_view in, int images, int channels, int height, int width, int stride,
                                 float *phases, int phase_height, int phase_width) {
    PHASE_SPLIT_BODY
}

void ck_phase_split(ck_view in, int images, int channels, int height, int width, int stride, float *phases,
                    int phase_height, int phase_width) {
    CALL_FOR_ISA(ck_best_isa(), phase_split, in, images, channels, height, width, stride, phases, phase_height,
                 phase_width);
}

#define PHASE_MERGE_BODY                                                                                   \
    const long plane = (long)phase_height * phase_width;                                                   \
    const long image = (long)stride * stride * channels * plane;                                           \
    for (int n = 0; n < images; n++)                                                                       \
        for (int c = 0; c < channels; c++)                                                                 \
            for (int y = 0; y < height; y++) {                                                             \
                const int yy = y + padding;                                                                \
                float *restrict row = view_row(out, n, c, y);                                              \
                const float *base = phases + n * image + ((long)(yy % stride) * stride * channels + c) * plane \
                                    + (long)(yy / stride) * phase_width;                                   \
                if (stride == 2) {                                                                         \
                    /* x + padding even -> phase 0, odd -> phase 1 */                                      \
                    const float *restrict first = base + (long)(padding & 1) * channels * plane + (padding >> 1); \
                    const float *restrict second = base + (long)((padding + 1) & 1) * channels * plane     \
                                                   + ((padding + 1) >> 1);                                 \
                    const int pairs = width / 2;                                                           \
                    if (accumulate) {                                                                      \
                        for (int j = 0; j < pairs; j++) { row[2 * j] += first[j]; row[2 * j + 1] += second[j]; } \
                    } else {                                                                               \
                        for (int j = 0; j < pairs; j++) { row[2 * j] = first[j]; row[2 * j + 1] = second[j]; } \
                    }                                                                                      \
                    if (width & 1) row[width - 1] = (accumulate ? row[width - 1] : 0.0f) + first[pairs];   \
                } else {                                                                                   \
                    for (int x = 0; x < width; x++) {                                                      \
                        const int xx = x + padding;                                                        \
                        const float v = base[(long)(xx % stride) * channels * plane + xx / stride];        \
                        row[x] = accumulate ? row[x] + v : v;                                              \
                    }                                                                                      \
                }                                                                                          \
            }

AVX2 static void phase_merge_avx2(const float *phases, int phase_height, int phase_width, int stride, int padding,
                                  ck_view out, int accumulate, int images, int channels, int height, int width) {
    PHASE_MERGE_BODY
}

static void phase_merge_portable(const float *phases, int phase_height, int phase_width, int stride, int padding,
                                 ck_view out, int accumulate, int images, int channels, int height, int width) {
    PHASE_MERGE_BODY
}

void ck_phase_merge(const float *phases, int phase_height, int phase_width, int stride, int padding, ck_view out,
                    int accumulate, int images, int channels, int height, int width) {
    CALL_FOR_ISA(ck_best_isa(), phase_merge, phases, phase_height, phase_width, stride, padding, out, accumulate, images,
                 channels, height, width);
}
