#ifndef AIRBENCH_SIMD_H
#define AIRBENCH_SIMD_H
// Internal C kernels of Airbench. Every tensor is a flat fp32 buffer in NHWC ("channels last") layout
// with the batch folded into the rows: a row is one pixel of one image, holding its C channels contiguously.
// Each fast kernel has an obvious reference in Swift (AirbenchKernels/Reference*.swift) that tests compare with.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------------------
// CPU features and instruction-set choice
// ---------------------------------------------------------------------------------------------------------

/// Instruction-set paths of the kernels. The best one the CPU supports is chosen at run time.
typedef enum {
    AB_ISA_PORTABLE = 0,  ///< plain C, any CPU (x86-64 baseline, arm64, ...)
    AB_ISA_AVX2 = 1,      ///< x86-64 AVX2 + FMA, 8-wide fp32
    AB_ISA_AVX512 = 2,    ///< x86-64 AVX-512 (F, BW, DQ, VL): the GEMM micro-kernel on 16-wide zmm registers
} ab_isa;

/// The best path this CPU supports.
ab_isa ab_isa_detect(void);
/// The path the kernels use now (the detected one unless overridden).
ab_isa ab_isa_active(void);
/// Forces a path (tests use it to run the portable code on any machine); returns the path now in use,
/// which is the detected one if `isa` is not supported here.
ab_isa ab_isa_override(ab_isa isa);
/// A register-only loop of independent FMAs on the active path, measuring the fp32 peak of one core in FLOP/s.
double ab_measure_fma_peak(double seconds);
/// The best of `repeats` parallel copies (memcpy, on every thread) of `bytes` between two buffers, in bytes read and
/// written per second: the memory roof of `airbench bench`'s roofline.
double ab_measure_copy_bandwidth(size_t bytes, int repeats);

/// Precision of the convolutions' operands. Everything else (activations, BatchNorm, the optimizer,
/// the master weights) is fp32 on every path.
typedef enum {
    AB_PRECISION_FP32 = 0,  ///< fp32 operands, fp32 accumulation
    AB_PRECISION_BF16 = 1,  ///< operands rounded to bf16 (nearest even), products summed in fp32 (vdpbf16ps)
} ab_precision;

/// Whether this CPU has the bf16 path (AVX-512 with AVX512_BF16).
int ab_bf16_supported(void);
/// The precision the convolutions use now: bf16 only while the active path is AVX-512 on a CPU with
/// AVX512_BF16 and bf16 is chosen (the default where supported).
ab_precision ab_precision_active(void);
/// Chooses a precision; returns the one now in use (fp32 where bf16 is not available on the active path).
ab_precision ab_precision_override(ab_precision precision);
/// A register-only loop of independent `vdpbf16ps`, measuring the bf16 peak of one core in FLOP/s (0 where the
/// CPU has no AVX512_BF16).
double ab_measure_bf16_peak(double seconds);
/// Rounds fp32 to bf16 as the bf16 path does (nearest even; subnormals to signed zero, as `vcvtneps2bf16`).
uint16_t ab_bf16_from_float(float value);

// ---------------------------------------------------------------------------------------------------------
// Threads: one process-wide pool. Work is split by task index (statically, or starting so and then balanced),
// and every kernel is written so that its results do not depend on how many threads run it nor on which runs a
// task (each output element is computed by one task, in a fixed order; reductions are over fixed chunks combined
// in a fixed order).
// ---------------------------------------------------------------------------------------------------------

/// Sets the number of threads (1 ... 256); returns the number now in use.
int ab_set_threads(int threads);
int ab_threads(void);
/// Runs body(context, begin, end, thread) over [0, count), each thread a contiguous part; waits for all.
void ab_parallel_for(int count, void (*body)(void *context, int begin, int end, int thread), void *context);
/// ab_parallel_for one task at a time (end = begin + 1), each thread starting on its own part and then taking the
/// tasks left in the others'. Only for tasks that are independent of one another and of the thread that runs them.
void ab_parallel_for_balanced(int count, void (*body)(void *context, int begin, int end, int thread), void *context);

// ---------------------------------------------------------------------------------------------------------
// Convolution as implicit GEMM over NHWC rows
// ---------------------------------------------------------------------------------------------------------

/// Shape of one convolution. out(n, oy, ox, co) = Σ_{ky,kx,ci} in(n, oy+ky−pad, ox+kx−pad, ci) · w[co][ci][ky][kx],
/// the input read as zero outside [0, in_h) × [0, in_w). out_h and out_w may be smaller than the full output
/// (in + 2·pad − kernel + 1): then only that top-left part is computed (a 2×2 max-pool with floor drops the rest).
typedef struct {
    int batch;
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int kernel_h, kernel_w;
    int pad;
} ab_conv_shape;

