// The AVX-512 pieces of the convolutions: the fp32 GEMM micro-kernel on zmm registers, and the bf16 path.
//
// fp32: 14 rows × 16 output channels in 14 zmm accumulators; for each k one load of the weight row and 14 FMAs
// with a broadcast A element. Each output is fma(a_k, b_k, ·) over k ascending, exactly as in the AVX2 kernel,
// so the two paths give the same bits.
//
// bf16 (AVX512_BF16): the operands of every convolution pass are rounded to bf16 (nearest even) and multiplied
// by vdpbf16ps, which adds a pair of bf16 products to each fp32 lane: acc[j] += a[2i]·b[2i][j] + a[2i+1]·b[2i+1][j].
// Products of two bf16 are exact in fp32 and every sum is fp32, so only the rounding of the operands differs from
// fp32. The reduction dimension is therefore stored in pairs:
//   forward / backward-data: im2col rows in bf16 with k contiguous (a 32-bit broadcast takes the pair k, k+1),
//                            weights packed [panel][k/2][16][2] (conv.c, put_packed);
//   backward-weights (the reduction runs over output rows m): dOut packed [panel][m/2][16][2] and the gathered
//                            input [ci block][m/2][16][2], 16 input × 16 output channels per tile.
// Activations, BatchNorm, GELU, the weight gradients and the master weights stay fp32.
#include "airbench_simd.h"
#include "internal.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>

#define NR AB_NR
#define ROWS 14  // tile rows of both AVX-512 micro-kernels
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#define BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

typedef int32_t __attribute__((may_alias)) bf16_pair;  // two bf16 read as one 32-bit lane

static inline __mmask16 first_lanes(int count) { return count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1); }

// ---- GEMM micro-kernels ---------------------------------------------------------------------------------------

AVX512 static void kernel_avx512(int depth, const void *a_, int lda, const void *b_, float *c, int ldc, int rows,
                                 int cols) {
    const float *a = a_, *b = b_;
    __m512 acc[ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) acc[r] = _mm512_setzero_ps();
    for (int k = 0; k < depth; k++) {
        __m512 w = _mm512_loadu_ps(b + (size_t)k * NR);
#pragma clang loop unroll(full)
        for (int r = 0; r < ROWS; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + k]), w, acc[r]);
    }
    __mmask16 mask = first_lanes(cols);
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc, mask, acc[r]);
}

// depth is even; a and b hold bf16 (b as [k/2][NR][2]).
BF16 static void kernel_bf16(int depth, const void *a_, int lda, const void *b_, float *c, int ldc, int rows,
                             int cols) {
    const uint16_t *a = a_, *b = b_;
    __m512 acc[ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) acc[r] = _mm512_setzero_ps();
    for (int k = 0; k < depth; k += 2) {
        __m512bh w = (__m512bh)_mm512_loadu_si512(b + (size_t)k * NR);
#pragma clang loop unroll(full)
        for (int r = 0; r < ROWS; r++)
            acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_set1_epi32(*(const bf16_pair *)(a + r * lda + k)), w);
    }
    __mmask16 mask = first_lanes(cols);
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc, mask, acc[r]);
}

const ab_gemm_kernel ab_kernel_avx512 = {kernel_avx512, ROWS, 0};
const ab_gemm_kernel ab_kernel_bf16 = {kernel_bf16, ROWS, 1};

// ---- bf16 im2col rows (forward and backward-data) ---------------------------------------------------------------
// The input is rounded to bf16 once per pass (a 3×3 convolution gathers each input pixel 9 times), then rows
// are gathered from that copy.

// to[0..count) = bf16(from[0..count)), 16 at a time.
BF16 static void run_to_bf16(uint16_t *to, const float *from, int count) {
    for (int i = 0; i < count; i += 16) {
        __mmask16 mask = first_lanes(count - i);
        __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, from + i));
        _mm256_mask_storeu_epi16(to + i, mask, (__m256i)h);
    }
}

#define CONVERT_CHUNK 16384
typedef struct {
    const float *from;
    uint16_t *to;
    size_t count;
} convert_job;

