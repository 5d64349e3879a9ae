#ifndef BATCHAUG_CKERNELS_H
#define BATCHAUG_CKERNELS_H
// Micro-kernels of the compute engine: the loops that decide how close a training step comes to
// the machine's peak. Everything else (graph, shapes, memory, scheduling) is Swift.
//
// Each kernel exists at least twice: an AVX2+FMA version compiled through a function target
// attribute (no build flags, so the package builds anywhere) and a portable C version; the Winograd
// and blocked-product kernels also have an AVX-512F version, which runs for CK_ISA_AVX2 on CPUs
// that have it and gives the AVX2 version's bits. `isa` selects: CK_ISA_PORTABLE or CK_ISA_AVX2;
// `ck_best_isa()` is the fastest one this CPU runs.
//
// Tensors are strided views of NCHW Float32: element (n, c, y, x) of a view is at
// data[n*image + c*plane + y*row + x], so a padded activation (zero border) is the same memory
// seen with an offset base pointer. Views that kernels read past the end of a row (vector
// loads of partial rows) need 16 floats of readable slack after their last element.

#include <stddef.h>

#define CK_ISA_PORTABLE 0
#define CK_ISA_AVX2 1

typedef struct {
    float *_Nullable data;   // element (0, 0, 0, 0)
    long image;              // floats between images
    long plane;              // floats between channels
    long row;                // floats between rows
} ck_view;

/// CK_ISA_AVX2 when the CPU has AVX2 and FMA, else CK_ISA_PORTABLE.
int ck_best_isa(void);

// ---- Direct convolution, stride 1 ------------------------------------------------------------

/// Floats in a packed weight block for `ck_conv_forward`: ceil(cout/4) * cin * kh*kw * 4.
long ck_conv_packed_count(int cout, int cin, int kh, int kw);

/// Packs weights w[cout][cin][kh][kw] for `ck_conv_forward`. With `transpose_flip`, packs the
/// weights of the gradient-of-input convolution instead: out channels = cin, in channels = cout,
/// w'[ci][co][ky][kx] = w[co][ci][kh-1-ky][kw-1-kx].
void ck_conv_pack(const float *_Nonnull w, int cout, int cin, int kh, int kw, int transpose_flip,
                  float *_Nonnull packed);

/// out[n][co][y][x] (=|+=) bias[co] + sum_{ci,ky,kx} w[co][ci][ky][kx] * in[n][ci][y+ky][x+kx]
/// for n < images, y < hout, x < wout: a stride-1 convolution whose input view already starts at
/// the top-left corner of the receptive field of output (0, 0) (i.e. `padding` rows/columns into
/// a zero-padded tensor). `bias` may be NULL. With `channel_sums` (double[2*cout]) non-NULL, the
/// sum and the sum of squares of each output channel over all images and pixels are added into
/// channel_sums[co] and channel_sums[cout + co] (batch-norm statistics fused into the epilogue).
void ck_conv_forward(int isa, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                     const float *_Nonnull packed, int kh, int kw, const float *_Nullable bias, int accumulate,
                     double *_Nullable channel_sums);

/// dw[co][ci][ky][kx] += sum_{n,y,x} dy[n][co][y][x] * in[n][ci][y+ky][x+kx] (the weight gradient
/// of `ck_conv_forward`, same input view convention). With `dbias` non-NULL also adds
/// sum_{n,y,x} dy[n][co][y][x] into dbias[co].
void ck_conv_backward_weights(int isa, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                              int kh, int kw, float *_Nonnull dw, float *_Nullable dbias);

/// dbias[co] += sum_{n,y,x} dy[n][co][y][x] (the bias gradient alone).
void ck_conv_backward_bias(ck_view dy, int cout, int images, int hout, int wout, float *_Nonnull dbias);

/// A strided convolution is a sum over stride² phases of stride-1 convolutions: phase (b, c) of a
/// (padded) input holds the elements in[s·i + b][s·j + c]. Splits `height` × `width` elements of each
/// plane of `in` into phases laid out [image][b·s + c][channel][phase_height][phase_width].
void ck_phase_split(ck_view in, int images, int channels, int height, int width, int stride,
                    float *_Nonnull phases, int phase_height, int phase_width);

