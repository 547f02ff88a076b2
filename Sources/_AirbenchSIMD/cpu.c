// CPU feature detection, the run-time choice of kernel path, and the register-only peak loop.
#include "airbench_simd.h"
#include "internal.h"
#include <string.h>
#include <time.h>

static int active_isa = -1;
static ab_precision chosen_precision = AB_PRECISION_BF16;  // used wherever the active path has it

ab_isa ab_isa_detect(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the zmm state (XGETBV).
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return AB_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return AB_ISA_AVX2;
#endif
    return AB_ISA_PORTABLE;
}

ab_isa ab_isa_active(void) {
    if (active_isa < 0) active_isa = (int)ab_isa_detect();
    return (ab_isa)active_isa;
}

ab_isa ab_isa_override(ab_isa isa) {
    ab_isa best = ab_isa_detect();
    active_isa = (int)(isa <= best ? isa : best);
    return (ab_isa)active_isa;
}

int ab_bf16_supported(void) {
#if defined(__x86_64__)
    return ab_isa_detect() == AB_ISA_AVX512 && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int ab_bf16_hardware(void) {
    static int supported = -1;
    if (supported < 0) supported = ab_bf16_supported();
    return supported && ab_isa_active() == AB_ISA_AVX512;
}

ab_precision ab_precision_active(void) {
    return chosen_precision == AB_PRECISION_BF16 && ab_bf16_hardware() ? AB_PRECISION_BF16 : AB_PRECISION_FP32;
}

ab_precision ab_precision_override(ab_precision precision) {
    chosen_precision = precision;
    return ab_precision_active();
}

uint16_t ab_bf16_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7f800000u) == 0) return (uint16_t)((bits >> 16) & 0x8000u);          // zero, subnormal
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);  // NaN stays quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);                                               // nearest, ties to even
    return (uint16_t)(bits >> 16);
}

double ab_now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Ten independent chains hide the FMA latency (4 cycles × 2 pipes); the result is returned so the loop stays.
#define PEAK_CHAINS 10
#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2,fma"), noinline)) static float peak_loop_avx2(long iterations) {
    __m256 acc[PEAK_CHAINS];
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
    __m256 s = acc[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"), noinline)) static float peak_loop_avx512(long iterations) {
    __m512 acc[PEAK_CHAINS];
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

// vdpbf16ps: 16 lanes × 2 products × 2 FLOPs per instruction.
__attribute__((target("avx512f,avx512bf16"), noinline)) static float peak_loop_bf16(long iterations) {
    __m512 acc[PEAK_CHAINS];
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}
#endif

__attribute__((noinline)) static float peak_loop_portable(long iterations) {
    float acc[PEAK_CHAINS][8];
    for (int i = 0; i < PEAK_CHAINS; i++) for (int j = 0; j < 8; j++) acc[i][j] = (float)j;
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < PEAK_CHAINS; i++) for (int j = 0; j < 8; j++) acc[i][j] = acc[i][j] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < PEAK_CHAINS; i++) for (int j = 0; j < 8; j++) s += acc[i][j];
    return s;
}

volatile float ab_peak_sink;

// Doubles the iteration count until one run of `loop` lasts `seconds`; returns its FLOP/s.
static double measure_loop(float (*loop)(long), double flops_per_iteration, double seconds) {
    long iterations = 1 << 20;
    for (;;) {
        double start = ab_now_seconds();
        ab_peak_sink = loop(iterations);
        double elapsed = ab_now_seconds() - start;
        if (elapsed >= seconds || iterations > (1L << 40)) return (double)iterations * flops_per_iteration / elapsed;
        iterations *= 2;
    }
}

double ab_measure_fma_peak(double seconds) {
#if defined(__x86_64__)
    if (ab_isa_active() == AB_ISA_AVX512) return measure_loop(peak_loop_avx512, PEAK_CHAINS * 16 * 2, seconds);
    if (ab_isa_active() == AB_ISA_AVX2) return measure_loop(peak_loop_avx2, PEAK_CHAINS * 8 * 2, seconds);
#endif
    return measure_loop(peak_loop_portable, PEAK_CHAINS * 8 * 2, seconds);
}

// vdpbf16ps: 16 lanes × 2 products × 2 FLOPs per instruction.
double ab_measure_bf16_peak(double seconds) {
#if defined(__x86_64__)
    if (ab_bf16_supported()) return measure_loop(peak_loop_bf16, PEAK_CHAINS * 16 * 4, seconds);
#endif
    (void)seconds;
    return 0;
}