static void convert_part(void *context, int begin, int end, int thread) {
    (void)thread;
    convert_job *job = context;
    for (size_t first = (size_t)begin * CONVERT_CHUNK; first < (size_t)end * CONVERT_CHUNK && first < job->count;
         first += CONVERT_CHUNK) {
        size_t count = job->count - first < CONVERT_CHUNK ? job->count - first : CONVERT_CHUNK;
        run_to_bf16(job->to + first, job->from + first, (int)count);
    }
}

const uint16_t *ab_shared_bf16_copy(const float *x, size_t count) {
    convert_job job = {x, ab_shared_scratch(0, sizeof(uint16_t) * count), count};
    ab_parallel_for((int)((count + CONVERT_CHUNK - 1) / CONVERT_CHUNK), convert_part, &job);
    return job.to;
}

// to[0..count) = from[0..count) (bf16 words), 32 at a time.
AVX512 static inline void copy_words(uint16_t *to, const uint16_t *from, int count) {
    for (int i = 0; i < count; i += 32) {
        __mmask32 mask = count - i >= 32 ? 0xffffffffu : (__mmask32)((1u << (count - i)) - 1);
        _mm512_mask_storeu_epi16(to + i, mask, _mm512_maskz_loadu_epi16(mask, from + i));
    }
}

AVX512 void ab_gather_row_bf16(const ab_conv_shape *s, const uint16_t *input, long m, uint16_t *row, int depth) {
    long pixels = (long)s->out_h * s->out_w;
    int n = (int)(m / pixels), rest = (int)(m % pixels), oy = rest / s->out_w, ox = rest % s->out_w;
    uint16_t *start = row;
    for (int ky = 0; ky < s->kernel_h; ky++)
        for (int kx = 0; kx < s->kernel_w; kx++, row += s->in_c) {
            int iy = oy + ky - s->pad, ix = ox + kx - s->pad;
            if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) {
                memset(row, 0, sizeof(uint16_t) * s->in_c);
                continue;
            }
            copy_words(row, input + (((size_t)n * s->in_h + iy) * s->in_w + ix) * s->in_c, s->in_c);
        }
    if (row - start < depth) *row = 0;  // odd depth: the pair's second element
}

// ---- backward-weights on AVX-512 (fp32 and bf16) -----------------------------------------------------------------
// conv.c's scheme (per chunk of output rows: pack dOut panel-major, gather each tap's input rows block-major, then
// tiles of input × output channels) with 16 × 16 tiles in zmm registers. A chunk holds 16 KiB per block of 16 input
// channels and per panel of 16 output channels: 256 rows in fp32, 512 in bf16 (where rows go in pairs). For a
// 256×256 layer that is 256 KiB of gathered input and 256 KiB of dOut, which stay in a 1 MiB L2; larger chunks
// also load and store the accumulator (2.4 MB there) less often. Every sum runs over the rows in ascending order,
// so neither the chunk size nor the tile width changes the bits: the fp32 tile computes what the AVX2 one does.

#define BLOCK AB_WIDE_BLOCK
#define CHUNK_BYTES (BLOCK * 1024)  // per block or panel: 16 KiB

// Where the output rows of a chunk sit: image n and output pixel (oy, ox) of each row, computed once per chunk
// (not per tap).
typedef struct {
    int n, oy, ox;
} row_position;

static void chunk_positions(const ab_conv_shape *s, long first, int count, row_position *at) {
    long pixels = (long)s->out_h * s->out_w;
    for (int m = 0; m < count; m++) {
        long row = first + m;
        int rest = (int)(row % pixels);
        at[m] = (row_position){(int)(row / pixels), rest / s->out_w, rest % s->out_w};
    }
}

// The index of the input pixel that row m reads at tap (ky, kx), or −1 for padding and rows past the chunk.
static long tap_pixel(const ab_conv_shape *s, const row_position *at, int m, int count, int ky, int kx) {
    if (m >= count) return -1;
    int iy = at[m].oy + ky - s->pad, ix = at[m].ox + kx - s->pad;
    if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) return -1;
    return ((long)at[m].n * s->in_h + iy) * s->in_w + ix;
}

