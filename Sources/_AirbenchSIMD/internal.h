// Declarations shared by the kernel files, not part of the module's interface.
#ifndef AIRBENCH_INTERNAL_H
#define AIRBENCH_INTERNAL_H
#include "airbench_simd.h"
#include <stddef.h>
#include <stdint.h>
double ab_now_seconds(void);
/// A per-thread scratch buffer of at least `bytes`, 64-byte aligned, kept between calls.
void *ab_thread_scratch(int thread, int slot, size_t bytes);
/// A process-wide scratch buffer (slot 0 ..< 4) of at least `bytes`, 64-byte aligned, kept between calls; for
/// the calling thread to fill before a parallel loop reads it.
void *ab_shared_scratch(int slot, size_t bytes);
/// One turn of a spin-wait loop: `pause` leaves a sibling hyperthread its issue slots while this one waits.
static inline void ab_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

// Work in chunks of `chunk` items (the last one possibly short), one task per chunk for the pool.
/// The tasks that cover `count` items.
static inline int ab_chunks_of(size_t count, size_t chunk) { return (int)((count + chunk - 1) / chunk); }
/// The items [*first, *last) of the tasks [begin, end).
static inline void ab_chunk_items(int begin, int end, size_t chunk, size_t count, size_t *first, size_t *last) {
    *first = (size_t)begin * chunk;
    *last = (size_t)end * chunk < count ? (size_t)end * chunk : count;
}

// The GEMM micro-kernels shared by the convolutions: c[r][0..cols) = Σ_k a[r·lda + k] · b[k][j] for r < rows,
// over a tile of `tile_rows` rows × NR columns (a must hold tile_rows readable rows; c is overwritten).
// fp32: b is a packed panel [k][NR]. bf16: a and b hold bf16 and depth is even; b is [k/2][NR][2] (pairs of k
// side by side, as vdpbf16ps multiplies them).
#define AB_NR 16       // columns per packed weight panel, on every path
#define AB_MR 6        // rows per micro-tile of the AVX2 and portable kernels
typedef struct {
    void (*run)(int depth, const void *a, int lda, const void *b, float *c, int ldc, int rows, int cols);
    int tile_rows;  ///< MR of this kernel
    int bf16;       ///< operands are bf16 (2 bytes, k in pairs) rather than fp32
} ab_gemm_kernel;
/// The fp32 micro-kernel of the active instruction-set path (Winograd's GEMMs always use it).
ab_gemm_kernel ab_fp32_kernel(void);
/// The micro-kernel of the active path and precision (direct convolutions).
ab_gemm_kernel ab_conv_kernel(void);

#define AB_WIDE_BLOCK 16   // input channels per AVX-512 weight-gradient tile
/// The weight-gradient job (conv.c's backward-weights): tiles of `block` input × NR output channels.
typedef struct {
    const ab_conv_shape *s;
    const float *input, *grad_output;
    const uint16_t *input_bf16;  // bf16 path: the input rounded to bf16 (NULL in fp32)
    float *accumulator;          // [tap][ci_blocks·block][panels·NR]
    int ci_blocks, panels, block;
} ab_weights_job;

/// Prefetches slice `part` of `parts` of what backward-weights reads for output rows first ..< first+count (its
/// dOut rows and input pixels; `element` bytes per input element). Nothing for count ≤ 0.
void ab_prefetch_chunk(const ab_conv_shape *s, const void *input, int element, const float *grad_output,
                       long first, int count, int part, int parts);

/// A tile of Winograd's weight gradient: acc[r][j] += Σ_m a[m][r] · g[m][j] over `count` rows m, for
/// r < min(block, channels), j < NR from g0 and NR ≤ j < 2·NR from g1 (NULL: one panel).
/// fp32: a[m·block + r], g[m·NR + j], each sum a chain of fmas over m ascending on every path (so the AVX2 and
/// AVX-512 paths compute the same bits). bf16: rows in pairs, a[m/2][block][2] and g[m/2][NR][2] (an odd count's
/// last pair ends in zeros), each pair's two products added to the fp32 sum (vdpbf16ps).
typedef struct {
    void (*run)(const void *a, const void *g0, const void *g1, int count, float *acc, int ldacc, int channels);
    int block;  ///< input channels per tile, a power of two ≥ 8: 8, or AB_WIDE_BLOCK on AVX-512
    int bf16;   ///< operands are bf16 pairs
} ab_weights_tile;
/// The fp32 tile of the active path.
ab_weights_tile ab_weights_tile_fp32(void);
#if defined(__x86_64__)
/// The AVX2 path's fp32 Winograd weight-gradient tile over V and U in the layout the transforms write ([m][channels],
/// no block-major copy): acc[r][j] += Σ_m a[m·lda + r] · g[m·ldg + j] for r < rows (≤ 6), j < NR, each sum the
/// chain of fmas over m ascending of ab_weights_tile (so the same bits as the other paths).
void ab_weights_rows_avx2(const float *a, int lda, const float *g, int ldg, int count, float *acc, int ldacc, int rows);
#endif

