// The weight gradient of a 3×3 convolution (stride 1) by Winograd's F(3×3, m×m), m = 2, 4 or 6: tile the output as
// the forward pass does; per tile, the input patch d ((m+2)² pixels) and the dOut block dY (m², zeros past the
// output) give dW = Gᵀ [ (A dY Aᵀ) ⊙ (Bᵀ d B) ] G, F(m×m, 3×3)'s matrices with their roles exchanged. Summed over
// the tiles (and input and output channels), the elementwise product becomes (m+2)² independent GEMMs, one per
// position ξ:
//   M[ξ][ci][co] = Σ_tiles V[ξ][t][ci] · U[ξ][t][co],   V = Bᵀ d B,  U = A dY Aᵀ,   dW[co][ci] = Gᵀ M[·][ci][co] G
// (m+2)² instead of 9m² multiply-adds per tile, input and output channel: F(4×4) 36 for 144. The GEMM is direct
// backward-weights' reduction with tiles for rows and positions for taps, run by weight-gradient tile kernels
// (ab_weights_tile; on AVX-512 direct backward-weights' own). The transforms multiply by up to 8 (dOut) and 5
// (input), so the sums round more than the direct ones; BENCHMARKS.md has the full runs.
//
// The tiles are added chunk by chunk, in two parallel phases: the threads transform the chunk's tiles (V and U of
// each tile, into block-major buffers [ξ][ci block][t][block] and [ξ][panel][t][NR] that the tile kernels read
// contiguously), then add them into M, each thread its own positions ξ. Each element of M is one chain of fmas over
// the tiles in ascending order, whatever the number of threads, the chunk size or the path's tile width.
// With bf16 products V and U are rounded to bf16 as they are scattered, tiles 2p and 2p + 1 interleaved (the
// reduction runs over tiles, and vdpbf16ps adds a pair of products per lane); each element of M is then one chain
// over the pairs in ascending order.
#include "airbench_simd.h"
#include "internal.h"
#include <string.h>

#define NR AB_NR
#define MAX_TILE 6                 // m
#define MAX_ALPHA (MAX_TILE + 2)  // m + 2
// Bytes of V and U per chunk (shared by the threads): 4 MiB, 56 tiles of a 256 × 256 layer in fp32. A larger chunk
// loads and stores M (9.4 MB there) less often but leaves the caches sooner: 8 MiB measured no faster, 16 slower
// (fp32; bf16 chunks hold twice the tiles, not yet timed).
#define CHUNK_BYTES (4 * 1024 * 1024)
// The AVX2 path's rows of V and U (one tile's channels, 256 floats = 1 KiB in most layers) are this many floats
// longer than their channels: rows 1 KiB apart fall into 4 of the L1's 64 sets, so the tile kernel, which reads
// one row of each per tile, found none of them in L1 again; one line apart they spread over all the sets. Measured
// side by side on the Zen 5 (AVX2 path): the weight gradients of 3.conv2, 4.conv1 and 4.conv2 18–25% faster. (8 and 12
// MiB chunks with it measured no different from 4.)
#define ROW_PAD 16

typedef struct {
    const ab_conv_shape *s;
    ab_winograd_variant v;
    ab_weights_tile kernel;
    void (*round_pairs)(const float *x0, const float *x1, int count, uint16_t *to);  // bf16 only
    const float *input, *grad_output;
    float *accumulator;  // M: [ξ][width][ldacc]
    // V and U of the chunk's tiles: fp32 [ξ][ci block][t][block] and [ξ][panel][t][NR]; bf16 the tiles in pairs along
    // the reduction, [ξ][ci block][t/2][block][2] and [ξ][panel][t/2][NR][2]
    void *v_chunk, *u_chunk;
    int chunk, blocks, panels, width, ldacc;
    long first;  // the chunk of tiles being added: first ..< first + count
    int count;
    // The AVX2 path in fp32: V and U stay as the transforms write them, [ξ][t][v_row] and [ξ][t][u_row] (in_c and
    // ldacc channels, then ROW_PAD unused floats), and ab_weights_rows_avx2 reads them there (six channels per tile:
    // twelve accumulators, no copy).
    int natural;
    int v_row, u_row;  // floats from one tile's V (U) row to the next's: width (ldacc), + ROW_PAD when natural
} weights_job;