// -- fp32: a[block][m][16], g[panel][m][16] --

// dOut rows first ..< first+count as g[panel][m][NR] (zeros past out_c).
AVX512 static void pack_grad_output_fp32(const ab_conv_shape *s, const float *grad_output, long first, int count,
                                         int panels, int chunk, float *g) {
    for (int m = 0; m < count; m++) {
        const float *row = grad_output + (size_t)(first + m) * s->out_c;
        for (int panel = 0; panel < panels; panel++)
            _mm512_store_ps(g + ((size_t)panel * chunk + m) * NR,
                            _mm512_maskz_loadu_ps(first_lanes(s->out_c - panel * NR), row + panel * NR));
    }
}

AVX512 static void gather_tap_fp32(const ab_conv_shape *s, const float *input, const row_position *at, int count,
                                   int tap, int blocks, int chunk, float *a) {
    int ky = tap / s->kernel_w, kx = tap % s->kernel_w;
    for (int m = 0; m < count; m++) {
        long pixel = tap_pixel(s, at, m, count, ky, kx);
        for (int block = 0; block < blocks; block++) {
            __m512 v = pixel < 0 ? _mm512_setzero_ps()
                                 : _mm512_maskz_loadu_ps(first_lanes(s->in_c - block * BLOCK),
                                                         input + (size_t)pixel * s->in_c + block * BLOCK);
            _mm512_store_ps(a + ((size_t)block * chunk + m) * BLOCK, v);
        }
    }
}

// acc[r][0..NR) += Σ_m a[m][r] · g[m][j] for r < BLOCK: fma(a, g, acc) over m ascending, as weights_tile_avx2.
AVX512 static void weights_tile_fp32(const float *a, const float *g, int count, float *acc, int ldacc) {
    __m512 t[BLOCK];
#pragma clang loop unroll(full)
    for (int r = 0; r < BLOCK; r++) t[r] = _mm512_loadu_ps(acc + (size_t)r * ldacc);
    for (int m = 0; m < count; m++, a += BLOCK, g += NR) {
        __m512 gv = _mm512_load_ps(g);
#pragma clang loop unroll(full)
        for (int r = 0; r < BLOCK; r++) t[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), gv, t[r]);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < BLOCK; r++) _mm512_storeu_ps(acc + (size_t)r * ldacc, t[r]);
}

// 8 accumulator rows of a two-panel tile: t0 = columns 0..NR, t1 = NR..2·NR of rows 0..8 of acc.
AVX512 static inline __attribute__((always_inline)) void load_tile2_rows(const float *acc, int ldacc, __m512 *t0,
                                                                        __m512 *t1) {
#pragma clang loop unroll(full)
    for (int r = 0; r < 8; r++) {
        t0[r] = _mm512_loadu_ps(acc + (size_t)r * ldacc);
        t1[r] = _mm512_loadu_ps(acc + (size_t)r * ldacc + NR);
    }
}

AVX512 static inline __attribute__((always_inline)) void store_tile2_rows(float *acc, int ldacc, const __m512 *t0,
                                                                         const __m512 *t1) {
#pragma clang loop unroll(full)
    for (int r = 0; r < 8; r++) {
        _mm512_storeu_ps(acc + (size_t)r * ldacc, t0[r]);
        _mm512_storeu_ps(acc + (size_t)r * ldacc + NR, t1[r]);
    }
}

