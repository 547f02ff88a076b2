// 3×3 convolution (stride 1) by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray 2016), m = 2, 4 or 6: every
// m×m block of outputs ("tile") is Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over the (m+2)×(m+2) input patch d it reads, so
// a tile costs (m+2)² multiply-adds per (ci, co) instead of 9m² (F(2×2): 16 for 36; F(4×4): 36 for 144; F(6×6): 64
// for 324). Summed over ci, the elementwise product becomes (m+2)² independent GEMMs, one per position ξ of the
// transformed tile:
//   M[ξ][t][co] = Σ_ci V[ξ][t][ci] · U[ξ][ci][co],   V = Bᵀ d B (input transform), U = G g Gᵀ (weights)
// run with the same micro-kernel as the direct convolution. A group of tiles has its V (ξ × tiles × in_c) in a
// per-thread buffer; per panel of NR output channels the GEMMs fill M, and the output transform writes the
// tiles' outputs. The arithmetic differs from the direct convolution only by rounding: F(4×4)'s transforms
// multiply by up to 8 and 5 (F(2×2)'s only add), F(6×6)'s by up to 32 and 21⁄4, so they round more, still far below
// what training notices (BENCHMARKS.md: full runs, errors on trained operands).
// With bf16 products (ab_precision), each tile's V is transformed in fp32 and then rounded to bf16 with ci
// contiguous, U is packed in bf16 as the direct convolution packs its weights ([ci/2][NR][2]), and the GEMMs run
// the bf16 micro-kernel: the transforms stay fp32, only the products' operands are rounded (after the transforms,
// where the rounding meets the amplification of the output transform: BENCHMARKS.md, "bf16 Winograd products").
// Threads own whole tile groups, so every output is the same computation whatever the thread count. The
// vectorised transforms are written once and compiled for AVX-512, AVX2 and plain x86-64 or arm64, the active
// path choosing (not the CPU), so that `--kernel-path avx2` and `portable` run what a CPU with only that runs;
// contraction into FMAs is off so that all give the same bits (the model hashes hold on every path), and the bits
// depend on the instruction-set path of the GEMM micro-kernel alone.
#pragma STDC FP_CONTRACT OFF
#include "airbench_simd.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#define NR AB_NR
#define MAX_ALPHA 8                         // m + 2 for m = 6
#define MAX_POSITIONS (MAX_ALPHA * MAX_ALPHA)

static int panels_of(int channels) { return (channels + NR - 1) / NR; }

// ---- F(2×2, 3×3) ------------------------------------------------------------------------------------------------

// U = G g Gᵀ with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]; u[4i + l].
static void weight_transform_2(const float g[3][3], float *u) {
    float t[4][3];
    for (int k = 0; k < 3; k++) {
        t[0][k] = g[0][k];
        t[1][k] = 0.5f * (g[0][k] + g[1][k] + g[2][k]);
        t[2][k] = 0.5f * (g[0][k] - g[1][k] + g[2][k]);
        t[3][k] = g[2][k];
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = t[i][0];
        u[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[4 * i + 3] = t[i][2];
    }
}

// The 2×2 outputs of one tile for columns [0, cols) of a panel: Y = Aᵀ M A with Aᵀ = [1 1 1 0; 0 1 −1 −1],
// M[ξ][j] = m[ξ·m_stride + j]; out[2a + b] points at the output pixel's channels (NULL: outside the output).
AB_PATH_LOOP void output_transform_2(const float *m, size_t m_stride, int cols, float *const out[]) {
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
            if (out[2 * a + 0]) out[2 * a + 0][j] = s[a][0] + s[a][1] + s[a][2];
            if (out[2 * a + 1]) out[2 * a + 1][j] = s[a][1] - s[a][2] - s[a][3];
        }
    }
}

// ---- F(4×4, 3×3) ------------------------------------------------------------------------------------------------
// Interpolation points 0, ±1, ±2 and ∞ (Lavin & Gray 2016, section 4.2).

// G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1], applied to the three values x of a column or
// row: y[0..5].
static void weight_rows_4(float x0, float x1, float x2, float y[6]) {
    y[0] = 0.25f * x0;
    y[1] = -(x0 + x1 + x2) / 6.0f;
    y[2] = -(x0 - x1 + x2) / 6.0f;
    y[3] = (x0 + 2.0f * x1 + 4.0f * x2) / 24.0f;
    y[4] = (x0 - 2.0f * x1 + 4.0f * x2) / 24.0f;
    y[5] = x2;
}

// U = G g Gᵀ; u[6i + l].
static void weight_transform_4(const float g[3][3], float *u) {
    float t[6][3], y[6];
    for (int k = 0; k < 3; k++) {
        weight_rows_4(g[0][k], g[1][k], g[2][k], y);
        for (int i = 0; i < 6; i++) t[i][k] = y[i];
    }
    for (int i = 0; i < 6; i++) weight_rows_4(t[i][0], t[i][1], t[i][2], u + 6 * i);
}

// F(4×4)'s transforms are too long for the loop vectorizer's cost model, so they are written over 8 channels at a
// time in the compiler's vector extension (AVX: one register; the portable clone: two SSE registers).
typedef float lanes __attribute__((vector_size(32), aligned(4), may_alias));
#define LANES 8

