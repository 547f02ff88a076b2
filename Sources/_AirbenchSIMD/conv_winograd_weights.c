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
// The work is split twice. Where M takes under 4 MiB (CHUNK_BYTES) the tiles are summed in two segments (their
// halves, each starting at an even tile), each into its own M, and the two are added in order at the end; larger
// sums keep one segment. Within a segment it is split by rows of positions: ξ = alpha·i + l, and a thread owns the
// sums M[ξ][·][co] of some rows i and output-channel panels (units segment·alpha·panels + row·panels + panel,
// contiguous ranges of them). It goes through the segment's tiles chunk by chunk: transforms each tile's V and U
// for its own rows only (the transforms' first stage whole unless its rows are all or half of them, the second for
// those rows; separable_transform), into its own buffers (block-major, [ξ][ci block][t][block] and
// [ξ][panel][t][NR], for the tile kernels to read contiguously; on the AVX2 path as the transforms write them,
// weights_job), then adds the chunk into its part of the segment's M.
// Nothing one thread writes is read or written by another until the pass ends (but for units taken, below): with the
// tiles of a chunk split between the threads instead (transform, then add by positions), each thread read half of its V
// and U from the other's cache, and in this 2-core VM that made the transforms take 1.0–1.9× their one-thread time from
// one minute to the next (BENCHMARKS.md, "The Winograd weight gradient's threads own rows of positions"). With rows
// alone, every thread loaded every tile's pixels, half of them written by the other core in the passes before; at 2
// threads the segments give each thread the images the forward and BatchNorm passes gave it, and the narrow layers'
// weight gradients (2.conv1, 2.conv2, 3.conv1) went from 1.5–1.8× to 1.9–2.0× (issue 22 in BENCHMARKS.md). Two segments
// of a wide layer's M (9.4 MB at 256 × 256 in F(4×4)) no longer fit the L3 beside their chunks: 3.conv2,
// 4.conv1 and 4.conv2 were 10–60% slower with them, hence the bound.
// A thread that has finished its units takes the later half of another's still to do, from that one's next chunk on
// ("claims" below): the only time threads share sums, handed over between two chunks.
// Each element of a segment's M is one chain of fmas over its tiles in ascending order, whatever the number of
// threads, which thread adds which chunk, the chunk size or the path's tile width; the segments are fixed by the
// shape, never by the threads.
// With bf16 products V and U are rounded to bf16 as they are scattered, tiles 2p and 2p + 1 interleaved (the
// reduction runs over tiles, and vdpbf16ps adds a pair of products per lane); each element of M is then one chain
// over the pairs in ascending order.
#include "airbench_simd.h"
#include "internal.h"
#include <stdatomic.h>
#include <string.h>

#define NR AB_NR
#define MAX_TILE 6                 // m
#define MAX_ALPHA (MAX_TILE + 2)  // m + 2
// Bytes of V and U per chunk over all positions: 4 MiB, 56 tiles of a 256 × 256 layer in fp32; each thread's buffers
// hold its rows' share (2 MiB at 2 threads in one segment, all of it where a thread has a segment to itself). A
// larger chunk loads and stores M (9.4 MB there) less often but leaves the caches sooner: 8 MiB measured no faster,
// 16 slower (fp32, when the threads still shared one chunk; bf16 chunks hold twice the tiles, not yet timed).
#define CHUNK_BYTES (4 * 1024 * 1024)
// The AVX2 path's rows of V and U (one tile's channels, 256 floats = 1 KiB in most layers) are this many floats
// longer than their channels: rows 1 KiB apart fall into 4 of the L1's 64 sets, so the tile kernel, which reads
// one row of each per tile, found none of them in L1 again; one line apart they spread over all the sets. Measured
// side by side on the Zen 5 (AVX2 path): the weight gradients of 3.conv2, 4.conv1 and 4.conv2 18–25% faster. (8 and 12
// MiB chunks with it measured no different from 4.)
#define ROW_PAD 16

// A thread's claim on units of M (below, "claims"), alone in its cache line.
typedef struct {
    _Alignas(64) _Atomic uint64_t word;
} claim_slot;

