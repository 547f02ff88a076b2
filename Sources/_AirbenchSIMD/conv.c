// Convolution as implicit GEMM over NHWC rows (the batch folded into the rows):
//   forward      C[m][co] = Σ_k A[m][k] · B[k][co],  m = (n, oy, ox), k = (ky, kx, ci)
//   backward-data is the forward pass of the flipped, transposed kernel over dOut (ab_conv_backward_data_shape)
//   backward-weights dW[k][co] = Σ_m A[m][k] · dOut[m][co]
// A is never materialised for the whole batch: a group of output rows gathers its im2col rows (one contiguous
// run of in_c channels per tap, or zeros for padding) into a per-thread buffer that stays in L2 while every
// output-channel panel of packed weights streams over it. The micro-kernel holds a MR × NR tile of C in
// registers (AVX2: 6 rows × 16 channels = 12 ymm accumulators; AVX-512: 14 rows × 16 channels = 14 zmm).
// On the bf16 path (conv_avx512.c) the gathered rows and the packed weights are bf16 and the micro-kernel is
// vdpbf16ps: the same loops over half the bytes, at twice the multiply-adds per instruction.
#include "airbench_simd.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define NR AB_NR        // output channels per packed weight panel
#define MR AB_MR        // output rows per micro-tile
#define GROUP_BYTES (192 * 1024)  // gathered A rows per group: leaves room in a 512 KiB L2 for a weight panel
#define CHUNK_ROWS 128  // rows of dOut per step of the weight-gradient reduction (gathered rows stay in L2)

static int taps_of(const ab_conv_shape *s) { return s->kernel_h * s->kernel_w; }
static int depth_of(const ab_conv_shape *s) { return taps_of(s) * s->in_c; }
static int panels_of(int channels) { return (channels + NR - 1) / NR; }

static int bf16_active(void) { return ab_precision_active() == AB_PRECISION_BF16; }
// The reduction depth as packed: bf16 pairs k, so an odd depth gets one zero.
static int packed_depth(const ab_conv_shape *s, int bf16) { return bf16 ? (depth_of(s) + 1) & ~1 : depth_of(s); }

size_t ab_conv_packed_count(const ab_conv_shape *s) {
    int bf16 = bf16_active();
    size_t elements = (size_t)panels_of(s->out_c) * packed_depth(s, bf16) * NR;
    return bf16 ? (elements + 1) / 2 : elements;  // in floats: bf16 takes half
}

// Zeros past out_c (and past the depth), then weight of output channel co at depth k = tap·in_c + ci.
void ab_conv_pack_weights(const ab_conv_shape *s, const float *w, float *packed) {
    int bf16 = bf16_active(), depth = packed_depth(s, bf16), taps = taps_of(s);
    memset(packed, 0, sizeof(float) * ab_conv_packed_count(s));
    for (int co = 0; co < s->out_c; co++)
        for (int ci = 0; ci < s->in_c; ci++)
            for (int tap = 0; tap < taps; tap++)
                ab_put_packed(packed, bf16, depth, tap * s->in_c + ci, co, w[((size_t)co * s->in_c + ci) * taps + tap]);
}

ab_conv_shape ab_conv_backward_data_shape(const ab_conv_shape *f) {
    ab_conv_shape b = *f;
    b.in_h = f->out_h;
    b.in_w = f->out_w;
    b.in_c = f->out_c;
    b.out_h = f->in_h;
    b.out_w = f->in_w;
    b.out_c = f->in_c;
    b.pad = f->kernel_h - 1 - f->pad;  // square kernels and padding only
    return b;
}

// For the backward-data pass, output channel = forward ci, input channel = forward co, tap flipped.
void ab_conv_pack_weights_backward_data(const ab_conv_shape *f, const float *w, float *packed) {
    ab_conv_shape b = ab_conv_backward_data_shape(f);
    int bf16 = bf16_active(), depth = packed_depth(&b, bf16), taps = taps_of(f);
    memset(packed, 0, sizeof(float) * ab_conv_packed_count(&b));
    for (int co = 0; co < f->out_c; co++)
        for (int ci = 0; ci < f->in_c; ci++)
            for (int tap = 0; tap < taps; tap++)
                ab_put_packed(packed, bf16, depth, (taps - 1 - tap) * b.in_c + co, ci,
                              w[((size_t)co * f->in_c + ci) * taps + tap]);
}

