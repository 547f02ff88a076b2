#ifndef AIRBENCH_SIMD_H
#define AIRBENCH_SIMD_H
#include <stdint.h>
#include <stddef.h>
#endif
