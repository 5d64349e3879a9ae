// Convolutions of any kernel size and stride as matrix products over blocks of output positions:
// the strided convolutions (3×3, and the 1×1 shortcuts of wide ResNets), which Winograd does not cover.
//
// The output positions of all images of a pass are numbered together, p = (n·hout + oy)·wout + ox,
// and processed `block` at a time. With k = (ci·kh + ky)·kw + kx running over the K = cin·kh·kw
// taps of the receptive field and X[k][p] the input under tap k of position p (im2col of the
// block only, gathered from the input's zero border, so no bounds checks):
//
//   forward          Y[co][p]  = Σ_k W[co][k] · X[k][p]          (product_tile: lanes over p)
//   input gradient   dX[k][p]  = Σ_co W[co][k] · dY[co][p]       (product_tile), scattered back
//   weight gradient  dWᵀ[k][co] += Σ_p X[k][p] · dY[p][co]       (reduce_tile: lanes over co)
//
// on the micro-kernels of the Winograd products (microkernels.h), 16-float vectors where the CPU
// has AVX-512F and 8-float ones otherwise, with the same bits either way. Everything is a fixed
// function of the shapes and the block sizes, so a run computes the same bits every time.

#include "microkernels.h"

#define CK_GEMM_MAX_BLOCK 256

// Positions j ..< j + length of a block lie in one output row: image n, row oy, from column ox.
typedef struct {
    int j, length, n, oy, ox;
} run;

static int block_runs(long first, int count, int hout, int wout, run *runs) {
    const long per_image = (long)hout * wout;
    int r = 0;
    for (int j = 0; j < count; r++) {
        const long p = first + j;
        const int t = (int)(p % per_image);
        runs[r] = (run){j, min_int(wout - t % wout, count - j), (int)(p / per_image), t / wout, t % wout};
        j += runs[r].length;
    }
    return r;
}

// Where run r's first position reads (stride s: the input under its receptive field's corner) or
// writes (s = 1) in a view, channel 0.
static inline long run_offset(const run *r, ck_view v, int s) {
    return r->n * v.image + (long)r->oy * s * v.row + (long)r->ox * s;
}

// dst[0..<n] = src[0, s, 2s, …]. For s = 2 the vector loop reads src[2n − 1], one past the last
// element it uses (inside the row or its border, or the view's slack).
INLINE void copy_strided(float *dst, const float *src, int n, int s) {
    int i = 0;
    if (s == 1) {
        for (; i + 8 <= n; i += 8) store8(dst + i, load8(src + i));
    } else if (s == 2) {
        for (; i + 8 <= n; i += 8) {
            const v8 a = load8(src + 2 * i), b = load8(src + 2 * i + 8);
            store8(dst + i, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14));
        }
    }
    for (; i < n; i++) dst[i] = src[(long)i * s];
}

// Asks the cache for what `gather_columns` will read for the block of positions from `next` (the
// receptive fields of its runs), so that those loads overlap the current block's product: where a
// block is a few rows of an image, it reads a piece of every channel's plane, which the hardware
// prefetcher does not follow, and the gather stalled on them. A block of whole images reads one
// stream the hardware follows; there this only costs instructions, so it is not done. (The
// measurements: docs/PERFORMANCE.md, section "Where the kernel figures in the code went".)
INLINE void prefetch_block(ck_view in, int cin, int kh, int kw, int s, long next, long positions, int block, int hout,
                           int wout) {
    if (next >= positions || (long)hout * wout <= block) return;
    run ahead[CK_GEMM_MAX_BLOCK];
    const int count = (int)(positions - next < block ? positions - next : block);
    const int nruns = block_runs(next, count, hout, wout, ahead);
    for (int ci = 0; ci < cin; ci++)
        for (int r = 0; r < nruns; r++) {
            const float *base = in.data + ci * in.plane + run_offset(&ahead[r], in, s);
            const int span = (ahead[r].length - 1) * s + kw;
            for (int ky = 0; ky < kh; ky++)
                for (int x = 0; x < span + 15; x += 16) __builtin_prefetch(base + (long)ky * in.row + x);
        }
}