/// Whether bf16 products run on the hardware: a CPU with AVX512_BF16 on the active path avx512.
int ab_bf16_hardware(void);
/// The pieces of a bf16 product in the Winograd domain: vdpbf16ps and vcvtne(2)ps2bf16 where ab_bf16_hardware, else
/// plain C doing the same arithmetic (conv.c): round each operand to bf16 (nearest even, ab_bf16_from_float),
/// multiply in fp32 (exact: 8-bit significands), add a pair's two products, add that to the fp32 sum. Only the
/// order of the fp32 additions may differ between the two.
typedef struct {
    ab_gemm_kernel gemm;      ///< forward and backward-data: a rows [k] of bf16, b [k/2][NR][2]
    ab_weights_tile weights;  ///< backward-weights
    /// to[i] = bf16(from[i]) for i < count.
    void (*round)(const float *from, int count, uint16_t *to);
    /// to[2i] = bf16(x0[i]), to[2i+1] = bf16(x1[i]) for i < count (x1 NULL: zeros): two rows interleaved in pairs.
    void (*round_pairs)(const float *x0, const float *x1, int count, uint16_t *to);
} ab_bf16_arithmetic;
/// The hardware's where ab_bf16_hardware, else the plain-C one.
ab_bf16_arithmetic ab_bf16_arithmetic_active(void);
/// Stores the packed weight for depth k and output channel co: fp32 packed[co/NR][k][co%NR], bf16 (depth even)
/// packed[co/NR][k/2][co%NR][k%2] rounded to nearest even.
/// Inline: the Winograd packs call it for every position, input and output channel of every layer, every step.
static inline void ab_put_packed(float *packed, int bf16, int depth, int k, int co, float value) {
    int panel = co / AB_NR, j = co % AB_NR;
    if (bf16)
        ((uint16_t *)packed)[(((size_t)panel * depth + (k & ~1)) * AB_NR + 2 * j) + (k & 1)] = ab_bf16_from_float(value);
    else
        packed[((size_t)panel * depth + k) * AB_NR + j] = value;
}

/// Winograd's F(m×m, 3×3) for m = tile (conv_winograd.c): its sizes and transforms.
typedef struct {
    int tile, alpha, positions;  // m, m + 2, (m + 2)²
    // forward and backward-data: U = G g Gᵀ (u[alpha·i + l]); V = Bᵀ d B of a patch; Y = Aᵀ M A of a tile
    void (*weights)(const float g[3][3], float *u);
    // V's positions ξ = alpha·i + l of the rows first_row ≤ i < end_row (forward: 0 ..< alpha), from v on
    void (*input)(const float *const patch[], int channels, int first_row, int end_row, float *v,
                  size_t position_stride);
    void (*output)(const float *m, size_t m_stride, int cols, float *const out[]);
    // backward-weights: U = A dY Aᵀ of a dOut block, rows as `input` (and V = Bᵀ d B by `input`); dW = Gᵀ M G
    void (*grad)(const float *const block[], int channels, int first_row, int end_row, float *u,
                 size_t position_stride);
    void (*gradient)(const float *m, size_t stride, float w[9]);
} ab_winograd_variant;
ab_winograd_variant ab_winograd_variant_of(int tile);

/// Where Winograd tile `tile` of a pass over `s` lies: image n, first output row oy0 and column ox0 (tiles of m×m
/// outputs, image-major, row-major within an image, the last row and column overhanging the output).
static inline void ab_winograd_tile_origin(const ab_conv_shape *s, int m, long tile, int *n, int *oy0, int *ox0) {
    int tiles_w = (s->out_w + m - 1) / m;
    long per_image = (long)(s->out_h + m - 1) / m * tiles_w;
    int rest = (int)(tile % per_image);
    *n = (int)(tile / per_image);
    *oy0 = m * (rest / tiles_w);
    *ox0 = m * (rest % tiles_w);
}