// (Through pointers: a 32-byte vector passed by value would change the ABI of the portable clone.)
static inline void load_lanes(lanes *x, const float *p, int n) {
    if (n == LANES) *x = *(const lanes *)p;
    else {
        *x = (lanes){0};
        memcpy(x, p, sizeof(float) * n);
    }
}

static inline void store_lanes(float *p, const lanes *x, int n) {
    if (n == LANES) *(lanes *)p = *x;
    else memcpy(p, x, sizeof(float) * n);
}

// y = Bᵀ x for the six values x of a column or row of the patch:
// Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1].
static inline void input_rows_4(const lanes x[6], lanes y[6]) {
    lanes a = x[4] - 4.0f * x[2], b = x[3] - 4.0f * x[1], c = x[4] - x[2], e = 2.0f * (x[3] - x[1]);
    y[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
    y[1] = a + b;
    y[2] = a - b;
    y[3] = c + e;
    y[4] = c - e;
    y[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];
}

// One group of `width` ≤ 8 channels from c. Called with width = LANES as a constant for the whole groups, so that the
// partial loads and stores' memcpy drop out there and the columns stay in registers instead of the stack.
AB_PATH_LOOP void separable_group(int n, int out, void (*rows)(const lanes *, lanes *), const float *const x[], int c,
                                  int width, int first_row, int end_row, float *y, size_t stride) {
    lanes t[MAX_ALPHA][MAX_ALPHA];  // t[k][i] = (C X)[i][k]
    for (int k = 0; k < n; k++) {
        lanes column[MAX_ALPHA];
        for (int j = 0; j < n; j++) load_lanes(&column[j], x[n * j + k] + c, width);
        rows(column, t[k]);
    }
    for (int i = first_row; i < end_row; i++) {
        lanes row[MAX_ALPHA], result[MAX_ALPHA];
        for (int k = 0; k < n; k++) row[k] = t[k][i];
        rows(row, result);
        for (int l = 0; l < out; l++) store_lanes(y + (out * (i - first_row) + l) * stride + c, &result[l], width);
    }
}

// separable_transform's loop over groups of 8 channels.
AB_PATH_LOOP void separable_rows(int n, int out, void (*rows)(const lanes *, lanes *), const float *const x[],
                                 int channels, int first_row, int end_row, float *y, size_t stride) {
    int c = 0;
    for (; c + LANES <= channels; c += LANES) separable_group(n, out, rows, x, c, LANES, first_row, end_row, y, stride);
    if (c < channels) separable_group(n, out, rows, x, c, channels - c, first_row, end_row, y, stride);
}

// The separable transforms over channels, 8 at a time: Y = C X Cᵀ for X the n×n grid x[n·j + k] of pixel rows (each
// `channels` floats) and `rows` the map of C from n values to `out` values, Y[ξ] (ξ = out·i + l) for the rows
// first_row ≤ i < end_row only, written at y[(ξ − out·first_row)·stride + c]. The input transform is Bᵀ d B (n = out =
// alpha), the output-gradient transform A dY Aᵀ (n = m, out = alpha). The weight gradient's threads each transform
// their own rows (conv_winograd_weights.c): all rows, or either half (its two threads), go in as constants, so that
// the first stage computes only the outputs those rows use (the compiler drops the others); any other range costs the
// first stage whole (n maps) and one map per row.
AB_PATH_LOOP void separable_transform(int n, int out, void (*rows)(const lanes *, lanes *), const float *const x[],
                                      int channels, int first_row, int end_row, float *y, size_t stride) {
    if (first_row == 0 && end_row == out) separable_rows(n, out, rows, x, channels, 0, out, y, stride);
    else if (first_row == 0 && end_row == out / 2) separable_rows(n, out, rows, x, channels, 0, out / 2, y, stride);
    else if (first_row == out / 2 && end_row == out) separable_rows(n, out, rows, x, channels, out / 2, out, y, stride);
    else separable_rows(n, out, rows, x, channels, first_row, end_row, y, stride);
}

// The input transforms: V[ξ][t][c] = (Bᵀ d B)[ξ], d[j][k] = patch[alpha·j + k][c] (each patch pixel a row of
// `channels` floats; padding pixels point at a row of zeros), rows [first_row, end_row) of ξ; `rows` applies Bᵀ
// (input_rows_2, input_rows_4, input_rows_6 below).

// F(2×2): y = Bᵀ x for the four values x of a column or row of the patch, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
static inline void input_rows_2(const lanes x[4], lanes y[4]) {
    y[0] = x[0] - x[2];
    y[1] = x[1] + x[2];
    y[2] = x[2] - x[1];
    y[3] = x[1] - x[3];
}

AB_PATH_LOOP void input_transform_2(const float *const patch[], int channels, int first_row, int end_row, float *v,
                                    size_t position_stride) {
    separable_transform(4, 4, input_rows_2, patch, channels, first_row, end_row, v, position_stride);
}

AB_PATH_LOOP void input_transform_4(const float *const patch[], int channels, int first_row, int end_row, float *v,
                                    size_t position_stride) {
    separable_transform(6, 6, input_rows_4, patch, channels, first_row, end_row, v, position_stride);
}

// y = Aᵀ x for six values: Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
static inline void output_rows_4(const lanes x[6], lanes y[4]) {
    lanes p = x[1] + x[2], q = x[1] - x[2], r = x[3] + x[4], s = x[3] - x[4];
    y[0] = x[0] + p + r;
    y[1] = q + 2.0f * s;
    y[2] = p + 4.0f * r;
    y[3] = q + 8.0f * s + x[5];
}

// One group of n ≤ 8 columns from j (n = LANES as a constant for whole groups, as in separable_group).
AB_PATH_LOOP void output_group(int m_side, void (*rows)(const lanes *, lanes *), const float *m, size_t m_stride, int j,
                               int n, float *const out[]) {
    int alpha = m_side + 2;
    lanes s[MAX_ALPHA][MAX_ALPHA];  // s[l][a] = (Aᵀ M)[a][l]
    for (int l = 0; l < alpha; l++) {
        lanes x[MAX_ALPHA];
        for (int i = 0; i < alpha; i++) load_lanes(&x[i], m + (alpha * i + l) * m_stride + j, n);
        rows(x, s[l]);
    }
    for (int a = 0; a < m_side; a++) {
        lanes x[MAX_ALPHA], y[MAX_ALPHA];
        for (int l = 0; l < alpha; l++) x[l] = s[l][a];
        rows(x, y);
        for (int b = 0; b < m_side; b++)
            if (out[m_side * a + b]) store_lanes(out[m_side * a + b] + j, &y[b], n);
    }
}

// The m×m outputs of one tile for columns [0, cols) of a panel: Y = Aᵀ M A, M[ξ][j] = m[ξ·m_stride + j] (alpha = m + 2
// positions per side); out[m·a + b] points at the output pixel's channels (NULL: outside the output). `rows` applies
// Aᵀ to alpha values (output_rows_4, output_rows_6).
AB_PATH_LOOP void output_transform(int m_side, void (*rows)(const lanes *, lanes *), const float *m, size_t m_stride,
                                   int cols, float *const out[]) {
    int j = 0;
    for (; j + LANES <= cols; j += LANES) output_group(m_side, rows, m, m_stride, j, LANES, out);
    if (j < cols) output_group(m_side, rows, m, m_stride, j, cols - j, out);
}

AB_PATH_LOOP void output_transform_4(const float *m, size_t m_stride, int cols, float *const out[]) {
    output_transform(4, output_rows_4, m, m_stride, cols, out);
}

// ---- F(6×6, 3×3) ------------------------------------------------------------------------------------------------
// Interpolation points 0, ±1, ±2, ±½ and ∞ (the matrices of NNPACK and wincnn; Lavin & Gray 2016 for the method):
// 64 products per 6×6 outputs, 1.78 per output against F(4×4)'s 2.25, which pays where 6 divides the output side
// (airbench94's 30×30 and 6×6 outputs) and nowhere else. Its transforms multiply by up to 32 (Aᵀ) and 21⁄4 (Bᵀ) and
// G divides by 90, so it rounds more than F(4×4): fp32 only (BENCHMARKS.md, "Winograd F(6×6, 3×3)").

// G = [1 0 0; −2⁄9 −2⁄9 −2⁄9; −2⁄9 2⁄9 −2⁄9; 1⁄90 1⁄45 2⁄45; 1⁄90 −1⁄45 2⁄45; 32⁄45 16⁄45 8⁄45; 32⁄45 −16⁄45 8⁄45;
// 0 0 1], in double (once per weight and step): y[0..7].
static void weight_rows_6(double x0, double x1, double x2, double y[8]) {
    y[0] = x0;
    y[1] = -2 * (x0 + x1 + x2) / 9;
    y[2] = -2 * (x0 - x1 + x2) / 9;
    y[3] = (x0 + 2 * x1 + 4 * x2) / 90;
    y[4] = (x0 - 2 * x1 + 4 * x2) / 90;
    y[5] = (32 * x0 + 16 * x1 + 8 * x2) / 45;
    y[6] = (32 * x0 - 16 * x1 + 8 * x2) / 45;
    y[7] = x2;
}

// U = G g Gᵀ; u[8i + l].
static void weight_transform_6(const float g[3][3], float *u) {
    double t[8][3], y[8];
    for (int k = 0; k < 3; k++) {
        weight_rows_6(g[0][k], g[1][k], g[2][k], y);
        for (int i = 0; i < 8; i++) t[i][k] = y[i];
    }
    for (int i = 0; i < 8; i++) {
        weight_rows_6(t[i][0], t[i][1], t[i][2], y);
        for (int l = 0; l < 8; l++) u[8 * i + l] = (float)y[l];
    }
}

// y = Bᵀ x for the eight values x of a column or row of the patch, Bᵀ =
// [1 0 −21⁄4 0 21⁄4 0 −1 0; 0 1 1 −17⁄4 −17⁄4 1 1 0; 0 −1 1 17⁄4 −17⁄4 −1 1 0; 0 ½ ¼ −5⁄2 −5⁄4 2 1 0;
//  0 −½ ¼ 5⁄2 −5⁄4 −2 1 0; 0 2 4 −5⁄2 −5 ½ 1 0; 0 −2 4 5⁄2 −5 −½ 1 0; 0 −1 0 21⁄4 0 −21⁄4 0 1],
// rows 1–6 in pairs sharing their even and odd halves.
static inline void input_rows_6(const lanes x[8], lanes y[8]) {
    lanes e1 = x[2] + x[6] - 4.25f * x[4], o1 = x[1] + x[5] - 4.25f * x[3];
    lanes e2 = 0.25f * x[2] + x[6] - 1.25f * x[4], o2 = 0.5f * x[1] - 2.5f * x[3] + 2.0f * x[5];
    lanes e3 = 4.0f * x[2] + x[6] - 5.0f * x[4], o3 = 2.0f * x[1] - 2.5f * x[3] + 0.5f * x[5];
    y[0] = x[0] - x[6] + 5.25f * (x[4] - x[2]);
    y[1] = e1 + o1;
    y[2] = e1 - o1;
    y[3] = e2 + o2;
    y[4] = e2 - o2;
    y[5] = e3 + o3;
    y[6] = e3 - o3;
    y[7] = x[7] - x[1] + 5.25f * (x[3] - x[5]);
}

AB_PATH_LOOP void input_transform_6(const float *const patch[], int channels, int first_row, int end_row, float *v,
                                    size_t position_stride) {
    separable_transform(8, 8, input_rows_6, patch, channels, first_row, end_row, v, position_stride);
}

// y = Aᵀ x for eight values: Aᵀ[a] = (p⁰ … p⁵ at the points 0, 1, −1, 2, −2, ½, −½; 1 at ∞ in the last row).
static inline void output_rows_6(const lanes x[8], lanes y[6]) {
    lanes a = x[1] + x[2], b = x[1] - x[2], c = x[3] + x[4], d = x[3] - x[4], e = x[5] + x[6], f = x[5] - x[6];
    y[0] = x[0] + a + c + e;
    y[1] = b + 2.0f * d + 0.5f * f;
    y[2] = a + 4.0f * c + 0.25f * e;
    y[3] = b + 8.0f * d + 0.125f * f;
    y[4] = a + 16.0f * c + 0.0625f * e;
    y[5] = b + 32.0f * d + 0.03125f * f + x[7];
}

AB_PATH_LOOP void output_transform_6(const float *m, size_t m_stride, int cols, float *const out[]) {
    output_transform(6, output_rows_6, m, m_stride, cols, out);
}

// ---- weight-gradient transforms (conv_winograd_weights.c) -------------------------------------------------------
// The weight gradient of a tile is the correlation of its input patch d with its dOut block dY: F(3×3, m×m) by the
// same three matrices with their roles exchanged (transposition principle), dW = Gᵀ [ (A dY Aᵀ) ⊙ (Bᵀ d B) ] G.
// Bᵀ d B is the forward pass's input transform.

// y = A x for the m values x of a column or row of the dOut block: A = (Aᵀ)ᵀ, F(2×2): [1 0; 1 1; 1 −1; 0 −1];
// F(4×4): [1 0 0 0; 1 1 1 1; 1 −1 1 −1; 1 2 4 8; 1 −2 4 −8; 0 0 0 1].
static inline void grad_rows_2(const lanes x[2], lanes y[4]) {
    y[0] = x[0];
    y[1] = x[0] + x[1];
    y[2] = x[0] - x[1];
    y[3] = -x[1];
}

static inline void grad_rows_4(const lanes x[4], lanes y[6]) {
    lanes p = x[0] + x[2], q = x[1] + x[3], r = x[0] + 4.0f * x[2], t = 2.0f * x[1] + 8.0f * x[3];
    y[0] = x[0];
    y[1] = p + q;
    y[2] = p - q;
    y[3] = r + t;
    y[4] = r - t;
    y[5] = x[3];
}

// F(6×6): A = (Aᵀ)ᵀ, the powers 0 … 5 of each point (0, 1, −1, 2, −2, ½, −½) and of ∞ the last value.
static inline void grad_rows_6(const lanes x[6], lanes y[8]) {
    lanes p = x[0] + x[2] + x[4], q = x[1] + x[3] + x[5];
    lanes r = x[0] + 4.0f * x[2] + 16.0f * x[4], t = 2.0f * x[1] + 8.0f * x[3] + 32.0f * x[5];
    lanes u = x[0] + 0.25f * x[2] + 0.0625f * x[4], w = 0.5f * x[1] + 0.125f * x[3] + 0.03125f * x[5];
    y[0] = x[0];
    y[1] = p + q;
    y[2] = p - q;
    y[3] = r + t;
    y[4] = r - t;
    y[5] = u + w;
    y[6] = u - w;
    y[7] = x[5];
}

// U[ξ][c] = (A dY Aᵀ)[ξ] at u[(ξ − alpha·first_row)·position_stride + c] for the rows [first_row, end_row) of ξ,
// dY[a][b] = block[m·a + b][c] (a row of zeros off the output): separable_transform with A's row maps (grad_rows_2,
// _4, _6).
AB_PATH_LOOP void grad_transform_2(const float *const block[], int channels, int first_row, int end_row, float *u,
                                   size_t position_stride) {
    separable_transform(2, 4, grad_rows_2, block, channels, first_row, end_row, u, position_stride);
}

AB_PATH_LOOP void grad_transform_4(const float *const block[], int channels, int first_row, int end_row, float *u,
                                   size_t position_stride) {
    separable_transform(4, 6, grad_rows_4, block, channels, first_row, end_row, u, position_stride);
}

AB_PATH_LOOP void grad_transform_6(const float *const block[], int channels, int first_row, int end_row, float *u,
                                   size_t position_stride) {
    separable_transform(6, 8, grad_rows_6, block, channels, first_row, end_row, u, position_stride);
}

// y = Gᵀ x for the alpha values x of a row or column of the summed product M (in double: once per weight).
static void gradient_rows_2(const double x[4], double y[3]) {
    y[0] = x[0] + 0.5 * (x[1] + x[2]);
    y[1] = 0.5 * (x[1] - x[2]);
    y[2] = 0.5 * (x[1] + x[2]) + x[3];
}

static void gradient_rows_4(const double x[6], double y[3]) {
    double s12 = x[1] + x[2], d12 = x[2] - x[1], s34 = x[3] + x[4], d34 = x[3] - x[4];
    y[0] = 0.25 * x[0] - s12 / 6 + s34 / 24;
    y[1] = d12 / 6 + d34 / 12;
    y[2] = (s34 - s12) / 6 + x[5];
}

static void gradient_rows_6(const double x[8], double y[3]) {
    double s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4], s56 = x[5] + x[6];
    double d56 = x[5] - x[6];
    y[0] = x[0] - 2 * s12 / 9 + s34 / 90 + 32 * s56 / 45;
    y[1] = -2 * d12 / 9 + d34 / 45 + 16 * d56 / 45;
    y[2] = -2 * s12 / 9 + 2 * s34 / 45 + 8 * s56 / 45 + x[7];
}