// The tile's alpha² input pixels and m² dOut pixels (`zeros` where they leave the image or the output).
static void tile_pixels(const weights_job *job, long tile, const float *zeros, const float *patch[],
                        const float *block[]) {
    const ab_conv_shape *s = job->s;
    int m = job->v.tile, n, oy0, ox0;
    ab_winograd_patch(s, m, tile, job->input, zeros, patch);
    ab_winograd_tile_origin(s, m, tile, &n, &oy0, &ox0);
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            int oy = oy0 + a, ox = ox0 + b;
            block[m * a + b] = oy >= s->out_h || ox >= s->out_w
                                   ? zeros
                                   : job->grad_output + (((size_t)n * s->out_h + oy) * s->out_w + ox) * s->out_c;
        }
}

// Prefetches what tile_pixels will point at for `tile` (ab_winograd_prefetch_patch; the dOut block's rows too).
static void prefetch_tile(const weights_job *job, long tile) {
    ab_winograd_prefetch_patch(job->s, job->v.tile, tile, job->input);
    ab_winograd_prefetch_block(job->s, job->v.tile, tile, job->grad_output, sizeof(float) * job->s->out_c, 0);
}

// Prefetches, for a part transforming the chunk's tiles begin ..< end, what it needs ahead of tile t (ab_tiles_ahead).
static void prefetch_ahead(const weights_job *job, int t, int begin, int end) {
    long from, to;
    ab_tiles_ahead(t, begin, end, &from, &to);
    for (long ahead = from; ahead < to; ahead++) prefetch_tile(job, job->first + ahead);
}

// Copies row[ξ][b·width ..< (b+1)·width) (positions `stride` apart) to target[ξ][b][t][width] for tile slot t:
// whole cache lines of 8 or 16 floats.
static inline void scatter(const float *row, size_t stride, int positions, int blocks, int width, int chunk, int t,
                           float *target) {
    for (int xi = 0; xi < positions; xi++)
        for (int b = 0; b < blocks; b++) {
            float *to = target + (((size_t)xi * blocks + b) * chunk + t) * width;
            const float *from = row + xi * stride + (size_t)b * width;
            if (width == 16) memcpy(to, from, sizeof(float) * 16);
            else memcpy(to, from, sizeof(float) * 8);
        }
}

// bf16: rounds the rows of tiles 2p and 2p + 1 (row1 NULL past the chunk's tiles: zeros) into
// target[ξ][b][p][width][2], interleaved in pairs along the reduction over tiles.
static inline void scatter_pair(const float *row0, const float *row1, size_t stride, int positions, int blocks,
                                int width, int chunk, int p, const weights_job *job, uint16_t *target) {
    for (int xi = 0; xi < positions; xi++)
        for (int b = 0; b < blocks; b++) {
            size_t from = xi * stride + (size_t)b * width;
            job->round_pairs(row0 + from, row1 ? row1 + from : NULL, width,
                             target + (((size_t)xi * blocks + b) * chunk + 2 * p) * width);
        }
}

// A per-thread row of zeros as wide as the shape's widest pixel row, for the pixels that leave the image or the output.
static const float *thread_zeros(const ab_conv_shape *s, int thread) {
    int count = s->in_c > s->out_c ? s->in_c : s->out_c;
    float *zeros = ab_thread_scratch(thread, 1, sizeof(float) * count);
    memset(zeros, 0, sizeof(float) * count);
    return zeros;
}

// Phase 1 on the AVX2 path: each tile's V and U transformed straight into the chunk's [ξ][t][channels] buffers (U's
// columns past out_c were zeroed once per call).
static void transform_part_natural(weights_job *job, int begin, int end, int thread) {
    const ab_conv_shape *s = job->s;
    const float *zeros = thread_zeros(s, thread);
    for (int t = begin; t < end; t++) {
        const float *patch[MAX_ALPHA * MAX_ALPHA], *dy[MAX_TILE * MAX_TILE];
        prefetch_ahead(job, t, begin, end);
        tile_pixels(job, job->first + t, zeros, patch, dy);
        job->v.input(patch, s->in_c, (float *)job->v_chunk + (size_t)t * job->v_row, (size_t)job->chunk * job->v_row);
        job->v.grad(dy, s->out_c, (float *)job->u_chunk + (size_t)t * job->u_row, (size_t)job->chunk * job->u_row);
    }
}