typedef struct {
    const ab_conv_shape *s;
    ab_winograd_variant v;
    ab_weights_tile kernel;
    void (*round_pairs)(const float *x0, const float *x1, int count, uint16_t *to);  // bf16 only
    const float *input, *grad_output;
    float *accumulator;  // M of each segment: segments × [ξ][width][ldacc], segment_floats apart
    int segments;
    size_t segment_floats;
    long tiles;
    int chunk, blocks, panels, width, ldacc;
    // The AVX2 path in fp32: V and U stay as the transforms write them, [ξ][t][v_row] and [ξ][t][u_row] (in_c and
    // ldacc channels, then ROW_PAD unused floats), and ab_weights_rows_avx2 reads them there (six channels per tile:
    // twelve accumulators, no copy).
    int natural;
    int v_row, u_row;  // floats from one tile's V (U) row to the next's: width (ldacc), + ROW_PAD when natural
    claim_slot *claims;  // one per thread of the pool
    int threads;
} weights_job;

// One thread's part of one segment: the units [begin, end) it adds into the segment's M, the rows
// first_row ..< end_row they lie in (its positions, alpha·first_row ..< alpha·end_row, numbered from 0 in its
// buffers) and the chunk of tiles at hand.
typedef struct {
    int begin, end, first_row, end_row, positions;
    float *accumulator;  // the segment's M
    // V and U of the chunk's tiles at its positions: fp32 [ξ][ci block][t][block] and [ξ][panel][t][NR]; bf16 the
    // tiles in pairs along the reduction, [ξ][ci block][t/2][block][2] and [ξ][panel][t/2][NR][2]; natural as above
    void *v_chunk, *u_chunk;
    float *rows;  // block-major: a tile's (bf16: two tiles') V and U at its positions before they are scattered
    const float *zeros;
    long first;  // the chunk: tiles first ..< first + count
    int count;
} weights_part_state;

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

// Prefetches, before the chunk's tile t of `count` is transformed, the pixels of the tiles ahead (ab_tiles_ahead).
static void prefetch_ahead(const weights_job *job, long first, int t, int count) {
    long from, to;
    ab_tiles_ahead(t, 0, count, &from, &to);
    for (long ahead = from; ahead < to; ahead++) {
        ab_winograd_prefetch_patch(job->s, job->v.tile, first + ahead, job->input);
        ab_winograd_prefetch_block(job->s, job->v.tile, first + ahead, job->grad_output, sizeof(float) * job->s->out_c,
                                   0);
    }
}