// ---- micro-kernels (see internal.h) --------------------------------------------------------------------------

static void kernel_portable(int depth, const void *a_, int lda, const void *b_, float *c, int ldc, int rows,
                            int cols) {
    const float *a = a_, *b = b_;
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < depth; k++)
        for (int r = 0; r < MR; r++) {
            float av = a[r * lda + k];
            for (int j = 0; j < NR; j++) acc[r][j] += av * b[k * NR + j];
        }
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) c[(size_t)r * ldc + j] = acc[r][j];
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static inline __m256i column_mask(int count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lanes);
}

__attribute__((target("avx2,fma"))) static void kernel_avx2(int depth, const void *a_, int lda, const void *b_,
                                                           float *c, int ldc, int rows, int cols) {
    const float *a = a_, *b = b_;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
#pragma clang loop unroll_count(4)
    for (int k = 0; k < depth; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * NR), b1 = _mm256_loadu_ps(b + k * NR + 8), x;
        x = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + k); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + k); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + k); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + k); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 tile[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (cols == NR) {
        for (int r = 0; r < rows; r++) {
            _mm256_storeu_ps(c + (size_t)r * ldc, tile[r][0]);
            _mm256_storeu_ps(c + (size_t)r * ldc + 8, tile[r][1]);
        }
    } else {
        __m256i low = column_mask(cols), high = column_mask(cols - 8);
        for (int r = 0; r < rows; r++) {
            _mm256_maskstore_ps(c + (size_t)r * ldc, low, tile[r][0]);
            _mm256_maskstore_ps(c + (size_t)r * ldc + 8, high, tile[r][1]);
        }
    }
}
#endif

ab_gemm_kernel ab_fp32_kernel(void) {
#if defined(__x86_64__)
    if (ab_isa_active() == AB_ISA_AVX512) return ab_kernel_avx512;
    if (ab_isa_active() == AB_ISA_AVX2) return (ab_gemm_kernel){kernel_avx2, MR, 0};
#endif
    return (ab_gemm_kernel){kernel_portable, MR, 0};
}

ab_gemm_kernel ab_conv_kernel(void) {
#if defined(__x86_64__)
    if (bf16_active()) return ab_kernel_bf16;
#endif
    return ab_fp32_kernel();
}

// ---- forward ------------------------------------------------------------------------------------------------

typedef struct {
    const ab_conv_shape *s;
    const float *input, *packed;
    const uint16_t *input_bf16;  // bf16 path: the input rounded to bf16
    float *output;
    int rows_per_group;
    ab_gemm_kernel kernel;
} forward_job;

// Short runs (the network's 3, 24 and 64 channels) are copied inline: a memcpy call per run costs more than
// the copy, and a forward pass gathers millions of runs.
static inline void copy_floats(float *to, const float *from, int count) {
    if (count > 64) {
        memcpy(to, from, sizeof(float) * count);
        return;
    }
    for (int i = 0; i < count; i++) to[i] = from[i];
}

// Gathers the im2col row of output pixel m: for each tap the in_c channels of the input pixel it reads,
// or zeros where that pixel is padding.
static void gather_row(const ab_conv_shape *s, const float *input, long m, float *row) {
    long pixels = (long)s->out_h * s->out_w;
    int n = (int)(m / pixels), rest = (int)(m % pixels), oy = rest / s->out_w, ox = rest % s->out_w;
    size_t run = sizeof(float) * s->in_c;
    for (int ky = 0; ky < s->kernel_h; ky++)
        for (int kx = 0; kx < s->kernel_w; kx++, row += s->in_c) {
            int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
            if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) {
                memset(row, 0, run);
                continue;
            }
            const float *source = input + (((size_t)n * s->in_h + iy) * s->in_w + ix) * s->in_c;
            copy_floats(row, source, s->in_c);
        }
}

