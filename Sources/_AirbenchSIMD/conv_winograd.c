// 3×3 convolution (stride 1) by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016): every 2×2 block of
// outputs ("tile") is Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d Bᵀᵀ) ] A over the 4×4 input patch d it reads, so a tile costs
// 16 multiply-adds per (ci, co) instead of 36. Summed over ci, the elementwise product becomes 16 independent
// GEMMs, one per position ξ of the 4×4 transformed tile:
//   M[ξ][t][co] = Σ_ci V[ξ][t][ci] · U[ξ][ci][co],   V = Bᵀ d B (input transform), U = G g Gᵀ (weights)
// run with the same micro-kernel as the direct convolution. A group of tiles has its V (16 × tiles × in_c) in a
// per-thread buffer; per panel of NR output channels the 16 GEMMs fill M, and the output transform writes the
// tiles' outputs. The arithmetic differs from the direct convolution only by rounding.
// Threads own whole tile groups, so every output is the same computation whatever the thread count.
#include "airbench_simd.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

#define NR AB_NR
#define POSITIONS 16                    // ξ: the 4×4 transformed tile
// V of one tile group: up to 768 KiB. Each transformed weight panel is reused by every tile of a group, so the
// group must be large (48 tiles at 256 channels); V then streams from L3 once per panel, which costs far less.
#define GROUP_FLOATS (192 * 1024)

static int panels_of(int channels) { return (channels + NR - 1) / NR; }

int ab_winograd_supports(const ab_conv_shape *s) { return s->kernel_h == 3 && s->kernel_w == 3; }

size_t ab_winograd_packed_count(const ab_conv_shape *s) {
    return (size_t)POSITIONS * panels_of(s->out_c) * s->in_c * NR;
}

// U[ξ = 4i + l][ci][co] = (G g Gᵀ)[i][l] with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], stored as
// packed[(ξ·panels + co/NR)·in_c + ci][co % NR] (0 past out_c). g(ky, kx) is weight_at(co, ci, ky, kx).
static void pack_transformed(const ab_conv_shape *s, const float *w, int backward_data, float *packed) {
    int panels = panels_of(s->out_c);
    memset(packed, 0, sizeof(float) * ab_winograd_packed_count(s));
    for (int co = 0; co < s->out_c; co++)
        for (int ci = 0; ci < s->in_c; ci++) {
            float g[3][3], t[4][3];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    // backward-data: output channel = forward ci, input channel = forward co, kernel flipped
                    g[ky][kx] = backward_data ? w[((size_t)ci * s->out_c + co) * 9 + (2 - ky) * 3 + (2 - kx)]
                                              : w[((size_t)co * s->in_c + ci) * 9 + ky * 3 + kx];
            for (int k = 0; k < 3; k++) {
                t[0][k] = g[0][k];
                t[1][k] = 0.5f * (g[0][k] + g[1][k] + g[2][k]);
                t[2][k] = 0.5f * (g[0][k] - g[1][k] + g[2][k]);
                t[3][k] = g[2][k];
            }
            for (int i = 0; i < 4; i++) {
                float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]),
                              t[i][2]};
                for (int l = 0; l < 4; l++)
                    packed[(((size_t)(i * 4 + l) * panels + co / NR) * s->in_c + ci) * NR + co % NR] = u[l];
            }
        }
}

void ab_winograd_pack_weights(const ab_conv_shape *s, const float *w, float *packed) {
    pack_transformed(s, w, 0, packed);
}

void ab_winograd_pack_weights_backward_data(const ab_conv_shape *forward, const float *w, float *packed) {
    ab_conv_shape b = ab_conv_backward_data_shape(forward);
    pack_transformed(&b, w, 1, packed);
}

typedef struct {
    const ab_conv_shape *s;
    const float *input, *packed;
    float *output;
    int tiles_h, tiles_w, tiles_per_group;
    long tiles;
    ab_gemm_kernel kernel;  // fp32 on every path
} winograd_job;

// V[ξ][t][c] = (Bᵀ d B)[ξ] with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], d[j][k] = patch[4j + k][c]
// (each patch pixel a row of `channels` floats; padding pixels point at a row of zeros).
MULTIVERSION static void input_transform(const float *const patch[16], int channels, float *v, size_t position_stride) {
#pragma clang loop vectorize(assume_safety)
    for (int c = 0; c < channels; c++) {
        float d[4][4], t[4][4];
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 4; k++) d[j][k] = patch[4 * j + k][c];
        for (int k = 0; k < 4; k++) {
            t[0][k] = d[0][k] - d[2][k];
            t[1][k] = d[1][k] + d[2][k];
            t[2][k] = d[2][k] - d[1][k];
            t[3][k] = d[1][k] - d[3][k];
        }
        for (int i = 0; i < 4; i++) {
            v[(4 * i + 0) * position_stride + c] = t[i][0] - t[i][2];
            v[(4 * i + 1) * position_stride + c] = t[i][1] + t[i][2];
            v[(4 * i + 2) * position_stride + c] = t[i][2] - t[i][1];
            v[(4 * i + 3) * position_stride + c] = t[i][1] - t[i][3];
        }
    }
}