// w[3ky + kx] = (Gᵀ M G)[ky][kx], M[ξ] = m[ξ·stride] for the alpha² positions ξ.
static void gradient_transform(int alpha, void (*rows)(const double *, double *), const float *m, size_t stride,
                               float w[9]) {
    double t[MAX_ALPHA][3];  // t[i] = Gᵀ M[i][·]
    for (int i = 0; i < alpha; i++) {
        double x[MAX_ALPHA];
        for (int l = 0; l < alpha; l++) x[l] = m[(alpha * i + l) * stride];
        rows(x, t[i]);
    }
    for (int kx = 0; kx < 3; kx++) {
        double x[MAX_ALPHA], y[3];
        for (int i = 0; i < alpha; i++) x[i] = t[i][kx];
        rows(x, y);
        for (int ky = 0; ky < 3; ky++) w[3 * ky + kx] = (float)y[ky];
    }
}

static void gradient_transform_2(const float *m, size_t stride, float w[9]) { gradient_transform(4, gradient_rows_2, m, stride, w); }
static void gradient_transform_4(const float *m, size_t stride, float w[9]) { gradient_transform(6, gradient_rows_4, m, stride, w); }
static void gradient_transform_6(const float *m, size_t stride, float w[9]) { gradient_transform(8, gradient_rows_6, m, stride, w); }