static void forward_part(void *context, int begin, int end, int thread) {
    forward_job *job = context;
    const ab_conv_shape *s = job->s;
    ab_gemm_kernel kernel = job->kernel;
    long rows = (long)s->batch * s->out_h * s->out_w;
    int depth = packed_depth(s, kernel.bf16), panels = panels_of(s->out_c), mr = kernel.tile_rows;
    size_t element = kernel.bf16 ? 2 : 4, row_bytes = element * depth;
    char *a = ab_thread_scratch(thread, 0, row_bytes * job->rows_per_group);
    for (int group = begin; group < end; group++) {
        long first = (long)group * job->rows_per_group;
        int count = (int)(rows - first < job->rows_per_group ? rows - first : job->rows_per_group);
        int padded = (count + mr - 1) / mr * mr;
        for (int r = 0; r < count; r++) {
#if defined(__x86_64__)
            if (kernel.bf16) {
                ab_gather_row_bf16(s, job->input_bf16, first + r, (uint16_t *)(a + r * row_bytes), depth);
                continue;
            }
#endif
            gather_row(s, job->input, first + r, (float *)(a + r * row_bytes));
        }
        memset(a + count * row_bytes, 0, (padded - count) * row_bytes);
        for (int panel = 0; panel < panels; panel++) {
            const char *b = (const char *)job->packed + (size_t)panel * depth * NR * element;
            int cols = s->out_c - panel * NR < NR ? s->out_c - panel * NR : NR;
            for (int r = 0; r < count; r += mr) {
                float *c = job->output + (size_t)(first + r) * s->out_c + panel * NR;
                kernel.run(depth, a + r * row_bytes, depth, b, c, s->out_c, count - r < mr ? count - r : mr, cols);
            }
        }
    }
}

void ab_conv_forward(const ab_conv_shape *s, const float *input, const float *packed, float *output) {
    ab_gemm_kernel kernel = ab_conv_kernel();
    long rows = (long)s->batch * s->out_h * s->out_w;
    size_t row_bytes = (kernel.bf16 ? 2 : 4) * (size_t)packed_depth(s, kernel.bf16);
    int mr = kernel.tile_rows, per_group = (int)(GROUP_BYTES / row_bytes) / mr * mr;
    if (per_group < mr) per_group = mr;
    if (per_group > 16 * mr) per_group = 16 * mr;
    forward_job job = {s, input, packed, NULL, output, per_group, kernel};
#if defined(__x86_64__)
    if (kernel.bf16) job.input_bf16 = ab_shared_bf16_copy(input, (size_t)s->batch * s->in_h * s->in_w * s->in_c);
#endif
    ab_parallel_for_balanced((int)((rows + per_group - 1) / per_group), forward_part, &job);
}

// ---- backward-weights -----------------------------------------------------------------------------------------
// dW is accumulated as [tap][ci][co] (ci padded to a multiple of MR, co to whole panels of NR) in tiles of MR input
// channels × NR output channels. For a chunk of CHUNK_ROWS output rows each thread packs dOut panel-major
// ([panel][m][NR], zeros past out_c) and, per tap, gathers the input rows that tap reads block-major
// ([ci block][m][MR], zeros for padding and past in_c); a tile then adds Σ_m A[m][ci..ci+MR) ⊗ dOut[m][co..co+NR)
// reading both operands contiguously. (Read in place, rows 1 KiB apart all fall into 4 of the L1's 64 sets, so
// nothing stayed in L1 between tiles.) Threads own disjoint tiles and each walks all rows in the same chunk order,
// so every gradient element is the same sum in the same order whatever the thread count. The AVX-512 path
// (conv_avx512.c) does the same with 16-channel blocks and longer chunks, in fp32 or in bf16 (pairs of rows).

typedef ab_weights_job weights_job;  // (internal.h) block = MR here, AB_WIDE_BLOCK on the AVX-512 path