// X[k][0..<block] for the block's positions (columns past `count` and rows past K zero). `in`
// starts at the top-left corner of output (0, 0)'s receptive field.
INLINE void gather_columns(ck_view in, int cin, int kh, int kw, int s, const run *runs, int nruns, int count,
                           int block, int k4, float *x) {
    int k = 0;
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++, k++) {
                const float *base = in.data + ci * in.plane + (long)ky * in.row + kx;
                float *row = x + (long)k * block;
                for (int r = 0; r < nruns; r++)
                    copy_strided(row + runs[r].j,
                                 base + run_offset(&runs[r], in, s),
                                 runs[r].length, s);
                if (count < block) memset(row + count, 0, sizeof(float) * (size_t)(block - count));
            }
    for (; k < k4; k++) memset(x + (long)k * block, 0, sizeof(float) * (size_t)block);
}

// c[r][0..<block] = Σ_k u[r/4][k][r%4] · v[k][0..<block] for rows r < rows4 (u packed in blocks
// of 4 rows, `depth` long). The depth is taken in slices of `GEMM_SLICE` so that a slice of v
// (GEMM_SLICE · block floats) stays in the L1 cache while every row block runs over it; the sums
// continue from slice to slice, so the bits are those of one pass. (Overridable so that other
// slices can be timed with bench/kernel_ab/gemm_blocks.c; what that showed: docs/PERFORMANCE.md.)
#ifndef GEMM_SLICE
#define GEMM_SLICE 64
#endif
INLINE void product_rows(const int wide, const float *u, int rows4, int depth, const float *v, int block, float *c) {
    for (int k0 = 0; k0 < depth; k0 += GEMM_SLICE) {
        const int kc = min_int(GEMM_SLICE, depth - k0), resume = k0 > 0;
        const float *vk = v + (long)k0 * block;
        for (int rb = 0; rb < rows4; rb += 4) {
            const float *ub = u + (long)rb * depth + (long)k0 * 4;
            float *cb = c + (long)rb * block;
            int j = 0;
            if (wide) {
                for (; j + 64 <= block; j += 64)
                    resume ? product_tile16(ub, vk + j, block, kc, 4, cb + j, block, 1)
                           : product_tile16(ub, vk + j, block, kc, 4, cb + j, block, 0);
                for (; j + 16 <= block; j += 16)
                    resume ? product_tile16(ub, vk + j, block, kc, 1, cb + j, block, 1)
                           : product_tile16(ub, vk + j, block, kc, 1, cb + j, block, 0);
            }
            for (; j + 16 <= block; j += 16)
                resume ? product_tile(ub, vk + j, block, kc, 2, cb + j, block, 1)
                       : product_tile(ub, vk + j, block, kc, 2, cb + j, block, 0);
        }
    }
}

INLINE void forward_body(const int wide, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                         int kh, int kw, int s, const float *u, const float *bias, int accumulate, double *sums,
                         float *scratch, int block) {
    const int k4 = round_up(cin * kh * kw, 4), cout4 = round_up(cout, 4);
    const long positions = (long)images * hout * wout;
    float *x = scratch, *y = scratch + (long)k4 * block;
    run runs[CK_GEMM_MAX_BLOCK];
    for (long first = 0; first < positions; first += block) {
        const int count = (int)(positions - first < block ? positions - first : block);
        const int nruns = block_runs(first, count, hout, wout, runs);
        prefetch_block(in, cin, kh, kw, s, first + block, positions, block, hout, wout);
        gather_columns(in, cin, kh, kw, s, runs, nruns, count, block, k4, x);
        product_rows(wide, u, cout4, k4, x, block, y);
        // The block's rows written out, eight positions at a time; the statistics in eight lanes
        // (not a scalar chain of additions, which took as long as the product: docs/PERFORMANCE.md,
        // section "Where the kernel figures in the code went").
        for (int co = 0; co < cout; co++) {
            const float b = bias ? bias[co] : 0.0f, *source = y + (long)co * block;
            v8 lane_sum = splat(0), lane_square = splat(0);
            float sum = 0, square = 0;
            for (int r = 0; r < nruns; r++) {
                float *target = out.data + co * out.plane + run_offset(&runs[r], out, 1);
                const float *values = source + runs[r].j;
                int i = 0;
                for (; i + 8 <= runs[r].length; i += 8) {
                    const v8 shifted = load8(values + i) + splat(b);
                    const v8 value = accumulate ? load8(target + i) + shifted : shifted;
                    store8(target + i, value);
                    lane_sum += value;
                    lane_square += value * value;
                }
                for (; i < runs[r].length; i++) {
                    const float value = accumulate ? target[i] + (values[i] + b) : values[i] + b;
                    target[i] = value;
                    sum += value;
                    square += value * value;
                }
            }
            if (sums) {
                sums[co] += (double)HSUM8(lane_sum) + sum;
                sums[cout + co] += (double)HSUM8(lane_square) + square;
            }
        }
    }
}

