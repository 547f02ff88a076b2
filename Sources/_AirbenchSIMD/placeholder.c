int ab_simd_placeholder(void) { return 0; }