// ---- both -------------------------------------------------------------------------------------------------------

AB_PATH_BUILDS(input_transform_2, (const float *const p[], int c, int i0, int i1, float *v, size_t s), (p, c, i0, i1, v, s))
AB_PATH_BUILDS(output_transform_2, (const float *m, size_t s, int n, float *const o[]), (m, s, n, o))
AB_PATH_BUILDS(grad_transform_2, (const float *const b[], int c, int i0, int i1, float *u, size_t s), (b, c, i0, i1, u, s))
AB_PATH_BUILDS(input_transform_4, (const float *const p[], int c, int i0, int i1, float *v, size_t s), (p, c, i0, i1, v, s))
AB_PATH_BUILDS(output_transform_4, (const float *m, size_t s, int n, float *const o[]), (m, s, n, o))
AB_PATH_BUILDS(grad_transform_4, (const float *const b[], int c, int i0, int i1, float *u, size_t s), (b, c, i0, i1, u, s))
AB_PATH_BUILDS(input_transform_6, (const float *const p[], int c, int i0, int i1, float *v, size_t s), (p, c, i0, i1, v, s))
AB_PATH_BUILDS(output_transform_6, (const float *m, size_t s, int n, float *const o[]), (m, s, n, o))
AB_PATH_BUILDS(grad_transform_6, (const float *const b[], int c, int i0, int i1, float *u, size_t s), (b, c, i0, i1, u, s))