// The chunk's tile t at the part's positions: its V and U transformed (at v and u, positions v_stride and u_stride
// apart).
static void transform_tile(const weights_job *job, const weights_part_state *part, int t, float *v, size_t v_stride,
                           float *u, size_t u_stride) {
    const float *patch[MAX_ALPHA * MAX_ALPHA], *dy[MAX_TILE * MAX_TILE];
    prefetch_ahead(job, part->first, t, part->count);
    tile_pixels(job, part->first + t, part->zeros, patch, dy);
    job->v.input(patch, job->s->in_c, part->first_row, part->end_row, v, v_stride);
    job->v.grad(dy, job->s->out_c, part->first_row, part->end_row, u, u_stride);
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

// The chunk's V and U at the part's positions. The AVX2 path transforms straight into its [ξ][t][channels]
// buffers; the others transform a tile into `rows` and scatter it block-major (faster than storing the transforms'
// 8-lane groups there directly), bf16 two tiles at a time.
static void transform_chunk(const weights_job *job, const weights_part_state *part) {
    int positions = part->positions, chunk = job->chunk;
    if (job->natural) {
        for (int t = 0; t < part->count; t++)
            transform_tile(job, part, t, (float *)part->v_chunk + (size_t)t * job->v_row, (size_t)chunk * job->v_row,
                           (float *)part->u_chunk + (size_t)t * job->u_row, (size_t)chunk * job->u_row);
        return;
    }
    size_t co_width = (size_t)job->panels * NR, row_floats = (size_t)positions * (job->width + co_width);
    int per_step = job->kernel.bf16 ? 2 : 1;
    for (int t = 0; t < part->count; t += per_step) {
        const float *row[2] = {NULL, NULL}, *grad_row[2] = {NULL, NULL};
        for (int i = 0; i < per_step && t + i < part->count; i++) {
            float *v = part->rows + i * row_floats, *u = v + (size_t)positions * job->width;
            transform_tile(job, part, t + i, v, job->width, u, co_width);
            row[i] = v;
            grad_row[i] = u;
        }
        if (job->kernel.bf16) {
            scatter_pair(row[0], row[1], job->width, positions, job->blocks, job->kernel.block, chunk, t / 2, job,
                         part->v_chunk);
            scatter_pair(grad_row[0], grad_row[1], co_width, positions, job->panels, NR, chunk, t / 2, job,
                         part->u_chunk);
        } else {
            scatter(row[0], job->width, positions, job->blocks, job->kernel.block, chunk, t, part->v_chunk);
            scatter(grad_row[0], co_width, positions, job->panels, NR, chunk, t, part->u_chunk);
        }
    }
}

// M[ξ][·][panels first ..< end) += the chunk's V[ξ]ᵀ U[ξ] for the part's position k (ξ = alpha·first_row + k).
static void multiply_position(const weights_job *job, const weights_part_state *part, int k, int first, int end) {
    int chunk = job->chunk, width = job->width, ldacc = job->ldacc;
    float *m = part->accumulator + ((size_t)job->v.alpha * part->first_row + k) * width * ldacc;
    if (job->natural) {  // six input channels × one panel at a time
#if defined(__x86_64__)
        const float *v = (const float *)part->v_chunk + (size_t)k * chunk * job->v_row;
        const float *u = (const float *)part->u_chunk + (size_t)k * chunk * job->u_row;
        for (int p = first; p < end; p++)
            for (int ci = 0; ci < width; ci += 6)
                ab_weights_rows_avx2(v + ci, job->v_row, u + p * NR, job->u_row, part->count,
                                     m + (size_t)ci * ldacc + p * NR, ldacc, width - ci < 6 ? width - ci : 6);
#endif
        return;
    }
    int block = job->kernel.block;
    size_t element = job->kernel.bf16 ? 2 : 4;
    const char *v = (const char *)part->v_chunk + (size_t)k * job->blocks * chunk * block * element;
    for (int p = first; p < end; p += 2) {  // two panels per tile where the part has both
        const char *g0 = (const char *)part->u_chunk + ((size_t)k * job->panels + p) * chunk * NR * element;
        const char *g1 = p + 1 < end ? g0 + (size_t)chunk * NR * element : NULL;
        for (int b = 0; b < job->blocks; b++)
            job->kernel.run(v + (size_t)b * chunk * block * element, g0, g1, part->count,
                            m + (size_t)b * block * ldacc + p * NR, ldacc, job->s->in_c - b * block);
    }
}

// A per-thread row of zeros as wide as the shape's widest pixel row, for the pixels that leave the image or the output.
static const float *thread_zeros(const ab_conv_shape *s, int thread) {
    int count = s->in_c > s->out_c ? s->in_c : s->out_c;
    float *zeros = ab_thread_scratch(thread, 1, sizeof(float) * count);
    memset(zeros, 0, sizeof(float) * count);
    return zeros;
}

// The first tile of a segment (segments: the end). Even, so that bf16's pairs of tiles (2p, 2p + 1) stay whole.
static long segment_first(const weights_job *job, int segment) {
    return segment == job->segments ? job->tiles : (job->tiles * segment / job->segments) & ~1L;
}

// Zeroes the units [begin, end) of M (unit = row·panels + panel: the row's alpha positions, every input channel,
// the panel's NR output channels), here rather than before the pass so that each thread zeroes, in its own cache,
// the sums it owns.
static void zero_units(const weights_job *job, float *m, int begin, int end) {
    for (int unit = begin; unit < end; unit++) {
        int row = unit / job->panels, panel = unit % job->panels;
        for (int l = 0; l < job->v.alpha; l++)
            for (int ci = 0; ci < job->width; ci++)
                memset(m + (((size_t)job->v.alpha * row + l) * job->width + ci) * job->ldacc + panel * NR, 0,
                       sizeof(float) * NR);
    }
}

// Sets the part to the units [begin, end) of one segment (unit = row·panels + panel): its rows and positions, its
// buffers for them, and the zeros its transforms never write (channels past in_c and out_c, to whole blocks and
// panels; the natural path's U to ldacc). Again whenever a thief takes some of its units.
static void set_units(const weights_job *job, weights_part_state *part, int begin, int end, int thread) {
    const ab_conv_shape *s = job->s;
    int panels = job->panels, chunk = job->chunk, per_step = job->kernel.bf16 ? 2 : 1;
    part->begin = begin;
    part->end = end;
    part->first_row = begin / panels;
    part->end_row = (end - 1) / panels + 1;
    part->positions = job->v.alpha * (part->end_row - part->first_row);
    size_t element = job->kernel.bf16 ? 2 : 4, co_width = (size_t)panels * NR;
    part->v_chunk = ab_thread_scratch(thread, 2, element * part->positions * chunk * job->v_row);
    part->u_chunk = ab_thread_scratch(thread, 3, element * part->positions * chunk * job->u_row);
    part->zeros = thread_zeros(s, thread);
    if (job->natural && job->ldacc > s->out_c)
        for (size_t row = 0; row < (size_t)part->positions * chunk; row++)
            memset((float *)part->u_chunk + row * job->u_row + s->out_c, 0, sizeof(float) * (job->ldacc - s->out_c));
    if (!job->natural) {
        size_t row_floats = (size_t)part->positions * (job->width + co_width);
        part->rows = ab_thread_scratch(thread, 0, sizeof(float) * per_step * row_floats);
        for (int i = 0; i < per_step; i++)
            for (int xi = 0; xi < part->positions; xi++) {
                float *row = part->rows + i * row_floats, *grad_row = row + (size_t)part->positions * job->width;
                memset(row + xi * job->width + s->in_c, 0, sizeof(float) * (job->width - s->in_c));
                memset(grad_row + xi * co_width + s->out_c, 0, sizeof(float) * (co_width - s->out_c));
            }
    }
}

// The chunk of tiles at hand, transformed, added into the part's units of the segment's M.
static void multiply_chunk(const weights_job *job, const weights_part_state *part) {
    int alpha = job->v.alpha, panels = job->panels;
    for (int k = 0; k < part->positions; k++) {
        int row = part->first_row + k / alpha, first = row * panels, last = first + panels;
        first = first > part->begin ? first : part->begin;
        last = last < part->end ? last : part->end;
        multiply_position(job, part, k, first - row * panels, last - row * panels);
    }
}

// ---- claims: a thread that has finished takes units from one that has not ----------------------------------------
// At 2 threads one core often ran its half of this pass slower than the other (this VM's memory side drifts), and
// the faster thread waited at the end: 3.1–4.4 s of a 40-step AVX2 run on a Zen 3, 0.14–0.18 s with claims, and the
// pass 5–7% shorter (BENCHMARKS.md, "take units from one that is behind"). The thread
// that finishes first takes the later half of the units of the claim with the most work left, from its next chunk
// of tiles on; the owner goes on with the rest. Each element of M is still one chain over its tiles in ascending
// order, only the thread that adds a chunk into it changes: the thief adds its first chunk once the owner has added
// the one before (the owner commits to a chunk only after it has added the previous one), so the bits do not change.
//
// A claim is one 64-bit word: the first chunk its owner has not yet committed to (`next`), and its units [begin,
// end) in the pass's numbering (segment·alpha·panels + unit), so that a thief lowering `end` and the owner
// committing to `next` never miss each other (whichever compare-and-swap comes second sees the other's change).
// Units number at most 2·8·panels (8,192 at the 8,192 output channels the widths admit); chunks are made long
// enough for 26 bits.
#define CLAIM_UNIT_BITS 19
#define CLAIM_UNIT_MASK ((1ull << CLAIM_UNIT_BITS) - 1)
#define CLAIM_CHUNK_LIMIT (1ll << (64 - 2 * CLAIM_UNIT_BITS))

typedef struct {
    int next, begin, end;
} claim;

static uint64_t claim_word(claim c) {
    return (uint64_t)c.next << (2 * CLAIM_UNIT_BITS) | (uint64_t)c.begin << CLAIM_UNIT_BITS | (uint64_t)c.end;
}

static claim claim_of(uint64_t word) {
    return (claim){(int)(word >> (2 * CLAIM_UNIT_BITS)), (int)(word >> CLAIM_UNIT_BITS & CLAIM_UNIT_MASK),
                   (int)(word & CLAIM_UNIT_MASK)};
}

static atomic_long takes;           // units taken since the process started
static atomic_int slow_thread = -1;  // tests: the thread that holds back (ab_winograd_weights_slow_thread)
static atomic_long takes_when_slowed;

void ab_winograd_weights_slow_thread(int thread) {
    atomic_store(&takes_when_slowed, atomic_load(&takes));
    atomic_store(&slow_thread, thread);
}

long ab_winograd_weights_takes(void) { return atomic_load(&takes); }

// Tests: the slow thread waits before each chunk it adds until some thread has taken units (or a second has
// passed), so that taking is exercised on every path whatever its speed.
static void wait_if_slow(int thread) {
    if (atomic_load_explicit(&slow_thread, memory_order_relaxed) != thread) return;
    double until = ab_now_seconds() + 1;
    while (atomic_load(&takes) == atomic_load(&takes_when_slowed) && ab_now_seconds() < until) ab_pause();
}

// Tests: a thread that has finished waits (at most a second) for the slow thread to publish its first claim before it
// looks for units to take. On a busy machine (more threads than free cores) the slow thread can start only after
// the others have finished and found nothing to take, and the test would see no take at all.
static void wait_for_slow_claim(const weights_job *job, int thread) {
    int slow = atomic_load_explicit(&slow_thread, memory_order_relaxed);
    if (slow < 0 || slow == thread || slow >= job->threads) return;
    double until = ab_now_seconds() + 1;
    while (claim_of(atomic_load_explicit(&job->claims[slow].word, memory_order_acquire)).end == 0 &&
           ab_now_seconds() < until)
        ab_pause();
}

static int segment_chunks(const weights_job *job, int segment) {
    long tiles = segment_first(job, segment + 1) - segment_first(job, segment);
    return (int)((tiles + job->chunk - 1) / job->chunk);
}

// Waits until the thread of `slot` has added the chunk before the first one taken from it (`taken`: its claim as the
// thief left it). Until then its `next` stays: it commits to another chunk, or publishes another claim, only after.
static void wait_for_owner(const claim_slot *slot, uint64_t taken) {
    claim was = claim_of(taken);
    if (was.next == 0) return;
    for (;;) {
        claim now = claim_of(atomic_load_explicit(&slot->word, memory_order_acquire));
        if (now.begin != was.begin || now.next != was.next) return;
        ab_pause();
    }
}

// The part's chunk of tiles: the segment's chunk `index`, at the units [begin, end) of the pass's numbering.
static void set_chunk(const weights_job *job, weights_part_state *part, int thread, int segment, int index, int begin,
                      int end) {
    int base = segment * job->v.alpha * job->panels;
    if (part->end != end - base || part->begin != begin - base) set_units(job, part, begin - base, end - base, thread);
    part->first = segment_first(job, segment) + (long)index * job->chunk;
    long left = segment_first(job, segment + 1) - part->first;
    part->count = (int)(left < job->chunk ? left : job->chunk);
}

// Adds the chunks of claim `c` from `next` on into M until none is left. A thread's own claim is in its slot
// already. A taken one (`after`: the slot it was taken from, `taken`: the claim the thief left there) is published
// only once the owner there has added the chunk before `next`, with its first chunk committed: so in every slot,
// `next` = n says that the chunks before n - 1 are added and n - 1 is added or being added by the slot's thread.
static void work_claim(const weights_job *job, int thread, claim c, const claim_slot *after, uint64_t taken) {
    claim_slot *mine = &job->claims[thread];
    int segment = c.begin / (job->v.alpha * job->panels), chunks = segment_chunks(job, segment);
    weights_part_state part = {0};
    part.accumulator = job->accumulator + segment * job->segment_floats;
    uint64_t word = claim_word(c);
    for (;;) {
        c = claim_of(word);
        if (c.next >= chunks) return;
        claim committed = {c.next + 1, c.begin, c.end};
        // A taken claim's first chunk is committed when the claim is published (below): no one else can see it yet.
        if (!after && !atomic_compare_exchange_weak_explicit(&mine->word, &word, claim_word(committed),
                                                             memory_order_acq_rel, memory_order_acquire))
            continue;  // a thief lowered `end`: `word` is the new claim
        set_chunk(job, &part, thread, segment, c.next, c.begin, c.end);
        wait_if_slow(thread);
        transform_chunk(job, &part);
        if (after) {
            wait_for_owner(after, taken);
            atomic_store_explicit(&mine->word, claim_word(committed), memory_order_release);
            after = NULL;
        }
        multiply_chunk(job, &part);
        word = atomic_load_explicit(&mine->word, memory_order_acquire);
    }
}

// Takes the later half of the units of the claim with the most work left (chunks left × units, at least 2 of
// each) from its next chunk on, and works through them. Returns 0 when no claim has that much left.
static int take_units(const weights_job *job, int thread) {
    int units = job->v.alpha * job->panels;
    for (;;) {
        int victim = -1;
        long most = 0;
        uint64_t seen = 0;
        for (int t = 0; t < job->threads; t++) {
            if (t == thread) continue;
            uint64_t word = atomic_load_explicit(&job->claims[t].word, memory_order_acquire);
            claim c = claim_of(word);
            long chunks_left = segment_chunks(job, c.begin / units) - c.next, count = c.end - c.begin;
            if (chunks_left >= 2 && count >= 2 && chunks_left * count > most) {
                victim = t;
                most = chunks_left * count;
                seen = word;
            }
        }
        if (victim < 0) return 0;
        claim c = claim_of(seen), kept = {c.next, c.begin, c.end - (c.end - c.begin) / 2};
        uint64_t left = claim_word(kept);
        if (!atomic_compare_exchange_strong_explicit(&job->claims[victim].word, &seen, left, memory_order_acq_rel,
                                                     memory_order_relaxed))
            continue;  // the owner moved on (or another thief came first): look again
        atomic_fetch_add_explicit(&takes, 1, memory_order_relaxed);
        work_claim(job, thread, (claim){c.next, kept.end, c.end}, &job->claims[victim], left);
        return 1;
    }
}

// The units [begin, end) of all segments (unit = segment·alpha·panels + row·panels + panel), segment by segment,
// each zeroed and claimed; then units taken from the other threads while any have enough left.
static void weights_part(void *context, int begin, int end, int thread) {
    const weights_job *job = context;
    int units = job->v.alpha * job->panels;
    for (int segment = 0; segment < job->segments; segment++) {
        int first = begin > segment * units ? begin : segment * units;
        int last = end < (segment + 1) * units ? end : (segment + 1) * units;
        if (first >= last) continue;
        zero_units(job, job->accumulator + segment * job->segment_floats, first - segment * units,
                   last - segment * units);
        claim own = {0, first, last};
        atomic_store_explicit(&job->claims[thread].word, claim_word(own), memory_order_release);
        work_claim(job, thread, own, NULL, 0);
    }
    wait_for_slow_claim(job, thread);
    while (take_units(job, thread)) {
    }
}

typedef struct {
    const weights_job *weights;  // the pass whose sums M are transformed
    float *grad_oihw;
} gradient_job;

// grad_oihw[co][ci] = Gᵀ M[·][ci][co] G for output channels [begin, end), M the segments' sum (in segment order).
static void gradient_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const gradient_job *gradient = context;
    const weights_job *job = gradient->weights;
    size_t position_stride = (size_t)job->width * job->ldacc;
    for (int co = begin; co < end; co++)
        for (int ci = 0; ci < job->s->in_c; ci++) {
            const float *m = job->accumulator + (size_t)ci * job->ldacc + co;
            float sum[MAX_ALPHA * MAX_ALPHA];
            for (int xi = 0; xi < job->v.positions; xi++) {
                sum[xi] = m[xi * position_stride];
                for (int segment = 1; segment < job->segments; segment++)
                    sum[xi] += m[segment * job->segment_floats + xi * position_stride];
            }
            job->v.gradient(sum, 1, gradient->grad_oihw + ((size_t)co * job->s->in_c + ci) * 9);
        }
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
    // Tiles per chunk: CHUNK_BYTES of V and U over all positions, so each thread's buffers hold its share of them.
    int chunk = CHUNK_BYTES / (element * v.positions * (v_row + u_row));
    if (chunk < 16) chunk = 16;
    if (chunk > 1024) chunk = 1024;
    chunk &= ~1;  // bf16: whole pairs of tiles per chunk, so the pairs do not depend on the chunk size
    long tiles = (long)s->batch * tiles_h * tiles_w;
    while (tiles / chunk >= CLAIM_CHUNK_LIMIT) chunk *= 2;  // a claim's `next` counts chunks in 26 bits
    size_t total = (size_t)v.positions * width * ldacc;
    int segments = sizeof(float) * total < CHUNK_BYTES ? 2 : 1;  // (the header says why)
    float *accumulator = ab_shared_scratch(1, sizeof(float) * segments * total);  // as direct backward-weights' (conv.c)
    weights_job job = {s, v, kernel, bf16 ? arithmetic.round_pairs : NULL, input, grad_output, accumulator, segments,
                       total, tiles, chunk, blocks, panels, width, ldacc, natural, v_row, u_row};
    int threads = ab_threads();
    claim_slot claims[threads];
    for (int t = 0; t < threads; t++) atomic_init(&claims[t].word, 0);  // no units: nothing to take
    job.claims = claims;
    job.threads = threads;
    ab_parallel_for(segments * v.alpha * panels, weights_part, &job);
    gradient_job gradient = {&job, grad_oihw};
    ab_parallel_for_balanced(s->out_c, gradient_part, &gradient);
}
