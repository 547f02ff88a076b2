// Declarations shared by the kernel files, not part of the module's interface.
#ifndef AIRBENCH_INTERNAL_H
#define AIRBENCH_INTERNAL_H
#include <stddef.h>
double ab_now_seconds(void);
/// A per-thread scratch buffer of at least `bytes`, 64-byte aligned, kept between calls.
void *ab_thread_scratch(int thread, int slot, size_t bytes);

// The GEMM micro-kernel shared by the convolutions (conv.c): c[r][0..cols) = Σ_k a[r·lda + k] · b[k·NR + j]
// for r < rows, over a tile of MR rows × NR columns (a must hold MR readable rows; c is overwritten).
#define AB_NR 16  // columns per packed weight panel
#define AB_MR 6   // rows per micro-tile
typedef void (*ab_micro_kernel)(int depth, const float *a, int lda, const float *b, float *c, int ldc, int rows,
                                int cols);
/// The micro-kernel of the active instruction-set path.
ab_micro_kernel ab_select_micro_kernel(void);
#endif