// Prefetches slice `part` of `parts` of the memory the chunk of rows first ..< first+count reads: its dOut rows
// and the input pixels its taps read (element = bytes per input element: 4, or 2 from a bf16 copy). A thread
// spreads one chunk's prefetch over the tiles of the chunk before, so the rows arrive from memory while it
// computes instead of stalling its packing and its first gather (in conv1 layers dOut is 4× the input).
void ab_prefetch_chunk(const ab_conv_shape *s, const void *input, int element, const float *grad_output,
                       long first, int count, int part, int parts) {
    if (count <= 0 || parts <= 0) return;
    long pixels = (long)s->out_h * s->out_w, last = first + count - 1;
    int n0 = (int)(first / pixels), n1 = (int)(last / pixels);
    int y0 = (int)(first % pixels) / s->out_w - s->pad, y1 = (int)(last % pixels) / s->out_w + s->kernel_h - 1 - s->pad;
    long from = ((long)n0 * s->in_h + (y0 < 0 ? 0 : y0)) * s->in_w;
    long to = ((long)n1 * s->in_h + (y1 >= s->in_h ? s->in_h - 1 : y1) + 1) * s->in_w;
    const char *regions[2] = {(const char *)input + (size_t)from * s->in_c * element,
                              (const char *)(grad_output + (size_t)first * s->out_c)};
    size_t bytes[2] = {(size_t)(to - from) * s->in_c * element, (size_t)count * s->out_c * sizeof(float)};
    for (int r = 0; r < 2; r++) {
        size_t lines = (bytes[r] + 63) / 64, begin = lines * part / parts, end = lines * (part + 1) / parts;
        ab_prefetch_lines(regions[r] + 64 * begin, 64 * (end - begin), 0);
    }
}

#define BLOCK_STRIDE (CHUNK_ROWS * MR + 8)  // floats per gathered ci block; the slack takes 8-wide copies' spill

// acc[r][0..NR) += Σ_m a[m·rows + r] · g[m·NR + j] for r < rows.
static void weights_tile_portable(const float *a, int rows, const float *g, int count, float *acc, int ldacc) {
    for (int m = 0; m < count; m++)
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < NR; j++) acc[r * ldacc + j] += a[m * rows + r] * g[m * NR + j];
}

#if defined(__x86_64__)
// acc[r][0..NR) += Σ_m a[m·stride + r] · g[m·g_stride + j] for r < rows (≤ MR), two ymm accumulators per row: per m,
// 2 loads and `rows` broadcasts feed 2·rows FMAs, fma(a, g, acc) over m ascending.
__attribute__((target("avx2,fma"), always_inline)) static inline void tile_rows_avx2(const float *a, int stride,
                                                                                    const float *g, int g_stride,
                                                                                    int count, float *acc, int ldacc,
                                                                                    const int rows) {
    __m256 t0[MR], t1[MR];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        t0[r] = _mm256_loadu_ps(acc + r * ldacc);
        t1[r] = _mm256_loadu_ps(acc + r * ldacc + 8);
    }
#pragma clang loop unroll_count(2)
    for (int m = 0; m < count; m++, a += stride, g += g_stride) {
        __m256 g0 = _mm256_loadu_ps(g), g1 = _mm256_loadu_ps(g + 8);
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            __m256 x = _mm256_broadcast_ss(a + r);
            t0[r] = _mm256_fmadd_ps(x, g0, t0[r]);
            t1[r] = _mm256_fmadd_ps(x, g1, t1[r]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_ps(acc + r * ldacc, t0[r]);
        _mm256_storeu_ps(acc + r * ldacc + 8, t1[r]);
    }
}

__attribute__((target("avx2,fma"))) static void weights_tile_avx2(const float *a, const float *g, int count,
                                                                  float *acc, int ldacc) {
    tile_rows_avx2(a, MR, g, NR, count, acc, ldacc, MR);
}
#endif

// ---- the tiles of Winograd's weight gradient (conv_winograd_weights.c) ------------------------------------------
// Blocks of 8 input channels (a power of two, which its copies into the block-major buffers take as one 32-byte
// move): acc[r][j] += Σ_m a[m·8 + r] · g[m·NR + j] for r < 8 and the NR columns of one panel (or two).
#define WINOGRAD_BLOCK 8

static void winograd_tiles_portable(const void *a, const void *g0, const void *g1, int count, float *acc,
                                    int ldacc, int channels) {
    (void)channels;
    weights_tile_portable(a, WINOGRAD_BLOCK, g0, count, acc, ldacc);
    if (g1) weights_tile_portable(a, WINOGRAD_BLOCK, g1, count, acc + NR, ldacc);
}