// The same over two panels of output channels, g0 and g1 (acc's columns 0..NR and NR..2·NR), in two halves of
// 8 input channels: per row 2 loads and 8 broadcasts feed 16 FMAs (the one-panel tile needs 17 loads for 16).
// Only the halves holding some of the block's `channels` input channels run (24 channels: 1½ blocks).
AVX512 static void weights_tile2_fp32(const float *a, const float *g0, const float *g1, int count, float *acc,
                                      int ldacc, int channels) {
    for (int half = 0; half < BLOCK && half < channels; half += 8) {
        __m512 t0[8], t1[8];
        load_tile2_rows(acc + (size_t)half * ldacc, ldacc, t0, t1);
        const float *am = a + half;
        for (int m = 0; m < count; m++, am += BLOCK) {
            __m512 u = _mm512_load_ps(g0 + (size_t)m * NR), v = _mm512_load_ps(g1 + (size_t)m * NR);
#pragma clang loop unroll(full)
            for (int r = 0; r < 8; r++) {
                __m512 x = _mm512_set1_ps(am[r]);
                t0[r] = _mm512_fmadd_ps(x, u, t0[r]);
                t1[r] = _mm512_fmadd_ps(x, v, t1[r]);
            }
        }
        store_tile2_rows(acc + (size_t)half * ldacc, ldacc, t0, t1);
    }
}

AVX512 static void weights_tiles_fp32(const void *a, const void *g0, const void *g1, int count, float *acc,
                                      int ldacc, int channels) {
    if (g1) weights_tile2_fp32(a, g0, g1, count, acc, ldacc, channels);
    else weights_tile_fp32(a, g0, count, acc, ldacc);
}

const ab_weights_tile ab_weights_tile_avx512 = {weights_tiles_fp32, BLOCK, 0};

// -- bf16: rows in pairs, a[block][m/2][16][2], g[panel][m/2][16][2] --

// Writes 16 pairs to[2i] = bf16(x0[i]), to[2i+1] = bf16(x1[i]) for the lanes in `mask` (zero elsewhere);
// a NULL row reads as zeros.
BF16 static inline void store_pairs(const float *x0, const float *x1, __mmask16 mask, uint16_t *to) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512 v0 = x0 ? _mm512_maskz_loadu_ps(mask, x0) : _mm512_setzero_ps();
    __m512 v1 = x1 ? _mm512_maskz_loadu_ps(mask, x1) : _mm512_setzero_ps();
    __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);  // words 0..15 = x0, 16..31 = x1
    _mm512_storeu_si512(to, _mm512_permutexvar_epi16(interleave, halves));
}

BF16 static void pack_grad_output_bf16(const ab_conv_shape *s, const float *grad_output, long first, int count,
                                       int panels, int chunk, uint16_t *g) {
    for (int p = 0; p < (count + 1) / 2; p++) {
        const float *row0 = grad_output + (size_t)(first + 2 * p) * s->out_c;
        const float *row1 = 2 * p + 1 < count ? row0 + s->out_c : NULL;
        for (int panel = 0; panel < panels; panel++)
            store_pairs(row0 + panel * NR, row1 ? row1 + panel * NR : NULL, first_lanes(s->out_c - panel * NR),
                        g + ((size_t)panel * chunk + 2 * p) * NR);
    }
}

// Writes 16 pairs to[2i] = x0[i], to[2i+1] = x1[i] of bf16 words, for the lanes in `mask` (zero elsewhere); a
// NULL row reads as zeros.
AVX512 static inline void interleave_pairs(const uint16_t *x0, const uint16_t *x1, __mmask16 mask, uint16_t *to) {
    const __m512i interleave = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7,
                                                38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    __m512i v0 = x0 ? _mm512_castsi256_si512(_mm256_maskz_loadu_epi16(mask, x0)) : _mm512_setzero_si512();
    __m512i v1 = x1 ? _mm512_castsi256_si512(_mm256_maskz_loadu_epi16(mask, x1)) : _mm512_setzero_si512();
    _mm512_storeu_si512(to, _mm512_permutex2var_epi16(v0, interleave, v1));
}