/// Floats needed for packed weights of `shape` (for ab_conv_forward).
size_t ab_conv_packed_count(const ab_conv_shape *shape);
/// Packs OIHW weights (out_c × in_c × kernel_h × kernel_w) for ab_conv_forward with `shape`.
void ab_conv_pack_weights(const ab_conv_shape *shape, const float *weight_oihw, float *packed);
/// The shape whose forward pass is the backward-data pass of `forward`: input = dOut, output = dIn.
ab_conv_shape ab_conv_backward_data_shape(const ab_conv_shape *forward);
/// Packs OIHW weights of `forward` (flipped and transposed) for ab_conv_forward with
/// ab_conv_backward_data_shape(forward).
void ab_conv_pack_weights_backward_data(const ab_conv_shape *forward, const float *weight_oihw, float *packed);
/// output: batch × out_h × out_w × out_c, overwritten.   input: batch × in_h × in_w × in_c.
void ab_conv_forward(const ab_conv_shape *shape, const float *input, const float *packed, float *output);
/// Weight gradient: grad_oihw (out_c × in_c × kernel_h × kernel_w) is overwritten with
/// Σ_{n,oy,ox} dOut(n,oy,ox,co) · in(n, oy+ky−pad, ox+kx−pad, ci).   grad_output: batch × out_h × out_w × out_c.
void ab_conv_backward_weights(const ab_conv_shape *shape, const float *input, const float *grad_output,
                              float *grad_oihw);

/// Whether ab_winograd_forward handles `shape`: 3×3 kernels (stride 1, any padding and output size).
int ab_winograd_supports(const ab_conv_shape *shape);
/// Winograd's F(m×m, 3×3) computes m×m outputs per tile: `tile` is m, 2, 4 or 6. `precision` is that of the products
/// in the Winograd domain, independent of ab_precision_active (which is the direct convolutions'):
///   AB_PRECISION_FP32: transformed operands and sums in fp32;
///   AB_PRECISION_BF16: the transformed operands (inputs, weights, output gradients) rounded to bf16 (nearest even)
///     in pairs along the reduction, products summed in fp32: vdpbf16ps on AVX-512 with AVX512_BF16 (active path
///     avx512), elsewhere a plain-C kernel of the same arithmetic (slow: for checking it on any CPU).
/// The transforms themselves are fp32 in both.
/// Floats needed for Winograd-transformed weights of `shape` (for ab_winograd_forward with the same tile and
/// precision; bf16 weights take half).
size_t ab_winograd_packed_count(const ab_conv_shape *shape, int tile, ab_precision precision);
/// Transforms and packs OIHW 3×3 weights for ab_winograd_forward with `shape`, `tile` and `precision`.
void ab_winograd_pack_weights(const ab_conv_shape *shape, int tile, ab_precision precision, const float *weight_oihw,
                              float *packed);
/// The same for the backward-data pass: for ab_winograd_forward with ab_conv_backward_data_shape(forward).
void ab_winograd_pack_weights_backward_data(const ab_conv_shape *forward, int tile, ab_precision precision,
                                            const float *weight_oihw, float *packed);
/// The convolution of ab_conv_forward by Winograd's F(tile×tile, 3×3): the same result up to rounding, with
/// (tile+2)² instead of 9·tile² multiply-adds per tile×tile outputs (F(2×2): 16 for 36; F(4×4): 36 for 144).
void ab_winograd_forward(const ab_conv_shape *shape, int tile, ab_precision precision, const float *input,
                         const float *packed, float *output);
/// ab_winograd_forward followed by ab_maxpool_forward with k = 2, fused: each tile's outputs are pooled while in
/// cache and never written out. pooled: batch × ⌊out_h/2⌋ × ⌊out_w/2⌋ × out_c and argmax (the window index of each
/// maximum) of the same size, overwritten; bit for bit what the two calls give.
void ab_winograd_forward_pooled(const ab_conv_shape *shape, int tile, ab_precision precision, const float *input,
                                const float *packed, float *pooled, uint8_t *argmax);
/// The weight gradient of ab_conv_backward_weights by Winograd's F(3×3, tile×tile) (the same result up to
/// rounding): (tile+2)² instead of 9·tile² multiply-adds per tile×tile outputs, input and output channel.
void ab_winograd_backward_weights(const ab_conv_shape *shape, int tile, ab_precision precision, const float *input,
                                  const float *grad_output, float *grad_oihw);
/// Tests: the weight gradient's pool thread `thread` (-1: none) waits before each chunk of tiles it adds until some
/// thread has taken units (from it or another) since this call, or a second has passed.
void ab_winograd_weights_slow_thread(int thread);
/// How many times a thread has taken units of ab_winograd_backward_weights from another since the process started.
long ab_winograd_weights_takes(void);

