// CPU feature detection, the run-time choice of kernel path, and the register-only peak loop.
#include "airbench_simd.h"
#include "internal.h"
#include <time.h>

static int active_isa = -1;

ab_isa ab_isa_detect(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
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

double ab_measure_fma_peak(double seconds) {
    long iterations = 1 << 20;
    for (;;) {
        double start = ab_now_seconds();
#if defined(__x86_64__)
        if (ab_isa_active() == AB_ISA_AVX2) ab_peak_sink = peak_loop_avx2(iterations);
        else
#endif
            ab_peak_sink = peak_loop_portable(iterations);
        double elapsed = ab_now_seconds() - start;
        if (elapsed >= seconds || iterations > (1L << 40)) return (double)iterations * PEAK_CHAINS * 8 * 2 / elapsed;
        iterations *= 2;
    }
}