/// The inverse gather: out[n][c][y][x] (=|+=) the phase element of padded position (y + padding,
/// x + padding), for the `height` × `width` interior.
void ck_phase_merge(const float *_Nonnull phases, int phase_height, int phase_width, int stride, int padding,
                    ck_view out, int accumulate, int images, int channels, int height, int width);

// ---- Batch normalisation over groups of images (ghost batches) ----------------------------------

/// Per channel: sums[c] += sum x, sums[channels + c] += sum (x - center[c])^2 over all images and
/// pixels; `center` may be NULL (0). Accumulates in double.
void ck_channel_sums(int isa, ck_view x, int images, int channels, int height, int width,
                     const double *_Nullable center, double *_Nonnull sums);

/// y = max?(x * scale[c] + shift[c] (+ residual), 0) — the normalisation applied with folded
/// statistics, optionally adding a residual view and applying ReLU. `residual` data may be NULL.
void ck_affine_apply(int isa, ck_view x, ck_view residual, ck_view y, int images, int channels, int height, int width,
                     const float *_Nonnull scale, const float *_Nonnull shift, int relu);

/// First backward pass of batch norm (with an optional ReLU after it): g = dy * [y > 0], or
/// dy * [x * scale[c] + shift[c] > 0] (the ReLU's input recomputed as `ck_affine_apply` computed
/// it, so the same mask without reading y: when y data is NULL and `scale` non-NULL), or dy (both
/// NULL: no ReLU); sums[c] += sum g, sums[channels + c] += sum g * (x - mean[c]). Each row's float
/// sum is added into sums[c] in turn (image by image, row by row).
void ck_bn_backward_sums(int isa, ck_view dy, ck_view y, ck_view x, int images, int channels, int height, int width,
                         const float *_Nonnull mean, const float *_Nullable scale, const float *_Nullable shift,
                         double *_Nonnull sums);

/// Second backward pass: g as above;
/// dx (=|+=) a[c] * g + b[c] * (x - mean[c]) + d[c]  (the folded batch-norm input gradient), and,
/// with `dresidual` data non-NULL, dresidual (=|+=) g.
void ck_bn_backward_apply(int isa, ck_view dy, ck_view y, ck_view x, ck_view dx, int accumulate_dx,
                          ck_view dresidual, int accumulate_residual,
                          int images, int channels, int height, int width,
                          const float *_Nonnull mean, const float *_Nonnull a, const float *_Nonnull b,
                          const float *_Nonnull d, const float *_Nullable scale, const float *_Nullable shift);

/// dx (=|+=) dy * [y > 0]: ReLU backward over views.
void ck_relu_backward(int isa, ck_view dy, ck_view y, ck_view dx, int accumulate, int images, int channels,
                      int height, int width);

/// dst (=|+=) src over views.
void ck_copy(int isa, ck_view src, ck_view dst, int accumulate, int images, int channels, int height, int width);

// ---- Winograd convolution F(m×m, 3×3), stride 1 (winograd.c) ---------------------------------------
// m = 2 (4×4 input tiles, 2.25× fewer multiplications) or m = 4 (6×6 tiles, 4×). Same view
// convention as `ck_conv_forward` (the input view starts at the top-left corner of output (0, 0)'s
// receptive field and is readable for (hout + 2) × (wout + 2) elements per plane, plus slack).
// Tiles of all images are processed `block` at a time (rounded down to a multiple of 16, 16 to 256)
// in `scratch`.

/// Floats of transformed weights for `ck_winograd_forward`: (m+2)² · round_up(cout, 4) · cin.
long ck_winograd_weights_count(int m, int cout, int cin);

/// Floats of scratch for a convolution with `cin` inputs and `cout` outputs: enough for its
/// forward pass, its input gradient and its weight gradient.
long ck_winograd_scratch_count(int m, int cin, int cout, int block);