#if defined(__x86_64__)
// Four rows at a time (8 ymm accumulators).
__attribute__((target("avx2,fma"))) static void winograd_tile_avx2(const float *a, const float *g, int count,
                                                                   float *acc, int ldacc, int channels) {
    for (int half = 0; half < WINOGRAD_BLOCK && half < channels; half += 4)
        tile_rows_avx2(a + half, WINOGRAD_BLOCK, g, NR, count, acc + (size_t)half * ldacc, ldacc, 4);
}

static void winograd_tiles_avx2(const void *a, const void *g0, const void *g1, int count, float *acc, int ldacc,
                                int channels) {
    winograd_tile_avx2(a, g0, count, acc, ldacc, channels);
    if (g1) winograd_tile_avx2(a, g1, count, acc + NR, ldacc, channels);
}

// The AVX2 tile over V and U as the transforms write them (internal.h): six rows, twelve accumulators.
__attribute__((target("avx2,fma"))) void ab_weights_rows_avx2(const float *a, int lda, const float *g, int ldg,
                                                              int count, float *acc, int ldacc, int rows) {
    switch (rows) {
    case 6: tile_rows_avx2(a, lda, g, ldg, count, acc, ldacc, 6); break;
    case 5: tile_rows_avx2(a, lda, g, ldg, count, acc, ldacc, 5); break;
    case 4: tile_rows_avx2(a, lda, g, ldg, count, acc, ldacc, 4); break;
    case 3: tile_rows_avx2(a, lda, g, ldg, count, acc, ldacc, 3); break;
    case 2: tile_rows_avx2(a, lda, g, ldg, count, acc, ldacc, 2); break;
    default: tile_rows_avx2(a, lda, g, ldg, count, acc, ldacc, 1); break;
    }
}
#endif

ab_weights_tile ab_weights_tile_fp32(void) {
#if defined(__x86_64__)
    if (ab_isa_active() == AB_ISA_AVX512) return ab_weights_tile_avx512;
    if (ab_isa_active() == AB_ISA_AVX2) return (ab_weights_tile){winograd_tiles_avx2, WINOGRAD_BLOCK, 0};
#endif
    return (ab_weights_tile){winograd_tiles_portable, WINOGRAD_BLOCK, 0};
}

// ---- bf16 products in plain C: the reference of the AVX512_BF16 pieces (ab_bf16_arithmetic, internal.h) ----------
// What vdpbf16ps computes, spelled out: operands rounded to bf16 (nearest even), each product exact in fp32, a pair's
// two products added, the pair's sum added to the fp32 accumulator. (The hardware may order those two additions
// differently: the results agree up to fp32 summation order.) Any CPU runs it, slowly, so the bf16 Winograd
// convolutions can be checked everywhere; training never runs it (bf16 needs ab_bf16_hardware).

static inline float float_from_bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;  // bf16 is the upper half of an fp32
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

// a[0]·b[0] + a[1]·b[1] of two bf16 pairs: both products exact, one rounding for their sum.
static inline float pair_product(const uint16_t *a, const uint16_t *b) {
    float p0 = float_from_bf16(a[0]) * float_from_bf16(b[0]), p1 = float_from_bf16(a[1]) * float_from_bf16(b[1]);
    return p0 + p1;
}

// The GEMM micro-kernel (ab_gemm_kernel): a rows of bf16 with k contiguous (depth even), b [k/2][NR][2].
static void kernel_bf16_portable(int depth, const void *a_, int lda, const void *b_, float *c, int ldc, int rows,
                                 int cols) {
    const uint16_t *a = a_, *b = b_;
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < depth; k += 2)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r][j] += pair_product(a + r * lda + k, b + (size_t)k * NR + 2 * j);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) c[(size_t)r * ldc + j] = acc[r][j];
}

// acc[r][j] += Σ_p a[p][r]·g[p][j] (pairs) over the (count + 1) / 2 pairs of rows, r < block: a[p][block][2], g[p][NR][2].
static void weights_tile_bf16_portable(const uint16_t *a, int block, const uint16_t *g, int count, float *acc,
                                       int ldacc) {
    for (int p = 0; p < (count + 1) / 2; p++)
        for (int r = 0; r < block; r++)
            for (int j = 0; j < NR; j++)
                acc[r * ldacc + j] += pair_product(a + ((size_t)p * block + r) * 2, g + ((size_t)p * NR + j) * 2);
}