// From the bf16 copy of the input.
AVX512 static void gather_tap_bf16(const ab_conv_shape *s, const uint16_t *input, const row_position *at, int count,
                                   int tap, int blocks, int chunk, uint16_t *a) {
    int ky = tap / s->kernel_w, kx = tap % s->kernel_w;
    for (int p = 0; p < (count + 1) / 2; p++) {
        long pixel0 = tap_pixel(s, at, 2 * p, count, ky, kx), pixel1 = tap_pixel(s, at, 2 * p + 1, count, ky, kx);
        const uint16_t *x0 = pixel0 < 0 ? NULL : input + (size_t)pixel0 * s->in_c;
        const uint16_t *x1 = pixel1 < 0 ? NULL : input + (size_t)pixel1 * s->in_c;
        for (int block = 0; block < blocks; block++)
            interleave_pairs(x0 ? x0 + block * BLOCK : NULL, x1 ? x1 + block * BLOCK : NULL,
                             first_lanes(s->in_c - block * BLOCK), a + ((size_t)block * chunk + 2 * p) * BLOCK);
    }
}

BF16 static void weights_tile_bf16(const uint16_t *a, const uint16_t *g, int pairs, float *acc, int ldacc) {
    __m512 t[BLOCK];
#pragma clang loop unroll(full)
    for (int r = 0; r < BLOCK; r++) t[r] = _mm512_loadu_ps(acc + (size_t)r * ldacc);
    for (int p = 0; p < pairs; p++, a += 2 * BLOCK, g += 2 * NR) {
        __m512bh gv = (__m512bh)_mm512_load_si512(g);
#pragma clang loop unroll(full)
        for (int r = 0; r < BLOCK; r++)
            t[r] = _mm512_dpbf16_ps(t[r], (__m512bh)_mm512_set1_epi32(*(const bf16_pair *)(a + 2 * r)), gv);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < BLOCK; r++) _mm512_storeu_ps(acc + (size_t)r * ldacc, t[r]);
}

BF16 static void weights_tile2_bf16(const uint16_t *a, const uint16_t *g0, const uint16_t *g1, int pairs, float *acc,
                                    int ldacc, int channels) {
    for (int half = 0; half < BLOCK && half < channels; half += 8) {
        __m512 t0[8], t1[8];
        load_tile2_rows(acc + (size_t)half * ldacc, ldacc, t0, t1);
        const uint16_t *ap = a + 2 * half;
        for (int p = 0; p < pairs; p++, ap += 2 * BLOCK) {
            __m512bh u = (__m512bh)_mm512_load_si512(g0 + (size_t)p * 2 * NR);
            __m512bh v = (__m512bh)_mm512_load_si512(g1 + (size_t)p * 2 * NR);
#pragma clang loop unroll(full)
            for (int r = 0; r < 8; r++) {
                __m512bh x = (__m512bh)_mm512_set1_epi32(*(const bf16_pair *)(ap + 2 * r));
                t0[r] = _mm512_dpbf16_ps(t0[r], x, u);
                t1[r] = _mm512_dpbf16_ps(t1[r], x, v);
            }
        }
        store_tile2_rows(acc + (size_t)half * ldacc, ldacc, t0, t1);
    }
}

// ---- bf16 products in the Winograd domain (conv_winograd.c, conv_winograd_weights.c) -----------------------------

// Winograd's weight-gradient tiles: rows (tiles) in pairs, a[m/2][BLOCK][2], g[m/2][NR][2], 64-byte aligned.
BF16 static void weights_tiles_bf16(const void *a, const void *g0, const void *g1, int count, float *acc, int ldacc,
                                    int channels) {
    if (g1) weights_tile2_bf16(a, g0, g1, (count + 1) / 2, acc, ldacc, channels);
    else weights_tile_bf16(a, g0, (count + 1) / 2, acc, ldacc);
}

BF16 static void round_bf16(const float *from, int count, uint16_t *to) { run_to_bf16(to, from, count); }

