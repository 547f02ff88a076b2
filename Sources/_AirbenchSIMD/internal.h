// Declarations shared by the kernel files, not part of the module's interface.
#ifndef AIRBENCH_INTERNAL_H
#define AIRBENCH_INTERNAL_H
#include <stddef.h>
double ab_now_seconds(void);
/// A per-thread scratch buffer of at least `bytes`, 64-byte aligned, kept between calls.
void *ab_thread_scratch(int thread, int slot, size_t bytes);
#endif
