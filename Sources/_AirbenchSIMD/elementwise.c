// The memory-bound layers: the activations (GELU, SiLU), BatchNorm statistics and affine maps, max-pooling. Each loop is written once
// in plain C and compiled for each instruction-set path, the active path choosing the build (AB_ON_PATH,
// internal.h).
// Work is split by the pool into contiguous row ranges; reductions go over fixed chunks of REDUCE_ROWS rows
// whose partial sums are added in chunk order, so results never depend on the thread count.
#include "airbench_simd.h"
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define ELEMENT_CHUNK 16384
#define REDUCE_ROWS 256

// ---- exact-GELU pieces ------------------------------------------------------------------------------------

// e^y for y ≤ 0: y = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial (error < 2e-9),
// 2^n put into the exponent bits. Below −87 the result is 0 (fp32 underflow).
static inline float exp_nonpositive(float y) {
    float n = nearbyintf(y * 1.44269504088896341f);
    float r = y - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int bits = ((int)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y < -87.0f ? 0.0f : p * scale;
}

// erfc(z)·e^{z²} for z ≥ 0 as a degree-10 polynomial in t = 1/(1 + z/2), fitted (weighted least squares for
// relative error, scripts/fit_erfc.py) on [0, 12]: relative error 5e-8 in double, ≈3e-7 evaluated in fp32.
static inline float scaled_erfc(float z) {
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 1.798098512e-02f;
    p = p * t - 1.567880501e-01f;
    p = p * t + 5.147573080e-01f;
    p = p * t - 7.954979873e-01f;
    p = p * t + 5.369915636e-01f;
    p = p * t - 1.684697091e-01f;
    p = p * t + 2.537805051e-01f;
    p = p * t + 2.312092270e-01f;
    p = p * t + 2.840806201e-01f;
    p = p * t + 2.819509746e-01f;
    p = p * t + 4.510044194e-06f;
    return p;
}

// Φ(x) (standard normal CDF) and φ(x) (its density) for GELU(x) = x·Φ(x) and GELU'(x) = Φ(x) + x·φ(x).
static inline void normal_cdf_pdf(float x, float *cdf, float *pdf) {
    float z = fabsf(x) * 0.70710678118654752f;
    float gaussian = exp_nonpositive(-(z * z));          // e^{−x²/2}
    float tail = 0.5f * gaussian * scaled_erfc(z);         // Φ(−|x|)
    *cdf = x < 0 ? tail : 1.0f - tail;
    *pdf = gaussian * 0.39894228040143268f;
}

// ---- SiLU pieces ------------------------------------------------------------------------------------------

// σ(x) = 1/(1 + e^{−x}) and 1 − σ(x) = σ(−x), both from e = e^{−|x|} ∈ (0, 1] (no overflow, and the small one as
// e/(1 + e), without cancellation), for SiLU(x) = x·σ(x) and SiLU'(x) = σ(x)·(1 + x·(1 − σ(x))).
static inline void sigmoid_pair(float x, float *sigma, float *complement) {
    float e = exp_nonpositive(-fabsf(x));
    float large = 1.0f / (1.0f + e), small = e * large;
    *sigma = x < 0 ? small : large;
    *complement = x < 0 ? large : small;
}

// ---- the activations, one element at a time -------------------------------------------------------------

static inline float gelu_value(float x) {
    float cdf, pdf;
    normal_cdf_pdf(x, &cdf, &pdf);
    return x * cdf;
}

static inline float gelu_slope(float x) {
    float cdf, pdf;
    normal_cdf_pdf(x, &cdf, &pdf);
    return cdf + x * pdf;
}

static inline float silu_value(float x) {
    float sigma, complement;
    sigmoid_pair(x, &sigma, &complement);
    return x * sigma;
}

static inline float silu_slope(float x) {
    float sigma, complement;
    sigmoid_pair(x, &sigma, &complement);
    return sigma * (1.0f + x * complement);
}

typedef struct {
    ab_activation activation;
    const float *x, *dy;
    float *out;
    size_t count;
} activation_job;

// The activation is chosen outside each loop, so that every loop vectorises for one function.
AB_PATH_LOOP void activation_forward_range(ab_activation activation, const float *x, float *y, size_t count) {
    if (activation == AB_ACTIVATION_SILU) {
        for (size_t i = 0; i < count; i++) y[i] = silu_value(x[i]);
    } else {
        for (size_t i = 0; i < count; i++) y[i] = gelu_value(x[i]);
    }
}
AB_PATH_BUILDS(activation_forward_range,
            (ab_activation activation, const float *x, float *y, size_t count),
            (activation, x, y, count))

AB_PATH_LOOP void activation_backward_range(ab_activation activation, const float *x, const float *dy, float *dx,
                                            size_t count) {
    if (activation == AB_ACTIVATION_SILU) {
        for (size_t i = 0; i < count; i++) dx[i] = dy[i] * silu_slope(x[i]);
    } else {
        for (size_t i = 0; i < count; i++) dx[i] = dy[i] * gelu_slope(x[i]);
    }
}
AB_PATH_BUILDS(activation_backward_range,
            (ab_activation activation, const float *x, const float *dy, float *dx, size_t count),
            (activation, x, dy, dx, count))

static void activation_forward_part(void *context, int begin, int end, int thread) {
    (void)thread;
    activation_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, ELEMENT_CHUNK, job->count, &first, &last);
    AB_ON_PATH(activation_forward_range)(job->activation, job->x + first, job->out + first, last - first);
}