// target[ox·s] += values[ox] for from ≤ ox ≤ to, eight at a time. For s = 2 the vector loop reads
// and writes back unchanged target[2·to + 1], one past the last element it adds to (inside the
// row or its border, or the view's slack); every element gets the same additions in the same
// order as one at a time.
INLINE void scatter_add(float *target, const float *values, int from, int to, int s) {
    int ox = from;
    if (s == 1) {
        for (; ox + 8 <= to + 1; ox += 8) store8(target + ox, load8(target + ox) + load8(values + ox));
    } else if (s == 2) {
        for (; ox + 8 <= to + 1; ox += 8) {
            const v8 v = load8(values + ox), zero = splat(0);
            float *t = target + 2 * ox;
            const v8 a = load8(t), b = load8(t + 8);
            const v8 sa = a + __builtin_shufflevector(v, zero, 0, 8, 1, 9, 2, 10, 3, 11);
            const v8 sb = b + __builtin_shufflevector(v, zero, 4, 12, 5, 13, 6, 14, 7, 15);
            // Even lanes from the sums, odd lanes as they were (not + 0, which would turn −0 into +0).
            store8(t, __builtin_shufflevector(sa, a, 0, 9, 2, 11, 4, 13, 6, 15));
            store8(t + 8, __builtin_shufflevector(sb, b, 0, 9, 2, 11, 4, 13, 6, 15));
        }
    }
    for (; ox <= to; ox++) target[(long)ox * s] += values[ox];
}

INLINE void input_gradient_body(const int wide, ck_view dy, int cout, ck_view dx, int cin, int images, int height,
                                int width, int hout, int wout, int kh, int kw, int s, int padding, const float *ut,
                                float *scratch, int block) {
    const int k4 = round_up(cin * kh * kw, 4);
    const long positions = (long)images * hout * wout;
    float *d = scratch, *x = scratch + (long)cout * block;
    run runs[CK_GEMM_MAX_BLOCK];
    for (long first = 0; first < positions; first += block) {
        const int count = (int)(positions - first < block ? positions - first : block);
        const int nruns = block_runs(first, count, hout, wout, runs);
        prefetch_block(dy, cout, 1, 1, 1, first + block, positions, block, hout, wout);
        // dY[co][0..<block]: the block's columns of dy, as a 1×1 stride-1 gather.
        gather_columns(dy, cout, 1, 1, 1, runs, nruns, count, block, cout, d);
        product_rows(wide, ut, k4, cout, d, block, x);
        // Scatter X back: tap k of position (oy, ox) is input (oy·s − p + ky, ox·s − p + kx).
        int k = 0;
        for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++, k++) {
                    const float *row = x + (long)k * block;
                    // Columns ox with 0 ≤ ox·s − p + kx < width.
                    const int lowest = padding - kx <= 0 ? 0 : (padding - kx + s - 1) / s;
                    if (width - 1 + padding - kx < 0) continue;
                    const int highest = (width - 1 + padding - kx) / s;
                    for (int r = 0; r < nruns; r++) {
                        const int iy = runs[r].oy * s - padding + ky;
                        if (iy < 0 || iy >= height) continue;
                        const int from = max_int(runs[r].ox, lowest);
                        const int to = min_int(runs[r].ox + runs[r].length - 1, highest);
                        float *target = view_row(dx, runs[r].n, ci, iy) - padding + kx;
                        const float *values = row + runs[r].j - runs[r].ox;
                        scatter_add(target, values, from, to, s);
                    }
                }
    }
}