/// The (m+2)² input pixels tile `tile` reads (conv_winograd.c): patch[(m+2)·j + k] is the pixel row of in_c floats,
/// `zeros` where the patch leaves the image.
void ab_winograd_patch(const ab_conv_shape *s, int m, long tile, const float *input, const float *zeros,
                       const float *patch[]);
/// Prefetches (to L2) the pixels inside the image that tile `tile`'s patch reads; the transforms' loops ask for the
/// tile AB_PREFETCH_TILES ahead of the one they transform (ab_tiles_ahead).
void ab_winograd_prefetch_patch(const ab_conv_shape *s, int m, long tile, const float *input);
/// Prefetches the first `bytes` of each of tile `tile`'s m² output pixel rows inside the output (`out`: the rows'
/// start, out_c floats apart; for writing when `write`).
void ab_winograd_prefetch_block(const ab_conv_shape *s, int m, long tile, const float *out, size_t bytes, int write);
#define AB_PREFETCH_TILES 2

/// The tiles [*from, *to) a loop over tiles begin ..< end prefetches before it transforms tile t: at its first tile
/// the first AB_PREFETCH_TILES and the one after them, then one per tile, AB_PREFETCH_TILES ahead.
static inline void ab_tiles_ahead(long t, long begin, long end, long *from, long *to) {
    *from = t == begin ? begin : t + AB_PREFETCH_TILES;
    *to = t + AB_PREFETCH_TILES + 1 < end ? t + AB_PREFETCH_TILES + 1 : end;
}

/// Prefetches the cache lines of `bytes` bytes from `p` (for reading, or for writing when `write`), to L2.
static inline void ab_prefetch_lines(const void *p, size_t bytes, int write) {
    for (size_t at = 0; at < bytes; at += 64) {
        if (write) __builtin_prefetch((const char *)p + at, 1, 2);
        else __builtin_prefetch((const char *)p + at, 0, 2);
    }
}

// ---- one loop, a build per instruction-set path --------------------------------------------------------------
// A plain-C loop written once (AB_PATH_LOOP) is compiled for each path by AB_PATH_BUILDS(name, (params), (args)):
// name_avx512, name_avx2 and name_baseline. AB_ON_PATH(name) is the build of the active path, never one the CPU
// picks, so a path runs nothing a CPU with only that path lacks and computes the same bits on every such CPU.
#define AB_PATH_LOOP static inline __attribute__((always_inline))
#if defined(__x86_64__)
#define AB_PATH_BUILDS(name, params, args)                                                                        \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) static void name##_avx512 params {     \
        name args;                                                                                                \
    }                                                                                                             \
    __attribute__((target("avx2,fma"))) static void name##_avx2 params { name args; }                             \
    static void name##_baseline params { name args; }
#define AB_ON_PATH(name)                                                                                          \
    (ab_isa_active() == AB_ISA_AVX512 ? name##_avx512 : ab_isa_active() == AB_ISA_AVX2 ? name##_avx2 : name##_baseline)
#else
#define AB_PATH_BUILDS(name, params, args)
#define AB_ON_PATH(name) name
#endif

// ---- AVX-512 and bf16 pieces (conv_avx512.c), callable only where the CPU has them --------------------------
#if defined(__x86_64__)
extern const ab_gemm_kernel ab_kernel_avx512;
extern const ab_gemm_kernel ab_kernel_bf16;
extern const ab_weights_tile ab_weights_tile_avx512;
extern const ab_bf16_arithmetic ab_bf16_avx512;
/// `count` floats rounded to bf16 (all threads), in shared scratch slot 0; valid until the next call.
const uint16_t *ab_shared_bf16_copy(const float *x, size_t count);
/// The im2col row of output pixel m (see conv.c's gather_row) from a bf16 copy of the input; `depth` even, a
/// zero past the taps.
void ab_gather_row_bf16(const ab_conv_shape *s, const uint16_t *input, long m, uint16_t *row, int depth);
/// Weight gradient on the AVX-512 path (fp32, or bf16 when input_bf16 is set) for tiles [begin, end).
void ab_weights_part_avx512(void *context, int begin, int end, int thread);
#endif
#endif