static void activation_backward_part(void *context, int begin, int end, int thread) {
    (void)thread;
    activation_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, ELEMENT_CHUNK, job->count, &first, &last);
    AB_ON_PATH(activation_backward_range)(job->activation, job->x + first, job->dy + first, job->out + first,
                                          last - first);
}

void ab_activation_forward(ab_activation activation, const float *x, float *y, size_t count) {
    activation_job job = {activation, x, NULL, y, count};
    ab_parallel_for_balanced(ab_chunks_of(count, ELEMENT_CHUNK), activation_forward_part, &job);
}

void ab_activation_backward(ab_activation activation, const float *x, const float *dy, float *dx, size_t count) {
    activation_job job = {activation, x, dy, dx, count};
    ab_parallel_for_balanced(ab_chunks_of(count, ELEMENT_CHUNK), activation_backward_part, &job);
}

// ---- per-channel reductions --------------------------------------------------------------------------------

// A reduction over rows in fixed chunks of REDUCE_ROWS: `reduce` fills two per-channel sums for rows
// [first, last); the chunks' sums are then added in chunk order, whatever thread computed them.
typedef void (*chunk_reducer)(const void *context, size_t first, size_t last, double *sum1, double *sum2);

typedef struct {
    chunk_reducer reduce;
    const void *context;
    size_t rows;
    int channels;
    double *partial;  // [chunk][2][channels]
} chunked_job;

static void chunked_part(void *context, int begin, int end, int thread) {
    (void)thread;
    chunked_job *job = context;
    for (int chunk = begin; chunk < end; chunk++) {
        size_t first, last;
        ab_chunk_items(chunk, chunk + 1, REDUCE_ROWS, job->rows, &first, &last);
        double *sum = job->partial + (size_t)chunk * 2 * job->channels;
        memset(sum, 0, sizeof(double) * 2 * job->channels);
        job->reduce(job->context, first, last, sum, sum + job->channels);
    }
}

static void reduce_in_chunks(chunk_reducer reduce, const void *context, size_t rows, int channels, double *sum1,
                             double *sum2) {
    int chunks = ab_chunks_of(rows, REDUCE_ROWS);
    chunked_job job = {reduce, context, rows, channels,
                       malloc(sizeof(double) * 2 * channels * (size_t)(chunks ? chunks : 1))};
    ab_parallel_for_balanced(chunks, chunked_part, &job);
    memset(sum1, 0, sizeof(double) * channels);
    memset(sum2, 0, sizeof(double) * channels);
    for (int chunk = 0; chunk < chunks; chunk++) {
        const double *partial = job.partial + (size_t)chunk * 2 * channels;
        for (int c = 0; c < channels; c++) {
            sum1[c] += partial[c];
            sum2[c] += partial[channels + c];
        }
    }
    free(job.partial);
}

typedef struct {
    const float *x;
    int channels;
} sums_job;

AB_PATH_LOOP void sums_range(const float *x, size_t rows, int channels, double *sum, double *squares) {
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < channels; c++) {
            double v = x[r * channels + c];
            sum[c] += v;
            squares[c] += v * v;
        }
}
AB_PATH_BUILDS(sums_range,
            (const float *x, size_t rows, int channels, double *sum, double *squares),
            (x, rows, channels, sum, squares))

static void sums_chunk(const void *context, size_t first, size_t last, double *sum1, double *sum2) {
    const sums_job *job = context;
    AB_ON_PATH(sums_range)(job->x + first * job->channels, last - first, job->channels, sum1, sum2);
}