// V of one tile group: each transformed weight panel is reused by every tile of a group, so the group must be
// large; V then streams from L3 once per panel, which costs far less (BENCHMARKS.md: tile groups). At least one
// micro-kernel's rows (mr), so at 256 channels F(4×4) and F(6×6) groups are mr tiles whatever this is. 384 KiB,
// not the 768 KiB before: with a panel of U and the group's M beside it, V of 64 channels then stays in a 1 MiB L2
// (Zen 4 and 5), and on the Zen 5's AVX-512 fp32 path the passes of 2.conv1 and 2.conv2 took 12–16% less time at
// 2 threads, the step 1.6–3% less (bf16 and AVX2 the same within the noise; issue 22 in BENCHMARKS.md). In bytes,
// so bf16 groups hold twice the tiles.
#define GROUP_BYTES (384 * 1024)

typedef ab_winograd_variant variant;  // (internal.h)

variant ab_winograd_variant_of(int tile) {
    if (tile == 6)
        return (variant){6, 8, 64, weight_transform_6, AB_ON_PATH(input_transform_6), AB_ON_PATH(output_transform_6),
                         AB_ON_PATH(grad_transform_6), gradient_transform_6};
    if (tile == 4)
        return (variant){4, 6, 36, weight_transform_4, AB_ON_PATH(input_transform_4), AB_ON_PATH(output_transform_4),
                         AB_ON_PATH(grad_transform_4), gradient_transform_4};
    return (variant){2, 4, 16, weight_transform_2, AB_ON_PATH(input_transform_2), AB_ON_PATH(output_transform_2),
                     AB_ON_PATH(grad_transform_2), gradient_transform_2};
}

