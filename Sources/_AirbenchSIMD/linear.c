// The classifier head (Listing 4: Linear(width, classes, bias=False), then Mul(scaling_factor)) and its gradients.
// Every output is one sum in the order of the serial Swift loops these replaced (over the features c, the classes
// j or the examples b, ascending, from 0), then scaled; the loops only go over several outputs at once (vectorised
// across them) and the pool splits the outputs. With contraction into FMAs off the bits are those loops' bits.
#pragma STDC FP_CONTRACT OFF
#include "airbench_simd.h"
#include "internal.h"
#include <string.h>

#define EXAMPLES_PER_TASK 32
#define CLASS_BLOCK 16     // logits summed side by side per example
#define FEATURE_BLOCK 64   // features per task of the weight gradient

typedef struct {
    const float *features, *weight, *grad_logits;  // [batch][width], [classes][width], [batch][classes]
    int batch, width, classes;
    float scale;
    float *logits, *grad_weight, *grad_features;   // [batch][classes], [classes][width], [batch][width]
} linear_job;

// logits[b][j] = scale · Σ_c features[b][c] · weight[j][c] for the examples [first, end).
AB_PATH_LOOP void logits_range(const linear_job *job, int first, int end) {
    int width = job->width, classes = job->classes;
    for (int b = first; b < end; b++) {
        const float *f = job->features + (size_t)b * width;
        for (int j0 = 0; j0 < classes; j0 += CLASS_BLOCK) {
            int count = classes - j0 < CLASS_BLOCK ? classes - j0 : CLASS_BLOCK;
            float sum[CLASS_BLOCK] = {0};
            for (int c = 0; c < width; c++)
                for (int j = 0; j < count; j++) sum[j] += f[c] * job->weight[(size_t)(j0 + j) * width + c];
            for (int j = 0; j < count; j++) job->logits[(size_t)b * classes + j0 + j] = sum[j] * job->scale;
        }
    }
}
AB_PATH_BUILDS(logits_range, (const linear_job *job, int first, int end), (job, first, end))

// grad_features[b][c] = scale · Σ_j grad_logits[b][j] · weight[j][c] for the examples [first, end).
AB_PATH_LOOP void grad_features_range(const linear_job *job, int first, int end) {
    int width = job->width, classes = job->classes;
    for (int b = first; b < end; b++) {
        float *row = job->grad_features + (size_t)b * width;
        const float *g = job->grad_logits + (size_t)b * classes;
        for (int c = 0; c < width; c++) row[c] = 0;
        for (int j = 0; j < classes; j++)
            for (int c = 0; c < width; c++) row[c] += g[j] * job->weight[(size_t)j * width + c];
        for (int c = 0; c < width; c++) row[c] *= job->scale;
    }
}
AB_PATH_BUILDS(grad_features_range, (const linear_job *job, int first, int end), (job, first, end))

// grad_weight[j][c] = scale · Σ_b grad_logits[b][j] · features[b][c] for the features [first, end), every class.
AB_PATH_LOOP void grad_weight_range(const linear_job *job, int first, int end) {
    int width = job->width, classes = job->classes, count = end - first;
    for (int j = 0; j < classes; j++) {
        float *row = job->grad_weight + (size_t)j * width + first;
        for (int c = 0; c < count; c++) row[c] = 0;
    }
    for (int b = 0; b < job->batch; b++) {
        const float *f = job->features + (size_t)b * width + first, *g = job->grad_logits + (size_t)b * classes;
        for (int j = 0; j < classes; j++) {
            float *row = job->grad_weight + (size_t)j * width + first;
            for (int c = 0; c < count; c++) row[c] += g[j] * f[c];
        }
    }
    for (int j = 0; j < classes; j++) {
        float *row = job->grad_weight + (size_t)j * width + first;
        for (int c = 0; c < count; c++) row[c] *= job->scale;
    }
}
AB_PATH_BUILDS(grad_weight_range, (const linear_job *job, int first, int end), (job, first, end))

static void logits_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const linear_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, EXAMPLES_PER_TASK, (size_t)job->batch, &first, &last);
    AB_ON_PATH(logits_range)(job, (int)first, (int)last);
}

static void grad_features_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const linear_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, EXAMPLES_PER_TASK, (size_t)job->batch, &first, &last);
    AB_ON_PATH(grad_features_range)(job, (int)first, (int)last);
}

static void grad_weight_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const linear_job *job = context;
    size_t first, last;
    ab_chunk_items(begin, end, FEATURE_BLOCK, (size_t)job->width, &first, &last);
    AB_ON_PATH(grad_weight_range)(job, (int)first, (int)last);
}

void ab_linear_forward(const float *features, const float *weight, int batch, int width, int classes, float scale,
                       float *logits) {
    linear_job job = {features, weight, NULL, batch, width, classes, scale, logits, NULL, NULL};
    ab_parallel_for_balanced(ab_chunks_of((size_t)batch, EXAMPLES_PER_TASK), logits_part, &job);
}

void ab_linear_backward(const float *grad_logits, const float *features, const float *weight, int batch, int width,
                        int classes, float scale, float *grad_weight, float *grad_features) {
    linear_job job = {features, weight, grad_logits, batch, width, classes, scale, NULL, grad_weight, grad_features};
    ab_parallel_for_balanced(ab_chunks_of((size_t)width, FEATURE_BLOCK), grad_weight_part, &job);
    ab_parallel_for_balanced(ab_chunks_of((size_t)batch, EXAMPLES_PER_TASK), grad_features_part, &job);
}