/// u = G w Gᵀ of weights w[cout][cin][3][3], laid out for `ck_winograd_forward`. With
/// `transpose_flip`, the weights of the input-gradient convolution (as `ck_conv_pack`): then u
/// holds (m+2)² · round_up(cin, 4) · cout floats.
void ck_winograd_transform_weights(int m, const float *_Nonnull w, int cout, int cin, int transpose_flip,
                                   float *_Nonnull u);

/// out (=|+=) bias + the 3×3 valid convolution of `in` with the weights transformed into `u`, as
/// `ck_conv_forward` (channel_sums: Σ and Σ² of each written output channel, only without
/// `accumulate`).
void ck_winograd_forward(int isa, int m, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout,
                         const float *_Nonnull u, const float *_Nullable bias, int accumulate,
                         double *_Nullable channel_sums, float *_Nonnull scratch, int block);

/// dw[co][ci][ky][kx] += Σ_{n,y,x} dy[n][co][y][x] · in[n][ci][y+ky][x+kx] (as
/// `ck_conv_backward_weights` with a 3×3 kernel, without the bias).
void ck_winograd_backward_weights(int isa, int m, ck_view dy, int cout, ck_view in, int cin, int images, int hout,
                                  int wout, float *_Nonnull dw, float *_Nonnull scratch, int block);

// ---- Convolutions as blocked matrix products (any kernel, any stride) ---------------------------
// Output positions of all images in blocks of `block` (a multiple of 16, 16 to 256): the block's
// im2col columns are gathered from the input view, which starts at the top-left corner of output
// (0, 0)'s receptive field (the zero border of `padding` around the image) and is readable for
// (hout − 1)·stride + kh rows (+ 1 column, + slack); then products on the Winograd micro-kernels.

/// Floats of the weights packed by `ck_gemm_conv_pack`.
long ck_gemm_conv_weights_count(int cout, int cin, int kh, int kw, int transpose);

/// Packs w[cout][cin][kh][kw] for `ck_gemm_conv_forward`, or with `transpose` for
/// `ck_gemm_conv_backward_input`.
void ck_gemm_conv_pack(const float *_Nonnull w, int cout, int cin, int kh, int kw, int transpose,
                       float *_Nonnull packed);

/// Floats of scratch for the three products of one convolution.
long ck_gemm_conv_scratch_count(int cin, int cout, int kh, int kw, int block);

/// out[n][co][oy][ox] (=|+=) bias[co] + Σ w[co][ci][ky][kx] · in[n][ci][oy·stride + ky][ox·stride + kx]
/// (channel_sums: Σ and Σ² of each written output channel, only without `accumulate`).
void ck_gemm_conv_forward(int isa, ck_view in, int cin, ck_view out, int cout, int images, int hout, int wout, int kh,
                          int kw, int stride, const float *_Nonnull packed, const float *_Nullable bias, int accumulate,
                          double *_Nullable channel_sums, float *_Nonnull scratch, int block);

/// dx (=|+=) the input gradient: dx[n][ci][iy][ix] = Σ over the outputs (oy, ox) and taps with
/// iy = oy·stride − padding + ky, ix = ox·stride − padding + kx of w[co][ci][ky][kx] · dy[n][co][oy][ox].
/// `dx` is the image itself (no border; height × width), `dy` dense enough for its rows.
void ck_gemm_conv_backward_input(int isa, ck_view dy, int cout, ck_view dx, int cin, int images, int height, int width,
                                 int hout, int wout, int kh, int kw, int stride, int padding, int accumulate,
                                 const float *_Nonnull packed_transposed, float *_Nonnull scratch, int block);

/// dw[co][ci][ky][kx] += Σ dy[n][co][oy][ox] · in[n][ci][oy·stride + ky][ox·stride + kx] (no bias).
void ck_gemm_conv_backward_weights(int isa, ck_view dy, int cout, ck_view in, int cin, int images, int hout, int wout,
                                   int kh, int kw, int stride, float *_Nonnull dw, float *_Nonnull scratch, int block);

#endif