// to[2i] = bf16(x0[i]), to[2i+1] = bf16(x1[i]), 16 pairs at a time (vcvtne2ps2bf16, then the halves interleaved).
BF16 static void round_bf16_pairs(const float *x0, const float *x1, int count, uint16_t *to) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int i = 0; i < count; i += 16) {
        int n = count - i < 16 ? count - i : 16;
        __mmask16 mask = first_lanes(n);
        __m512 v0 = _mm512_maskz_loadu_ps(mask, x0 + i);
        __m512 v1 = x1 ? _mm512_maskz_loadu_ps(mask, x1 + i) : _mm512_setzero_ps();
        __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);  // words 0..15 = x0, 16..31 = x1
        __mmask32 words = n == 16 ? 0xffffffffu : (__mmask32)((1u << (2 * n)) - 1);
        _mm512_mask_storeu_epi16(to + 2 * i, words, _mm512_permutexvar_epi16(interleave, halves));
    }
}

const ab_bf16_arithmetic ab_bf16_avx512 = {{kernel_bf16, ROWS, 1}, {weights_tiles_bf16, BLOCK, 1}, round_bf16,
                                           round_bf16_pairs};

// Tiles [begin, end) in the order (tap, pair of co panels, ci block), as conv.c's weights_part; a last, odd panel
// is a tile of its own.
void ab_weights_part_avx512(void *context, int begin, int end, int thread) {
    ab_weights_job *job = context;
    const ab_conv_shape *s = job->s;
    int bf16 = job->input_bf16 != NULL, element = bf16 ? 2 : 4, chunk = CHUNK_BYTES / (BLOCK * element);
    int ldacc = job->panels * NR, per_tap = (job->panels + 1) / 2 * job->ci_blocks;
    long rows = (long)s->batch * s->out_h * s->out_w;
    char *a = ab_thread_scratch(thread, 1, (size_t)job->ci_blocks * CHUNK_BYTES);
    char *g = ab_thread_scratch(thread, 2, (size_t)job->panels * CHUNK_BYTES);
    row_position *at = ab_thread_scratch(thread, 3, sizeof(row_position) * chunk);
    for (long first = 0; first < rows; first += chunk) {
        int count = (int)(rows - first < chunk ? rows - first : chunk);
        if (bf16) pack_grad_output_bf16(s, job->grad_output, first, count, job->panels, chunk, (uint16_t *)g);
        else pack_grad_output_fp32(s, job->grad_output, first, count, job->panels, chunk, (float *)g);
        chunk_positions(s, first, count, at);
        int gathered = -1;
        for (int tile = begin; tile < end; tile++) {
            int tap = tile / per_tap, rest = tile % per_tap;
            int panel = 2 * (rest / job->ci_blocks), block = rest % job->ci_blocks;  // the pair's first panel
            long next = first + chunk;
            ab_prefetch_chunk(s, bf16 ? (const void *)job->input_bf16 : job->input, element, job->grad_output, next,
                              (int)(rows - next < chunk ? rows - next : chunk), tile - begin, end - begin);
            if (tap != gathered) {
                if (bf16) gather_tap_bf16(s, job->input_bf16, at, count, tap, job->ci_blocks, chunk, (uint16_t *)a);
                else gather_tap_fp32(s, job->input, at, count, tap, job->ci_blocks, chunk, (float *)a);
                gathered = tap;
            }
            float *acc = job->accumulator + ((size_t)tap * job->ci_blocks * BLOCK + block * BLOCK) * ldacc + panel * NR;
            const char *a_block = a + (size_t)block * CHUNK_BYTES, *g_panel = g + (size_t)panel * CHUNK_BYTES;
            const char *g_next = g_panel + CHUNK_BYTES;
            int two = panel + 1 < job->panels, channels = s->in_c - block * BLOCK;
            if (bf16 && two)
                weights_tile2_bf16((const uint16_t *)a_block, (const uint16_t *)g_panel, (const uint16_t *)g_next,
                                   (count + 1) / 2, acc, ldacc, channels);
            else if (bf16) weights_tile_bf16((const uint16_t *)a_block, (const uint16_t *)g_panel, (count + 1) / 2, acc, ldacc);
            else if (two)
                weights_tile2_fp32((const float *)a_block, (const float *)g_panel, (const float *)g_next, count, acc,
                                   ldacc, channels);
            else weights_tile_fp32((const float *)a_block, (const float *)g_panel, count, acc, ldacc);
        }
    }
}
#endif