// d[j + i][co] = dY[co][position j + i] for the run's positions: the block's output gradient with
// channels contiguous, in 8 × 8 transposes where the run and the channels allow.
INLINE void transpose_run(ck_view dy, int cout, const run *r, float *d, int cout16) {
    const float *first = dy.data + run_offset(r, dy, 1);
    float *target = d + (long)r->j * cout16;
    const int cout8 = cout / 8 * 8, length8 = r->length / 8 * 8;
    for (int co = 0; co < cout8; co += 8)
        for (int i = 0; i < length8; i += 8) {
            v8 rows[8], cols[8];
            for (int c = 0; c < 8; c++) rows[c] = load8(first + (co + c) * dy.plane + i);
            transpose8(rows, cols);
            for (int k = 0; k < 8; k++) store8(target + (long)(i + k) * cout16 + co, cols[k]);
        }
    for (int co = 0; co < cout; co++) {
        const float *source = first + co * dy.plane;
        for (int i = co < cout8 ? length8 : 0; i < r->length; i++) target[(long)i * cout16 + co] = source[i];
    }
}

INLINE void weight_gradient_body(const int wide, ck_view dy, int cout, ck_view in, int cin, int images, int hout,
                                 int wout, int kh, int kw, int s, float *dwt, float *scratch, int block) {
    const int k4 = round_up(cin * kh * kw, 4), cout16 = round_up(cout, 16);
    const long positions = (long)images * hout * wout;
    float *x = scratch, *d = scratch + (long)k4 * block;   // X[k][block], dY[block][cout16]
    run runs[CK_GEMM_MAX_BLOCK];
    for (long first = 0; first < positions; first += block) {
        const int count = (int)(positions - first < block ? positions - first : block);
        const int nruns = block_runs(first, count, hout, wout, runs);
        prefetch_block(in, cin, kh, kw, s, first + block, positions, block, hout, wout);
        prefetch_block(dy, cout, 1, 1, 1, first + block, positions, block, hout, wout);
        gather_columns(in, cin, kh, kw, s, runs, nruns, count, block, k4, x);
        for (int r = 0; r < nruns; r++) transpose_run(dy, cout, &runs[r], d, cout16);
        for (int kb = 0; kb < k4; kb += 4) {
            int cb = 0;
            if (wide) {
                for (; cb + 64 <= cout16; cb += 64)
                    reduce_tile16(x + (long)kb * block, block, d + cb, cout16, count, 4, 4,
                                  dwt + (long)kb * cout16 + cb, cout16);
                for (; cb + 32 <= cout16; cb += 32)
                    reduce_tile16(x + (long)kb * block, block, d + cb, cout16, count, 2, 4,
                                  dwt + (long)kb * cout16 + cb, cout16);
            }
            for (; cb < cout16; cb += 16)
                if (wide) reduce_tile16(x + (long)kb * block, block, d + cb, cout16, count, 1, 4,
                                        dwt + (long)kb * cout16 + cb, cout16);
                else reduce_tile(x + (long)kb * block, block, d + cb, cout16, count, 2, dwt + (long)kb * cout16 + cb,
                                 cout16);
        }
    }
}

#define GEMM_VARIANTS(name, wide, attributes)                                                                     \
    attributes static void gemm_forward_##name(ck_view in, int cin, ck_view out, int cout, int images, int hout,        \
                                          int wout, int kh, int kw, int s, const float *u, const float *bias,      \
                                          int accumulate, double *sums, float *scratch, int block) {               \
        forward_body(wide, in, cin, out, cout, images, hout, wout, kh, kw, s, u, bias, accumulate, sums, scratch,  \
                     block);                                                                                       \
    }                                                                                                              \
    attributes static void gemm_input_gradient_##name(ck_view dy, int cout, ck_view dx, int cin, int images, int height, \
                                                 int width, int hout, int wout, int kh, int kw, int s, int padding, \
                                                 const float *ut, float *scratch, int block) {                      \
        input_gradient_body(wide, dy, cout, dx, cin, images, height, width, hout, wout, kh, kw, s, padding, ut,    \
                            scratch, block);                                                                       \
    }                                                                                                              \
    attributes static void gemm_weight_gradient_##name(ck_view dy, int cout, ck_view in, int cin, int images, int hout, \
                                                  int wout, int kh, int kw, int s, float *dwt, float *scratch,      \
                                                  int block) {                                                     \
        weight_gradient_body(wide, dy, cout, in, cin, images, hout, wout, kh, kw, s, dwt, scratch, block);         \
    }