// Phase 1: V and U of the chunk's tiles, each transformed into a row of positions, then scattered block-major
// (faster than storing the transforms' 8-lane groups there directly). A part's unit is one tile in fp32, a pair of
// tiles in bf16: units [begin, end).
static void transform_part(void *context, int begin, int end, int thread) {
    weights_job *job = context;
    if (job->natural) return transform_part_natural(job, begin, end, thread);
    const ab_conv_shape *s = job->s;
    int positions = job->v.positions, per_unit = job->kernel.bf16 ? 2 : 1;
    size_t co_width = (size_t)job->panels * NR, row_floats = (size_t)positions * (job->width + co_width);
    // Each tile's V and U before they are scattered: rows[i] (V) and rows[i] + positions·width (U), i < per_unit.
    // The transforms write the channels; the padding past them (to whole blocks and panels) is zeroed here and stays
    // zero.
    float *rows = ab_thread_scratch(thread, 0, sizeof(float) * per_unit * row_floats);
    for (int i = 0; i < per_unit; i++)
        for (int xi = 0; xi < positions; xi++) {
            float *row = rows + i * row_floats, *grad_row = row + (size_t)positions * job->width;
            memset(row + xi * job->width + s->in_c, 0, sizeof(float) * (job->width - s->in_c));
            memset(grad_row + xi * co_width + s->out_c, 0, sizeof(float) * (co_width - s->out_c));
        }
    const float *zeros = thread_zeros(s, thread);
    int last_tile = end * per_unit < job->count ? end * per_unit : job->count;  // the part's tiles end here
    for (int unit = begin; unit < end; unit++) {
        const float *row[2] = {NULL, NULL}, *grad_row[2] = {NULL, NULL};
        for (int i = 0; i < per_unit && unit * per_unit + i < job->count; i++) {
            const float *patch[MAX_ALPHA * MAX_ALPHA], *dy[MAX_TILE * MAX_TILE];
            float *v = rows + i * row_floats, *u = v + (size_t)positions * job->width;
            prefetch_ahead(job, unit * per_unit + i, begin * per_unit, last_tile);
            tile_pixels(job, job->first + unit * per_unit + i, zeros, patch, dy);
            job->v.input(patch, s->in_c, v, job->width);
            job->v.grad(dy, s->out_c, u, co_width);
            row[i] = v;
            grad_row[i] = u;
        }
        if (job->kernel.bf16) {
            scatter_pair(row[0], row[1], job->width, positions, job->blocks, job->kernel.block, job->chunk, unit, job,
                         job->v_chunk);
            scatter_pair(grad_row[0], grad_row[1], co_width, positions, job->panels, NR, job->chunk, unit, job,
                         job->u_chunk);
        } else {
            scatter(row[0], job->width, positions, job->blocks, job->kernel.block, job->chunk, unit, job->v_chunk);
            scatter(grad_row[0], co_width, positions, job->panels, NR, job->chunk, unit, job->u_chunk);
        }
    }
}

// Phase 2 on the AVX2 path: M[ξ] += V[ξ]ᵀ U[ξ] six input channels × one panel at a time.
static void multiply_part_natural(const weights_job *job, int begin, int end) {
#if defined(__x86_64__)
    int chunk = job->chunk, width = job->width, ldacc = job->ldacc, v_row = job->v_row, u_row = job->u_row;
    for (int xi = begin; xi < end; xi++) {
        float *m = job->accumulator + (size_t)xi * width * ldacc;
        const float *v = (const float *)job->v_chunk + (size_t)xi * chunk * v_row;
        const float *u = (const float *)job->u_chunk + (size_t)xi * chunk * u_row;
        for (int p = 0; p < job->panels; p++)
            for (int ci = 0; ci < width; ci += 6)
                ab_weights_rows_avx2(v + ci, v_row, u + p * NR, u_row, job->count, m + (size_t)ci * ldacc + p * NR,
                                     ldacc, width - ci < 6 ? width - ci : 6);
    }
#else
    (void)job, (void)begin, (void)end;
#endif
}