void ab_channel_sums(const float *x, size_t rows, int channels, double *sum, double *sum_squares) {
    sums_job job = {x, channels};
    reduce_in_chunks(sums_chunk, &job, rows, channels, sum, sum_squares);
}

// ---- per-channel affine maps ------------------------------------------------------------------------------

typedef struct {
    const float *x, *dy;
    size_t rows;
    int channels;
    const float *scale, *shift;
    ab_activation activation;
    float *out;
} affine_job;

AB_PATH_LOOP void affine_range(const float *x, size_t rows, int channels, const float *scale,
                               const float *shift, ab_activation activation, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * channels;
        float *yr = y + r * channels;
        switch (activation) {
        case AB_ACTIVATION_GELU:
            for (int c = 0; c < channels; c++) yr[c] = gelu_value(xr[c] * scale[c] + shift[c]);
            break;
        case AB_ACTIVATION_SILU:
            for (int c = 0; c < channels; c++) yr[c] = silu_value(xr[c] * scale[c] + shift[c]);
            break;
        default:
            for (int c = 0; c < channels; c++) yr[c] = xr[c] * scale[c] + shift[c];
        }
    }
}
AB_PATH_BUILDS(affine_range,
            (const float *x, size_t rows, int channels, const float *scale, const float *shift,
             ab_activation activation, float *y),
            (x, rows, channels, scale, shift, activation, y))

static void affine_part(void *context, int begin, int end, int thread) {
    (void)thread;
    affine_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, REDUCE_ROWS, job->rows, &first, &last);
    size_t offset = first * job->channels;
    AB_ON_PATH(affine_range)(job->x + offset, last - first, job->channels, job->scale, job->shift, job->activation,
                             job->out + offset);
}

void ab_affine_activation(const float *x, size_t rows, int channels, const float *scale, const float *shift,
                          ab_activation activation, float *y) {
    affine_job job = {x, NULL, rows, channels, scale, shift, activation, y};
    ab_parallel_for_balanced(ab_chunks_of(rows, REDUCE_ROWS), affine_part, &job);
}

// dz may be dy itself (the backward pass works in place); each element is read before it is written, which is
// why the loops can be vectorised regardless (assume_safety). The activation is chosen per row, outside them.
AB_PATH_LOOP void affine_activation_backward_range(const float *x, const float *dy, size_t rows, int channels,
                                                   const float *scale, const float *shift, ab_activation activation,
                                                   float *dz, double *sum_dz, double *sum_dz_x) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * channels, *dyr = dy + r * channels;
        float *dzr = dz + r * channels;
        if (activation == AB_ACTIVATION_SILU) {
#pragma clang loop vectorize(assume_safety)
            for (int c = 0; c < channels; c++) dzr[c] = dyr[c] * silu_slope(xr[c] * scale[c] + shift[c]);
        } else {
#pragma clang loop vectorize(assume_safety)
            for (int c = 0; c < channels; c++) dzr[c] = dyr[c] * gelu_slope(xr[c] * scale[c] + shift[c]);
        }
        // A separate loop, so that both vectorise at full width (fp32 above, fp64 here).
#pragma clang loop vectorize(assume_safety)
        for (int c = 0; c < channels; c++) {
            sum_dz[c] += dzr[c];
            sum_dz_x[c] += (double)dzr[c] * xr[c];
        }
    }
}
AB_PATH_BUILDS(affine_activation_backward_range,
            (const float *x, const float *dy, size_t rows, int channels, const float *scale, const float *shift,
             ab_activation activation, float *dz, double *sum_dz, double *sum_dz_x),
            (x, dy, rows, channels, scale, shift, activation, dz, sum_dz, sum_dz_x))

static void affine_activation_backward_chunk(const void *context, size_t first, size_t last, double *sum_dz,
                                             double *sum_dz_x) {
    const affine_job *job = context;
    size_t offset = first * job->channels;
    AB_ON_PATH(affine_activation_backward_range)(job->x + offset, job->dy + offset, last - first, job->channels,
                                                 job->scale, job->shift, job->activation, job->out + offset, sum_dz,
                                                 sum_dz_x);
}

void ab_affine_activation_backward(const float *x, const float *dy, size_t rows, int channels, const float *scale,
                                   const float *shift, ab_activation activation, float *dz, double *sum_dz,
                                   double *sum_dz_x) {
    affine_job job = {x, dy, rows, channels, scale, shift, activation, dz};
    reduce_in_chunks(affine_activation_backward_chunk, &job, rows, channels, sum_dz, sum_dz_x);
}