// The 2×2 outputs of one tile for columns [0, cols) of a panel: Y = Aᵀ M A with Aᵀ = [1 1 1 0; 0 1 −1 −1],
// M[ξ][j] = m[ξ·m_stride + j]; out[a][b] points at the output pixel's channels (NULL: outside the output).
MULTIVERSION static void output_transform(const float *m, size_t m_stride, int cols, float *const out[2][2]) {
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < cols; j++) {
        float s[2][4];
        for (int l = 0; l < 4; l++) {
            float m0 = m[(0 + l) * m_stride + j], m1 = m[(4 + l) * m_stride + j];
            float m2 = m[(8 + l) * m_stride + j], m3 = m[(12 + l) * m_stride + j];
            s[0][l] = m0 + m1 + m2;
            s[1][l] = m1 - m2 - m3;
        }
        for (int a = 0; a < 2; a++) {
            if (out[a][0]) out[a][0][j] = s[a][0] + s[a][1] + s[a][2];
            if (out[a][1]) out[a][1][j] = s[a][1] - s[a][2] - s[a][3];
        }
    }
}

// The tile's 16 input pixels (a row of zeros where the patch leaves the image).
static void tile_patch(const winograd_job *job, long tile, const float *zeros, const float *patch[16]) {
    const ab_conv_shape *s = job->s;
    long per_image = (long)job->tiles_h * job->tiles_w;
    int n = (int)(tile / per_image), rest = (int)(tile % per_image);
    int iy0 = 2 * (rest / job->tiles_w) - s->pad, ix0 = 2 * (rest % job->tiles_w) - s->pad;
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 4; k++) {
            int iy = iy0 + j, ix = ix0 + k;
            patch[4 * j + k] = iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w
                                   ? zeros
                                   : job->input + (((size_t)n * s->in_h + iy) * s->in_w + ix) * s->in_c;
        }
}

static void tile_outputs(const winograd_job *job, long tile, int co, float *out[2][2]) {
    const ab_conv_shape *s = job->s;
    long per_image = (long)job->tiles_h * job->tiles_w;
    int n = (int)(tile / per_image), rest = (int)(tile % per_image);
    int oy0 = 2 * (rest / job->tiles_w), ox0 = 2 * (rest % job->tiles_w);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            out[a][b] = oy0 + a < s->out_h && ox0 + b < s->out_w
                            ? job->output + (((size_t)n * s->out_h + oy0 + a) * s->out_w + ox0 + b) * s->out_c + co
                            : NULL;
}

static void winograd_part(void *context, int begin, int end, int thread) {
    winograd_job *job = context;
    const ab_conv_shape *s = job->s;
    int group_tiles = job->tiles_per_group, depth = s->in_c, panels = panels_of(s->out_c);
    int mr = job->kernel.tile_rows;
    size_t v_stride = (size_t)group_tiles * depth;  // floats per position ξ of V: [ξ][t][ci]
    float *v = ab_thread_scratch(thread, 0, sizeof(float) * POSITIONS * v_stride);
    float *m = ab_thread_scratch(thread, 1, sizeof(float) * POSITIONS * group_tiles * NR);  // [ξ][t][NR]
    float *zeros = ab_thread_scratch(thread, 2, sizeof(float) * depth);
    memset(zeros, 0, sizeof(float) * depth);
    for (int group = begin; group < end; group++) {
        long first = (long)group * group_tiles;
        int count = (int)(job->tiles - first < group_tiles ? job->tiles - first : group_tiles);
        int padded = (count + mr - 1) / mr * mr;
        for (int t = 0; t < count; t++) {
            const float *patch[16];
            tile_patch(job, first + t, zeros, patch);
            input_transform(patch, depth, v + (size_t)t * depth, v_stride);
        }
        for (int xi = 0; xi < POSITIONS; xi++)  // rows the micro-kernel reads past the last tile
            memset(v + xi * v_stride + (size_t)count * depth, 0, sizeof(float) * (padded - count) * depth);
        for (int panel = 0; panel < panels; panel++) {
            for (int xi = 0; xi < POSITIONS; xi++) {
                const float *u = job->packed + ((size_t)xi * panels + panel) * depth * NR;
                for (int r = 0; r < count; r += mr)
                    job->kernel.run(depth, v + xi * v_stride + (size_t)r * depth, depth, u,
                                    m + ((size_t)xi * group_tiles + r) * NR, NR, count - r < mr ? count - r : mr, NR);
            }
            int co = panel * NR, cols = s->out_c - co < NR ? s->out_c - co : NR;
            for (int t = 0; t < count; t++) {
                float *out[2][2];
                tile_outputs(job, first + t, co, out);
                output_transform(m + (size_t)t * NR, (size_t)group_tiles * NR, cols, out);
            }
        }
    }
}

void ab_winograd_forward(const ab_conv_shape *s, const float *input, const float *packed, float *output) {
    int tiles_h = (s->out_h + 1) / 2, tiles_w = (s->out_w + 1) / 2;
    ab_gemm_kernel kernel = ab_fp32_kernel();
    int mr = kernel.tile_rows, per_group = GROUP_FLOATS / (POSITIONS * s->in_c) / mr * mr;
    if (per_group < mr) per_group = mr;
    if (per_group > 16 * mr) per_group = 16 * mr;
    winograd_job job = {s, input, packed, output, tiles_h, tiles_w, per_group,
                        (long)s->batch * tiles_h * tiles_w, kernel};
    ab_parallel_for((int)((job.tiles + per_group - 1) / per_group), winograd_part, &job);
}