int ab_winograd_supports(const ab_conv_shape *s) { return s->kernel_h == 3 && s->kernel_w == 3; }

// The GEMMs' reduction depth: in_c, or in bf16 in_c rounded up to whole pairs (an odd in_c's last pair ends in a
// zero).
static int depth_of(const ab_conv_shape *s, int bf16) { return bf16 ? (s->in_c + 1) & ~1 : s->in_c; }

size_t ab_winograd_packed_count(const ab_conv_shape *s, int tile, ab_precision precision) {
    int bf16 = precision == AB_PRECISION_BF16;
    size_t elements = (size_t)ab_winograd_variant_of(tile).positions * panels_of(s->out_c) * depth_of(s, bf16) * NR;
    return bf16 ? elements / 2 : elements;  // in floats: bf16 takes half
}

typedef struct {
    const ab_conv_shape *s;
    variant v;
    const float *w;
    int backward_data, bf16;
    float *packed;
} pack_job;

// U[ξ][ci][co] stored per position ξ as the direct convolution packs its weights (ab_put_packed: fp32 [panel][ci][NR],
// bf16 [panel][ci/2][NR][2] rounded to nearest even; 0 past out_c), g(ky, kx) the 3×3 kernel of (co, ci):
// weights[co][ci] forward; backward-data: the forward kernel of (ci, co), flipped. Each part packs whole panels,
// whose slots no other panel touches (packing runs once per step and was serial).
static void pack_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const pack_job *job = context;
    const ab_conv_shape *s = job->s;
    int panels = panels_of(s->out_c), depth = depth_of(s, job->bf16);
    size_t position_floats = (size_t)panels * depth * NR / (job->bf16 ? 2 : 1), panel_floats = position_floats / panels;
    for (int panel = begin; panel < end; panel++) {
        for (int xi = 0; xi < job->v.positions; xi++)
            memset(job->packed + xi * position_floats + panel * panel_floats, 0, sizeof(float) * panel_floats);
        int last = (panel + 1) * NR < s->out_c ? (panel + 1) * NR : s->out_c;
        for (int co = panel * NR; co < last; co++)
            for (int ci = 0; ci < s->in_c; ci++) {
                float g[3][3], u[MAX_POSITIONS];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        g[ky][kx] = job->backward_data ? job->w[((size_t)ci * s->out_c + co) * 9 + (2 - ky) * 3 + (2 - kx)]
                                                       : job->w[((size_t)co * s->in_c + ci) * 9 + ky * 3 + kx];
                job->v.weights(g, u);
                for (int xi = 0; xi < job->v.positions; xi++)
                    ab_put_packed(job->packed + xi * position_floats, job->bf16, depth, ci, co, u[xi]);
            }
    }
}

static void pack_transformed(const ab_conv_shape *s, int tile, ab_precision precision, const float *w,
                             int backward_data, float *packed) {
    pack_job job = {s, ab_winograd_variant_of(tile), w, backward_data, precision == AB_PRECISION_BF16, packed};
    ab_parallel_for_balanced(panels_of(s->out_c), pack_part, &job);
}

void ab_winograd_pack_weights(const ab_conv_shape *s, int tile, ab_precision precision, const float *w,
                              float *packed) {
    pack_transformed(s, tile, precision, w, 0, packed);
}

void ab_winograd_pack_weights_backward_data(const ab_conv_shape *forward, int tile, ab_precision precision,
                                            const float *w, float *packed) {
    ab_conv_shape b = ab_conv_backward_data_shape(forward);
    pack_transformed(&b, tile, precision, w, 1, packed);
}

typedef struct {
    const ab_conv_shape *s;
    variant v;
    const float *input, *packed;
    float *output;
    int tiles_per_group, depth;
    long tiles;
    ab_gemm_kernel kernel;  // fp32, or bf16 (then `round` rounds V)
    void (*round)(const float *from, int count, uint16_t *to);
    float *pooled;          // non-NULL: the output max-pooled 2×2 here (batch × ⌊out_h/2⌋ × ⌊out_w/2⌋ × out_c) ...
    uint8_t *argmax;        // ... with each window's index of its maximum (ab_maxpool_forward's), `output` unused
} winograd_job;

void ab_winograd_patch(const ab_conv_shape *s, int m, long tile, const float *input, const float *zeros,
                       const float *patch[]) {
    int n, oy0, ox0, alpha = m + 2;
    ab_winograd_tile_origin(s, m, tile, &n, &oy0, &ox0);
    for (int j = 0; j < alpha; j++)
        for (int k = 0; k < alpha; k++) {
            int iy = oy0 - s->pad + j, ix = ox0 - s->pad + k;
            patch[alpha * j + k] = iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w
                                       ? zeros
                                       : input + (((size_t)n * s->in_h + iy) * s->in_w + ix) * s->in_c;
        }
}