// Phase 2: M[ξ] += the chunk's V[ξ]ᵀ U[ξ] for positions ξ ∈ [begin, end).
static void multiply_part(void *context, int begin, int end, int thread) {
    (void)thread;
    weights_job *job = context;
    if (job->natural) return multiply_part_natural(job, begin, end);
    int chunk = job->chunk, block = job->kernel.block;
    size_t element = job->kernel.bf16 ? 2 : 4;
    for (int xi = begin; xi < end; xi++) {
        float *m = job->accumulator + (size_t)xi * job->width * job->ldacc;
        const char *v = (const char *)job->v_chunk + (size_t)xi * job->blocks * chunk * block * element;
        for (int p = 0; p < job->panels; p += 2) {
            const char *g0 = (const char *)job->u_chunk + ((size_t)xi * job->panels + p) * chunk * NR * element;
            const char *g1 = p + 1 < job->panels ? g0 + (size_t)chunk * NR * element : NULL;
            for (int b = 0; b < job->blocks; b++)
                job->kernel.run(v + (size_t)b * chunk * block * element, g0, g1, job->count,
                                m + (size_t)b * block * job->ldacc + p * NR, job->ldacc, job->s->in_c - b * block);
        }
    }
}

typedef struct {
    const ab_conv_shape *s;
    ab_winograd_variant v;
    const float *accumulator;
    size_t position_stride, ldacc;
    float *grad_oihw;
} gradient_job;

// grad_oihw[co][ci] = Gᵀ M[·][ci][co] G for output channels [begin, end).
static void gradient_part(void *context, int begin, int end, int thread) {
    (void)thread;
    gradient_job *job = context;
    for (int co = begin; co < end; co++)
        for (int ci = 0; ci < job->s->in_c; ci++)
            job->v.gradient(job->accumulator + ci * job->ldacc + co, job->position_stride,
                            job->grad_oihw + ((size_t)co * job->s->in_c + ci) * 9);
}

void ab_winograd_backward_weights(const ab_conv_shape *s, int tile, ab_precision precision, const float *input,
                                  const float *grad_output, float *grad_oihw) {
    ab_winograd_variant v = ab_winograd_variant_of(tile);
    int bf16 = precision == AB_PRECISION_BF16;
    ab_bf16_arithmetic arithmetic = ab_bf16_arithmetic_active();
    ab_weights_tile kernel = bf16 ? arithmetic.weights : ab_weights_tile_fp32();
    int natural = !bf16 && ab_isa_active() == AB_ISA_AVX2;
    int blocks = (s->in_c + kernel.block - 1) / kernel.block, panels = (s->out_c + NR - 1) / NR;
    int width = natural ? s->in_c : blocks * kernel.block, ldacc = panels * NR, element = bf16 ? 2 : 4;
    int tiles_h = (s->out_h + v.tile - 1) / v.tile, tiles_w = (s->out_w + v.tile - 1) / v.tile;
    int v_row = natural ? width + ROW_PAD : width, u_row = natural ? ldacc + ROW_PAD : ldacc;
    int chunk = CHUNK_BYTES / (element * v.positions * (v_row + u_row));
    if (chunk < 16) chunk = 16;
    if (chunk > 1024) chunk = 1024;
    chunk &= ~1;  // bf16: whole pairs of tiles per chunk, so the pairs do not depend on the chunk size
    size_t total = (size_t)v.positions * width * ldacc;
    float *accumulator = ab_shared_scratch(1, sizeof(float) * total);  // as direct backward-weights' (conv.c)
    memset(accumulator, 0, sizeof(float) * total);
    void *v_chunk = ab_shared_scratch(2, (size_t)element * v.positions * chunk * v_row);
    void *u_chunk = ab_shared_scratch(3, (size_t)element * v.positions * chunk * u_row);
    weights_job job = {s, v, kernel, bf16 ? arithmetic.round_pairs : NULL, input, grad_output, accumulator, v_chunk,
                       u_chunk, chunk, blocks, panels, width, ldacc, 0, 0, natural, v_row, u_row};
    if (natural && ldacc > s->out_c)  // U's columns past out_c: the grad transform never writes them
        for (size_t row = 0; row < (size_t)v.positions * chunk; row++)
            memset((float *)u_chunk + row * u_row + s->out_c, 0, sizeof(float) * (ldacc - s->out_c));
    long tiles = (long)s->batch * tiles_h * tiles_w;
    for (job.first = 0; job.first < tiles; job.first += chunk) {
        job.count = (int)(tiles - job.first < chunk ? tiles - job.first : chunk);
        ab_parallel_for(bf16 ? (job.count + 1) / 2 : job.count, transform_part, &job);
        ab_parallel_for(v.positions, multiply_part, &job);
    }
    gradient_job gradient = {s, v, accumulator, (size_t)width * ldacc, (size_t)ldacc, grad_oihw};
    ab_parallel_for(s->out_c, gradient_part, &gradient);
}