// BatchNorm's input gradient of one element: the one expression both its own pass and the fused max-pool backward
// evaluate, so that the two give the same bits.
static inline float batchnorm_input_grad_value(float dz, float x, float a, float b, float d) {
    return dz * a + x * b + d;
}

AB_PATH_LOOP void batchnorm_input_grad_range(const float *dz, const float *x, size_t rows, int channels,
                                             const float *a, const float *b, const float *d, float *dx) {
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < channels; c++) {
            size_t i = r * channels + c;
            dx[i] = batchnorm_input_grad_value(dz[i], x[i], a[c], b[c], d[c]);
        }
}
AB_PATH_BUILDS(batchnorm_input_grad_range,
            (const float *dz, const float *x, size_t rows, int channels, const float *a, const float *b,
             const float *d, float *dx),
            (dz, x, rows, channels, a, b, d, dx))

typedef struct {
    const float *dz, *x;
    size_t rows;
    int channels;
    const float *a, *b, *d;
    float *dx;
} input_grad_job;

static void batchnorm_input_grad_part(void *context, int begin, int end, int thread) {
    (void)thread;
    input_grad_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, REDUCE_ROWS, job->rows, &first, &last);
    size_t offset = first * job->channels;
    AB_ON_PATH(batchnorm_input_grad_range)(job->dz + offset, job->x + offset, last - first, job->channels, job->a,
                                           job->b, job->d, job->dx + offset);
}

void ab_batchnorm_input_grad(const float *dz, const float *x, size_t rows, int channels, const float *a,
                             const float *b, const float *d, float *dx) {
    input_grad_job job = {dz, x, rows, channels, a, b, d, dx};
    ab_parallel_for_balanced(ab_chunks_of(rows, REDUCE_ROWS), batchnorm_input_grad_part, &job);
}

// ---- max-pooling ----------------------------------------------------------------------------------------------

typedef struct {
    const float *x, *dy;
    const uint8_t *argmax_in;
    int h, w, channels, k;
    float *out;
    uint8_t *argmax;
    const ab_norm_input_grad *norm;  // backward: dy is the norm's dz, mapped to its dx on the way (NULL: dy as is)
} pool_job;

// One k×k window (top-left input pixel `window`, rows w pixels apart) for channels first ..< channels.
// Strict comparison: the first maximum of a window wins, as in PyTorch.
static void maxpool_window(const float *window, int w, int channels, int k, int first, float *best, uint8_t *index) {
    for (int c = first; c < channels; c++) {
        float m = window[c];
        uint8_t at = 0;
        for (int tap = 1; tap < k * k; tap++) {
            float v = window[((size_t)(tap / k) * w + tap % k) * channels + c];
            if (v > m) m = v, at = (uint8_t)tap;
        }
        best[c] = m;
        index[c] = at;
    }
}

#if defined(__x86_64__)
// The same for the channels in whole groups of 8 (the compiler does not vectorise the mixed float/byte
// selects); returns how many channels it did.
__attribute__((target("avx2,fma"))) static int maxpool_window_avx2(const float *window, int w, int channels, int k,
                                                                   float *best, uint8_t *index) {
    int vector_channels = channels / 8 * 8;
    for (int c = 0; c < vector_channels; c += 8) {
        __m256 m = _mm256_loadu_ps(window + c);
        __m256i at = _mm256_setzero_si256();
        for (int tap = 1; tap < k * k; tap++) {
            __m256 v = _mm256_loadu_ps(window + ((size_t)(tap / k) * w + tap % k) * channels + c);
            __m256 larger = _mm256_cmp_ps(v, m, _CMP_GT_OQ);
            m = _mm256_blendv_ps(m, v, larger);
            at = _mm256_blendv_epi8(at, _mm256_set1_epi32(tap), _mm256_castps_si256(larger));
        }
        _mm256_storeu_ps(best + c, m);
        __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(at), _mm256_extracti128_si256(at, 1));
        _mm_storel_epi64((__m128i *)(index + c), _mm_packus_epi16(words, words));
    }
    return vector_channels;
}
#endif