// Asks for the (m+2)² input pixel rows tile `tile` reads (those inside the image), ahead of its transform. The
// transforms gather a tile's pixels eight channels at a time; without this each new pixel's first load waits on
// memory (the hardware prefetchers do not follow the gather: `perf annotate` put most of the input transform's
// time on those loads). Prefetches change no result.
void ab_winograd_prefetch_patch(const ab_conv_shape *s, int m, long tile, const float *input) {
    int n, oy0, ox0, alpha = m + 2;
    ab_winograd_tile_origin(s, m, tile, &n, &oy0, &ox0);
    for (int j = 0; j < alpha; j++) {
        int iy = oy0 - s->pad + j;
        if (iy < 0 || iy >= s->in_h) continue;
        for (int k = 0; k < alpha; k++) {
            int ix = ox0 - s->pad + k;
            if (ix >= 0 && ix < s->in_w)
                ab_prefetch_lines(input + (((size_t)n * s->in_h + iy) * s->in_w + ix) * s->in_c, sizeof(float) * s->in_c, 0);
        }
    }
}

#define MAX_TILE_OUTPUTS 36                 // m² for m = 6

// out[m·a + b]: the tile's output pixel (a, b) at channel co, or with `local` the row local[m·a + b]; NULL where it
// lies outside the output.
static void tile_outputs(const winograd_job *job, long tile, int co, float local[][NR], float *out[]) {
    const ab_conv_shape *s = job->s;
    int m = job->v.tile, n, oy0, ox0;
    ab_winograd_tile_origin(s, m, tile, &n, &oy0, &ox0);
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++)
            out[m * a + b] = !(oy0 + a < s->out_h && ox0 + b < s->out_w) ? NULL
                             : local ? local[m * a + b]
                                     : job->output + (((size_t)n * s->out_h + oy0 + a) * s->out_w + ox0 + b) * s->out_c + co;
}

// The m² output pixels of tile `tile` inside the output: the first `bytes` of each pixel's row, `out` pointing at
// the output's channel where the rows start (a pass's output, or for backward-weights its dOut).
void ab_winograd_prefetch_block(const ab_conv_shape *s, int m, long tile, const float *out, size_t bytes, int write) {
    int n, oy0, ox0;
    ab_winograd_tile_origin(s, m, tile, &n, &oy0, &ox0);
    for (int a = 0; a < m && oy0 + a < s->out_h; a++)
        for (int b = 0; b < m && ox0 + b < s->out_w; b++)
            ab_prefetch_lines(out + (((size_t)n * s->out_h + oy0 + a) * s->out_w + ox0 + b) * s->out_c, bytes, write);
}

// One 2×2 window for `cols` channels: the first maximum of the taps t0..t3 (in window order) and its index, as
// ab_maxpool_forward computes them. The index is carried as a float so that every select is a float select and the
// loop vectorises (a byte select beside float ones does not).
AB_PATH_LOOP void pool_window(const float *t0, const float *t1, const float *t2, const float *t3, int cols,
                              float *best, uint8_t *index) {
#pragma clang loop vectorize(assume_safety)
    for (int j = 0; j < cols; j++) {
        float value = t0[j], at = 0;
        if (t1[j] > value) value = t1[j], at = 1;
        if (t2[j] > value) value = t2[j], at = 2;
        if (t3[j] > value) value = t3[j], at = 3;
        best[j] = value;
        index[j] = (uint8_t)at;
    }
}
AB_PATH_BUILDS(pool_window, (const float *t0, const float *t1, const float *t2, const float *t3, int cols, float *best,
                             uint8_t *index), (t0, t1, t2, t3, cols, best, index))

// The max-pool of ab_maxpool_forward (k = 2) over the windows of one tile, whose outputs for channels
// co ..< co + cols the output transform left in `local` (local[m·a + b]: output pixel (a, b) of the tile). A tile's
// side m is even and tiles start at multiples of m, so every window lies in one tile; windows past ⌊out/2⌋ are
// dropped, as the floor pool drops them. Strict comparison in tap order: the first maximum wins, as in PyTorch
// and ab_maxpool_forward, so the pooled values and indices are those of the unfused pool, bit for bit.
static void pool_tile(const winograd_job *job, long tile, int co, int cols, float local[][NR]) {
    const ab_conv_shape *s = job->s;
    int m = job->v.tile, n, oy0, ox0, ph = s->out_h / 2, pw = s->out_w / 2;
    ab_winograd_tile_origin(s, m, tile, &n, &oy0, &ox0);
    for (int wy = 0; wy < m / 2; wy++)
        for (int wx = 0; wx < m / 2; wx++) {
            int py = oy0 / 2 + wy, px = ox0 / 2 + wx;
            if (py >= ph || px >= pw) continue;
            size_t at = (((size_t)n * ph + py) * pw + px) * s->out_c + co;
            AB_ON_PATH(pool_window)(local[2 * wy * m + 2 * wx], local[2 * wy * m + 2 * wx + 1],
                                    local[(2 * wy + 1) * m + 2 * wx], local[(2 * wy + 1) * m + 2 * wx + 1], cols,
                                    job->pooled + at, job->argmax + at);
        }
}