// ---------------------------------------------------------------------------------------------------------
// Memory-bound layers (NHWC rows × channels)
// ---------------------------------------------------------------------------------------------------------

/// The activations: exact GELU(x) = x·Φ(x) (erf Φ; airbench) and SiLU(x) = x·σ(x) (hiverge's ConvGroups).
/// AB_ACTIVATION_NONE is the identity (for the affine maps only).
typedef enum {
    AB_ACTIVATION_NONE = 0,
    AB_ACTIVATION_GELU = 1,
    AB_ACTIVATION_SILU = 2,
} ab_activation;

/// y = activation(x) (GELU or SiLU). y may equal x.
void ab_activation_forward(ab_activation activation, const float *x, float *y, size_t count);
/// dx = dy · activation'(x), overwritten. dx may equal dy.
void ab_activation_backward(ab_activation activation, const float *x, const float *dy, float *dx, size_t count);
/// Per-channel sums over rows, in double: sum[c] = Σ x, sum_squares[c] = Σ x². Thread-count independent.
void ab_channel_sums(const float *x, size_t rows, int channels, double *sum, double *sum_squares);
/// y = activation(x · scale[c] + shift[c]) (BatchNorm's affine map fused with the activation; NONE: the map
/// alone). y may equal x.
void ab_affine_activation(const float *x, size_t rows, int channels, const float *scale, const float *shift,
                          ab_activation activation, float *y);
/// BatchNorm + activation backward, step 1: dz = dy · activation'(x·scale + shift) (GELU or SiLU), written to
/// dz (may equal dy); returns per-channel Σ dz and Σ dz·x in double.
void ab_affine_activation_backward(const float *x, const float *dy, size_t rows, int channels, const float *scale,
                                   const float *shift, ab_activation activation, float *dz, double *sum_dz,
                                   double *sum_dz_x);
/// dx = dz · a[c] + x · b[c] + d[c] (the BatchNorm input gradient written as an affine map of dz and x).
void ab_batchnorm_input_grad(const float *dz, const float *x, size_t rows, int channels, const float *a,
                             const float *b, const float *d, float *dx);
/// Max-pool with a k×k window and stride k (floor): y is batch × (h/k) × (w/k) × c; argmax (same count as y)
/// gets the window index ky·k + kx of the first maximum in scan order, as PyTorch does.
void ab_maxpool_forward(const float *x, int batch, int h, int w, int channels, int k, float *y, uint8_t *argmax);
/// BatchNorm's input gradient as an affine map of its output gradient dz and its input x (NHWC, x as dz):
/// dx = dz · a[c] + x · b[c] + d[c] (ab_batchnorm_input_grad's map).
typedef struct {
    const float *x;
    const float *a, *b, *d;
} ab_norm_input_grad;
/// dx (batch × h × w × c) overwritten: dy routed to each window's argmax, zero elsewhere. With `norm` (else NULL)
/// dy is the dz of the BatchNorm that follows the pool, and what is routed is its input gradient (norm's map of dy
/// and norm->x, both batch × h/k × w/k × c): the two passes in one, the same bits.
void ab_maxpool_backward(const float *dy, const ab_norm_input_grad *norm, const uint8_t *argmax, int batch, int h,
                         int w, int channels, int k, float *dx);

// ---------------------------------------------------------------------------------------------------------
// The classifier head and the parameter updates (the same bits as the plain loops: no contraction into FMAs)
// ---------------------------------------------------------------------------------------------------------

/// logits (batch × classes) overwritten: logits[b][j] = scale · Σ_c features[b][c] · weight[j][c], the sum over
/// c ascending; features batch × width, weight classes × width.
void ab_linear_forward(const float *features, const float *weight, int batch, int width, int classes, float scale,
                       float *logits);
/// Its gradients, both overwritten: grad_weight[j][c] = scale · Σ_b grad_logits[b][j] · features[b][c] (b ascending)
/// and grad_features[b][c] = scale · Σ_j grad_logits[b][j] · weight[j][c] (j ascending).
void ab_linear_backward(const float *grad_logits, const float *features, const float *weight, int batch, int width,
                        int classes, float scale, float *grad_weight, float *grad_features);
/// Nesterov SGD on `count` parameters in place: d = g + weight_decay·p; buffer = d at the first step, else
/// momentum·buffer + d; p −= learning_rate·(d + momentum·buffer).
void ab_nesterov_update(float *parameters, const float *gradients, float *buffer, size_t count, float learning_rate,
                        float weight_decay, float momentum, int first);
/// Lookahead's sync: slow += weight·(fast − slow), then fast = slow.
void ab_lookahead_update(float *fast, float *slow, size_t count, float weight);

#ifdef __cplusplus
}
#endif
#endif
