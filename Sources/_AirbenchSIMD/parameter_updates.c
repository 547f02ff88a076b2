// The updates of the parameter arena after a step, elementwise over flat buffers: Nesterov SGD's (Optimizer.swift)
// and Lookahead's sync. They ran as serial Swift loops, about 4 ms of every step on a Zen 3 at either thread count;
// here the arena is split into chunks for the pool. Contraction into FMAs is off, so that every element is the
// same expression, rounded the same way, as in those loops (and on every path): the bits do not change.
#pragma STDC FP_CONTRACT OFF
#include "airbench_simd.h"
#include "internal.h"

#define UPDATE_CHUNK 16384  // floats per task

typedef struct {
    float *parameters, *buffer;  // Nesterov: p and its momentum buffer; Lookahead: the fast and the slow copy
    const float *gradients;
    size_t count;
    float learning_rate, weight_decay, momentum;  // Lookahead: learning_rate is the pull toward the fast weights
    int first;
} update_job;

AB_PATH_LOOP void nesterov_range(float *restrict p, const float *restrict g, float *restrict buf, size_t count,
                                 float lr, float wd, float m, int first) {
    for (size_t i = 0; i < count; i++) {
        float d = g[i] + wd * p[i];
        buf[i] = first ? d : m * buf[i] + d;
        p[i] -= lr * (d + m * buf[i]);
    }
}
AB_PATH_BUILDS(nesterov_range,
            (float *restrict p, const float *restrict g, float *restrict buf, size_t count, float lr, float wd,
             float m, int first),
            (p, g, buf, count, lr, wd, m, first))

AB_PATH_LOOP void lookahead_range(float *restrict fast, float *restrict slow, size_t count, float weight) {
    for (size_t i = 0; i < count; i++) {
        slow[i] += weight * (fast[i] - slow[i]);  // torch.lerp_(slow, fast, weight)
        fast[i] = slow[i];
    }
}
AB_PATH_BUILDS(lookahead_range, (float *restrict fast, float *restrict slow, size_t count, float weight),
            (fast, slow, count, weight))

static void nesterov_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const update_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, UPDATE_CHUNK, job->count, &first, &last);
    AB_ON_PATH(nesterov_range)(job->parameters + first, job->gradients + first, job->buffer + first, last - first,
                               job->learning_rate, job->weight_decay, job->momentum, job->first);
}

static void lookahead_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const update_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, UPDATE_CHUNK, job->count, &first, &last);
    AB_ON_PATH(lookahead_range)(job->parameters + first, job->buffer + first, last - first, job->learning_rate);
}

void ab_nesterov_update(float *parameters, const float *gradients, float *buffer, size_t count, float learning_rate,
                        float weight_decay, float momentum, int first) {
    update_job job = {parameters, buffer, gradients, count, learning_rate, weight_decay, momentum, first};
    ab_parallel_for_balanced(ab_chunks_of(count, UPDATE_CHUNK), nesterov_part, &job);
}

void ab_lookahead_update(float *fast, float *slow, size_t count, float weight) {
    update_job job = {fast, slow, NULL, count, weight, 0, 0, 0};
    ab_parallel_for_balanced(ab_chunks_of(count, UPDATE_CHUNK), lookahead_part, &job);
}