FOR_EACH_VARIANT(GEMM_VARIANTS)

// ---- Public entry points ------------------------------------------------------------------------

// Forward: rows = cout, depth = K rounded up to 4 (the gathered columns' rows); transposed:
// rows = K, depth = cout.
static void packed_shape(int cout, int cin, int kh, int kw, int transpose, int *rows, int *depth) {
    const int k = cin * kh * kw;
    *rows = transpose ? k : cout;
    *depth = transpose ? cout : round_up(k, 4);
}

long ck_gemm_conv_weights_count(int cout, int cin, int kh, int kw, int transpose) {
    int rows, depth;
    packed_shape(cout, cin, kh, kw, transpose, &rows, &depth);
    return (long)round_up(rows, 4) * depth;
}

void ck_gemm_conv_pack(const float *w, int cout, int cin, int kh, int kw, int transpose, float *u) {
    const int k = cin * kh * kw;
    int rows, depth;
    packed_shape(cout, cin, kh, kw, transpose, &rows, &depth);
    memset(u, 0, sizeof(float) * (size_t)ck_gemm_conv_weights_count(cout, cin, kh, kw, transpose));
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < (transpose ? depth : k); i++)
            u[((long)(r / 4) * depth + i) * 4 + r % 4] = transpose ? w[(long)i * k + r] : w[(long)r * k + i];
}

long ck_gemm_conv_scratch_count(int cin, int cout, int kh, int kw, int block) {
    block = valid_block(block, CK_GEMM_MAX_BLOCK);
    const long k4 = round_up(cin * kh * kw, 4), cout16 = round_up(cout, 16);
    const long forward = (k4 + round_up(cout, 4)) * block;
    const long input_gradient = ((long)cout + k4) * block;
    const long weight_gradient = (k4 + cout16) * block + k4 * cout16;
    const long most = forward > input_gradient ? forward : input_gradient;
    return most > weight_gradient ? most : weight_gradient;
}

void ck_gemm_conv_forward(int isa, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout, int kh,
                          int kw, int stride, const float *u, const float *bias, int accumulate, double *channel_sums,
                          float *scratch, int block) {
    block = valid_block(block, CK_GEMM_MAX_BLOCK);
    CALL_FOR_ISA_WIDE(isa, gemm_forward, in, cin, out, cout, images, hout, wout, kh, kw, stride, u, bias, accumulate,
                      channel_sums, scratch, block);
}

void ck_gemm_conv_backward_input(int isa, ck_view dy, int cout, ck_view dx, int cin, int images, int height, int width,
                                 int hout, int wout, int kh, int kw, int stride, int padding, int accumulate,
                                 const float *ut, float *scratch, int block) {
    block = valid_block(block, CK_GEMM_MAX_BLOCK);
    if (!accumulate)
        for (int n = 0; n < images; n++)
            for (int c = 0; c < cin; c++)
                for (int y = 0; y < height; y++)
                    memset(view_row(dx, n, c, y), 0, sizeof(float) * (size_t)width);
    CALL_FOR_ISA_WIDE(isa, gemm_input_gradient, dy, cout, dx, cin, images, height, width, hout, wout, kh, kw, stride,
                      padding, ut, scratch, block);
}

void ck_gemm_conv_backward_weights(int isa, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                                   int kh, int kw, int stride, float *dw, float *scratch, int block) {
    block = valid_block(block, CK_GEMM_MAX_BLOCK);
    const int k = cin * kh * kw, k4 = round_up(k, 4), cout16 = round_up(cout, 16);
    float *d = scratch + (long)k4 * block, *dwt = d + (long)block * cout16;
    // The columns of dY past cout are read by the 16-lane products and never written: zero.
    memset(d, 0, sizeof(float) * (size_t)block * cout16);
    memset(dwt, 0, sizeof(float) * (size_t)k4 * cout16);
    CALL_FOR_ISA_WIDE(isa, gemm_weight_gradient, dy, cout, in, cin, images, hout, wout, kh, kw, stride, dwt, scratch,
                      block);
    for (int co = 0; co < cout; co++)
        for (int i = 0; i < k; i++) dw[(long)co * k + i] += dwt[(long)i * cout16 + co];
}