static void winograd_part(void *context, int begin, int end, int thread) {
    winograd_job *job = context;
    const ab_conv_shape *s = job->s;
    int positions = job->v.positions, group_tiles = job->tiles_per_group, depth = job->depth, bf16 = job->kernel.bf16;
    int panels = panels_of(s->out_c), mr = job->kernel.tile_rows;
    size_t element = bf16 ? 2 : 4, v_stride = (size_t)group_tiles * depth;  // elements per position ξ of V: [ξ][t][k]
    char *v = ab_thread_scratch(thread, 0, element * positions * v_stride);
    float *m = ab_thread_scratch(thread, 1, sizeof(float) * positions * group_tiles * NR);  // [ξ][t][NR]
    float *zeros = ab_thread_scratch(thread, 2, sizeof(float) * s->in_c);
    // bf16: a tile's V in fp32 ([ξ][ci]) before it is rounded into the group's V
    float *row = bf16 ? ab_thread_scratch(thread, 3, sizeof(float) * positions * s->in_c) : NULL;
    memset(zeros, 0, sizeof(float) * s->in_c);
    for (int group = begin; group < end; group++) {
        long first = (long)group * group_tiles;
        int count = (int)(job->tiles - first < group_tiles ? job->tiles - first : group_tiles);
        int padded = (count + mr - 1) / mr * mr;
        for (int t = 0; t < count; t++) {
            const float *patch[MAX_POSITIONS];
            long from, to;
            ab_tiles_ahead(t, 0, count, &from, &to);
            for (long ahead = from; ahead < to; ahead++) ab_winograd_prefetch_patch(s, job->v.tile, first + ahead, job->input);
            ab_winograd_patch(s, job->v.tile, first + t, job->input, zeros, patch);
            if (!bf16) {
                job->v.input(patch, depth, 0, job->v.alpha, (float *)v + (size_t)t * depth, v_stride);
                continue;
            }
            job->v.input(patch, s->in_c, 0, job->v.alpha, row, s->in_c);
            for (int xi = 0; xi < positions; xi++) {
                uint16_t *to = (uint16_t *)v + xi * v_stride + (size_t)t * depth;
                job->round(row + (size_t)xi * s->in_c, s->in_c, to);
                if (depth > s->in_c) to[s->in_c] = 0;
            }
        }
        for (int xi = 0; xi < positions; xi++)  // rows the micro-kernel reads past the last tile
            memset(v + (xi * v_stride + (size_t)count * depth) * element, 0, element * (padded - count) * depth);
        for (int panel = 0; panel < panels; panel++) {
            for (int xi = 0; xi < positions; xi++) {
                const char *u = (const char *)job->packed + ((size_t)xi * panels + panel) * depth * NR * element;
                for (int r = 0; r < count; r += mr)
                    job->kernel.run(depth, v + (xi * v_stride + (size_t)r * depth) * element, depth, u,
                                    m + ((size_t)xi * group_tiles + r) * NR, NR, count - r < mr ? count - r : mr, NR);
            }
            int co = panel * NR, cols = s->out_c - co < NR ? s->out_c - co : NR;
            for (int t = 0; t < count; t++) {
                float *out[MAX_TILE_OUTPUTS], local[MAX_TILE_OUTPUTS][NR];
                if (!job->pooled) {  // the lines the output transform will write, asked for ahead as for its input
                    long from, to;
                    ab_tiles_ahead(t, 0, count, &from, &to);
                    for (long ahead = from; ahead < to; ahead++)
                        ab_winograd_prefetch_block(s, job->v.tile, first + ahead, job->output + co, sizeof(float) * NR, 1);
                }
                // Pooled: the tile's outputs stay in L1 for the pool instead of going to memory.
                tile_outputs(job, first + t, co, job->pooled ? local : NULL, out);
                job->v.output(m + (size_t)t * NR, (size_t)group_tiles * NR, cols, out);
                if (job->pooled) pool_tile(job, first + t, co, cols, local);
            }
        }
    }
}

static void winograd_forward(const ab_conv_shape *s, int tile, ab_precision precision, const float *input,
                             const float *packed, float *output, float *pooled, uint8_t *argmax) {
    variant v = ab_winograd_variant_of(tile);
    int bf16 = precision == AB_PRECISION_BF16, depth = depth_of(s, bf16);
    int tiles_h = (s->out_h + v.tile - 1) / v.tile, tiles_w = (s->out_w + v.tile - 1) / v.tile;
    ab_bf16_arithmetic arithmetic = ab_bf16_arithmetic_active();
    ab_gemm_kernel kernel = bf16 ? arithmetic.gemm : ab_fp32_kernel();
    int mr = kernel.tile_rows, per_group = GROUP_BYTES / ((bf16 ? 2 : 4) * v.positions * depth) / mr * mr;
    if (per_group < mr) per_group = mr;
    if (per_group > 16 * mr) per_group = 16 * mr;
    winograd_job job = {s, v, input, packed, output, per_group, depth, (long)s->batch * tiles_h * tiles_w, kernel,
                        bf16 ? arithmetic.round : NULL, pooled, argmax};
    ab_parallel_for_balanced((int)((job.tiles + per_group - 1) / per_group), winograd_part, &job);
}

void ab_winograd_forward(const ab_conv_shape *s, int tile, ab_precision precision, const float *input,
                         const float *packed, float *output) {
    winograd_forward(s, tile, precision, input, packed, output, NULL, NULL);
}

void ab_winograd_forward_pooled(const ab_conv_shape *s, int tile, ab_precision precision, const float *input,
                                const float *packed, float *pooled, uint8_t *argmax) {
    winograd_forward(s, tile, precision, input, packed, NULL, pooled, argmax);
}