static void maxpool_image(const float *x, int h, int w, int channels, int k, float *y, uint8_t *argmax) {
    int ph = h / k, pw = w / k, avx2 = ab_isa_active() >= AB_ISA_AVX2;
    for (int py = 0; py < ph; py++)
        for (int px = 0; px < pw; px++) {
            float *best = y + ((size_t)py * pw + px) * channels;
            uint8_t *index = argmax + ((size_t)py * pw + px) * channels;
            const float *window = x + ((size_t)(py * k) * w + px * k) * channels;
            int done = 0;
#if defined(__x86_64__)
            if (avx2) done = maxpool_window_avx2(window, w, channels, k, best, index);
#endif
            (void)avx2;
            maxpool_window(window, w, channels, k, done, best, index);
        }
}

static void maxpool_forward_part(void *context, int begin, int end, int thread) {
    (void)thread;
    pool_job *job = context;
    size_t in_image = (size_t)job->h * job->w * job->channels;
    size_t out_image = (size_t)(job->h / job->k) * (job->w / job->k) * job->channels;
    for (int n = begin; n < end; n++)
        maxpool_image(job->x + n * in_image, job->h, job->w, job->channels, job->k, job->out + n * out_image,
                      job->argmax + n * out_image);
}

void ab_maxpool_forward(const float *x, int batch, int h, int w, int channels, int k, float *y, uint8_t *argmax) {
    pool_job job = {x, NULL, NULL, h, w, channels, k, y, argmax, NULL};
    ab_parallel_for_balanced(batch, maxpool_forward_part, &job);
}

// With `norm`, dy is BatchNorm's dz (pooled size) and each routed value is its input gradient, computed here where
// it is read instead of in a pass of its own (batchnorm_input_grad_range: the same expression, the same bits).
AB_PATH_LOOP void maxpool_backward_image(const float *dy, const ab_norm_input_grad *norm, const uint8_t *argmax,
                                         int h, int w, int channels, int k, float *dx) {
    int ph = h / k, pw = w / k;
    for (int py = 0; py < ph; py++)
        for (int px = 0; px < pw; px++) {
            size_t pooled = ((size_t)py * pw + px) * channels;
            const float *g = dy + pooled;
            const uint8_t *index = argmax + pooled;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    float *row = dx + ((size_t)(py * k + ky) * w + px * k + kx) * channels;
                    uint8_t position = (uint8_t)(ky * k + kx);
                    if (norm) {
                        const float *x = norm->x + pooled, *a = norm->a, *b = norm->b, *d = norm->d;
#pragma clang loop vectorize(assume_safety)
                        for (int c = 0; c < channels; c++)
                            row[c] = index[c] == position ? batchnorm_input_grad_value(g[c], x[c], a[c], b[c], d[c])
                                                          : 0.0f;
                    } else {
#pragma clang loop vectorize(assume_safety)
                        for (int c = 0; c < channels; c++) row[c] = index[c] == position ? g[c] : 0.0f;
                    }
                }
        }
    // Only pixels past the last whole window (h or w not a multiple of k) get no gradient: zero just those.
    size_t pixel = sizeof(float) * channels;
    for (int y = 0; y < h; y++) {
        int first = y < ph * k ? pw * k : 0;
        if (first < w) memset(dx + ((size_t)y * w + first) * channels, 0, pixel * (w - first));
    }
}
AB_PATH_BUILDS(maxpool_backward_image,
            (const float *dy, const ab_norm_input_grad *norm, const uint8_t *argmax, int h, int w, int channels, int k,
             float *dx),
            (dy, norm, argmax, h, w, channels, k, dx))

static void maxpool_backward_part(void *context, int begin, int end, int thread) {
    (void)thread;
    pool_job *job = context;
    size_t in_image = (size_t)job->h * job->w * job->channels;
    size_t out_image = (size_t)(job->h / job->k) * (job->w / job->k) * job->channels;
    for (int n = begin; n < end; n++) {
        ab_norm_input_grad image_norm, *norm = NULL;
        if (job->norm) {
            image_norm = *job->norm;
            image_norm.x += n * out_image;
            norm = &image_norm;
        }
        AB_ON_PATH(maxpool_backward_image)(job->dy + n * out_image, norm, job->argmax_in + n * out_image, job->h,
                                           job->w, job->channels, job->k, job->out + n * in_image);
    }
}

void ab_maxpool_backward(const float *dy, const ab_norm_input_grad *norm, const uint8_t *argmax, int batch, int h,
                         int w, int channels, int k, float *dx) {
    pool_job job = {NULL, dy, argmax, h, w, channels, k, dx, NULL, norm};
    ab_parallel_for_balanced(batch, maxpool_backward_part, &job);
}