static void winograd_tiles_bf16_portable(const void *a, const void *g0, const void *g1, int count, float *acc,
                                         int ldacc, int channels) {
    (void)channels;
    weights_tile_bf16_portable(a, WINOGRAD_BLOCK, g0, count, acc, ldacc);
    if (g1) weights_tile_bf16_portable(a, WINOGRAD_BLOCK, g1, count, acc + NR, ldacc);
}

static void round_bf16_portable(const float *from, int count, uint16_t *to) {
    for (int i = 0; i < count; i++) to[i] = ab_bf16_from_float(from[i]);
}

static void round_bf16_pairs_portable(const float *x0, const float *x1, int count, uint16_t *to) {
    for (int i = 0; i < count; i++) {
        to[2 * i] = ab_bf16_from_float(x0[i]);
        to[2 * i + 1] = x1 ? ab_bf16_from_float(x1[i]) : 0;
    }
}

ab_bf16_arithmetic ab_bf16_arithmetic_active(void) {
#if defined(__x86_64__)
    if (ab_bf16_hardware()) return ab_bf16_avx512;
#endif
    return (ab_bf16_arithmetic){{kernel_bf16_portable, MR, 1}, {winograd_tiles_bf16_portable, WINOGRAD_BLOCK, 1},
                                round_bf16_portable, round_bf16_pairs_portable};
}

// Packs dOut rows first ..< first+count panel-major: g[panel][m][NR], zeros past out_c.
static void pack_grad_output(const ab_conv_shape *s, const float *grad_output, long first, int count, int panels,
                             float *g) {
    for (int panel = 0; panel < panels; panel++) {
        int co = panel * NR, cols = s->out_c - co < NR ? s->out_c - co : NR;
        const float *source = grad_output + (size_t)first * s->out_c + co;
        float *target = g + (size_t)panel * CHUNK_ROWS * NR;
        for (int m = 0; m < count; m++, source += s->out_c, target += NR) {
            copy_floats(target, source, cols);
            for (int j = cols; j < NR; j++) target[j] = 0;
        }
    }
}

// Gathers, for output rows first ..< first+count and one tap, the input row each reads block-major:
// a[block][m][MR] (block stride BLOCK_STRIDE), zeros for padding pixels and past in_c.
static void gather_tap(const ab_conv_shape *s, const float *input, long first, int count, int tap, int blocks,
                       float *a) {
    long pixels = (long)s->out_h * s->out_w;
    int ky = tap / s->kernel_w, kx = tap % s->kernel_w;
    // Blocks whose 8-float copy stays inside the in_c channels of the pixel; the rest are copied one by one.
    int wide = s->in_c >= 8 ? (s->in_c - 8) / MR + 1 : 0;
    if (wide > blocks) wide = blocks;
    for (int m = 0; m < count; m++) {
        long row = first + m;
        int n = (int)(row / pixels), rest = (int)(row % pixels), oy = rest / s->out_w, ox = rest % s->out_w;
        int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
        float *target = a + m * MR;
        if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) {
            for (int block = 0; block < blocks; block++) memset(target + block * BLOCK_STRIDE, 0, sizeof(float) * MR);
            continue;
        }
        const float *source = input + (((size_t)n * s->in_h + iy) * s->in_w + ix) * s->in_c;
        // The 8-float copies spill 2 floats into the next row's slot, which is written after (rows ascend),
        // or into the block's slack.
        for (int block = 0; block < wide; block++) memcpy(target + block * BLOCK_STRIDE, source + block * MR, 32);
        for (int block = wide; block < blocks; block++)
            for (int r = 0; r < MR; r++) {
                int ci = block * MR + r;
                target[block * BLOCK_STRIDE + r] = ci < s->in_c ? source[ci] : 0;
            }
    }
}

static void weights_part(void *context, int begin, int end, int thread) {
    weights_job *job = context;
    const ab_conv_shape *s = job->s;
    int ldacc = job->panels * NR, per_tap = job->panels * job->ci_blocks;
    long rows = (long)s->batch * s->out_h * s->out_w;
    float *a = ab_thread_scratch(thread, 1, sizeof(float) * (size_t)job->ci_blocks * BLOCK_STRIDE);
    float *g = ab_thread_scratch(thread, 2, sizeof(float) * (size_t)job->panels * CHUNK_ROWS * NR);
    int use_avx2 = ab_isa_active() == AB_ISA_AVX2;
    for (long first = 0; first < rows; first += CHUNK_ROWS) {
        int count = (int)(rows - first < CHUNK_ROWS ? rows - first : CHUNK_ROWS);
        pack_grad_output(s, job->grad_output, first, count, job->panels, g);
        int gathered = -1;
        for (int tile = begin; tile < end; tile++) {
            // tile order (tap, co panel, ci block): a thread's tiles share few taps, so few gathers, and
            // consecutive tiles reuse the same dOut panel from L1
            int tap = tile / per_tap, rest = tile % per_tap;
            int panel = rest / job->ci_blocks, block = rest % job->ci_blocks;
            long next = first + CHUNK_ROWS;
            ab_prefetch_chunk(s, job->input, 4, job->grad_output, next,
                              (int)(rows - next < CHUNK_ROWS ? rows - next : CHUNK_ROWS), tile - begin, end - begin);
            if (tap != gathered) {
                gather_tap(s, job->input, first, count, tap, job->ci_blocks, a);
                gathered = tap;
            }
            const float *a_block = a + (size_t)block * BLOCK_STRIDE, *g_panel = g + (size_t)panel * CHUNK_ROWS * NR;
            float *acc = job->accumulator + ((size_t)tap * job->ci_blocks * MR + block * MR) * ldacc + panel * NR;
#if defined(__x86_64__)
            if (use_avx2) {
                weights_tile_avx2(a_block, g_panel, count, acc, ldacc);
                continue;
            }
#endif
            (void)use_avx2;
            weights_tile_portable(a_block, MR, g_panel, count, acc, ldacc);
        }
    }
}

// grad_oihw[co][ci][tap] = accumulator[tap][ci][co] for output channels [begin, end) (one task per channel).
typedef struct {
    const ab_conv_shape *s;
    const float *accumulator;
    size_t width, ldacc;
    float *grad_oihw;
} transpose_job;

static void transpose_part(void *context, int begin, int end, int thread) {
    (void)thread;
    transpose_job *job = context;
    const ab_conv_shape *s = job->s;
    int taps = taps_of(s);
    for (int co = begin; co < end; co++)
        for (int ci = 0; ci < s->in_c; ci++)
            for (int tap = 0; tap < taps; tap++)
                job->grad_oihw[((size_t)co * s->in_c + ci) * taps + tap] =
                    job->accumulator[((size_t)tap * job->width + ci) * job->ldacc + co];
}

void ab_conv_backward_weights(const ab_conv_shape *s, const float *input, const float *grad_output,
                              float *grad_oihw) {
    int wide = ab_isa_active() == AB_ISA_AVX512, block = wide ? AB_WIDE_BLOCK : MR;
    int taps = taps_of(s), panels = panels_of(s->out_c), ci_blocks = (s->in_c + block - 1) / block;
    size_t width = (size_t)ci_blocks * block, ldacc = (size_t)panels * NR, total = taps * width * ldacc;
    // Kept between calls (shared scratch slot 1; slot 0 holds the bf16 copy of the input): a fresh allocation of
    // megabytes each call costs page faults.
    float *accumulator = ab_shared_scratch(1, sizeof(float) * total);
    memset(accumulator, 0, sizeof(float) * total);
    weights_job job = {s, input, grad_output, NULL, accumulator, ci_blocks, panels, block};
#if defined(__x86_64__)
    if (wide) {
        if (bf16_active()) job.input_bf16 = ab_shared_bf16_copy(input, (size_t)s->batch * s->in_h * s->in_w * s->in_c);
        ab_parallel_for(taps * ((panels + 1) / 2) * ci_blocks, ab_weights_part_avx512, &job);  // pairs of panels
    } else
#endif
        ab_parallel_for(taps * panels * ci_blocks, weights_part, &job);
    transpose_job transpose = {s, accumulator, width, ldacc, grad_oihw};
    ab_parallel_for(s->out_c, transpose_part, &transpose);
}
