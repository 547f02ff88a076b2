// The process-wide thread pool. ab_parallel_for splits [0, count) into contiguous parts by thread index, so
// the same work always goes to the same thread; workers wait on a generation counter (spinning for up to
// SPIN_SECONDS, then sleeping on a condition variable) so a call costs microseconds, not a thread start.
// ab_parallel_for_balanced starts from the same parts but hands them out a task at a time, and a thread that has
// finished its own part takes the tasks left at the others': in this VM one core ran the same memory-heavy pass
// 4–8% slower than the other, and with fixed halves the faster thread waited that long at the end of every pass
// (BENCHMARKS.md, issue 22). The bits cannot change: only bodies whose tasks are independent use it.
#include "airbench_simd.h"
#include "internal.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define AB_MAX_THREADS 256
#define AB_SCRATCH_SLOTS 4
// How long a worker spins for the next job before it sleeps. A training step posts a job every few milliseconds
// with serial gaps of tens of microseconds between them; a sleeping worker costs the next job its wake-up (in a VM
// the host must run the halted vCPU again). The spin was 20,000 loads, about 5 µs; a perf profile found the worker
// asleep 3.5–4% of a training run at 2 threads, and 2,000,000 loads (about 0.5 ms) made the bf16 step at 2 threads
// 1–2% shorter, the same at 1 (BENCHMARKS.md, issue 22). Spinning by the clock, the bound no longer depends on
// the CPU's speed.
#define SPIN_SECONDS 2e-3

// Where the next task of a thread's part is, alone in its cache line (its owner takes from it at every task).
typedef struct {
    _Alignas(64) atomic_int next;
} part_cursor;

typedef struct {
    void (*body)(void *, int, int, int);
    void *context;
    int count;
    int threads;           // the threads that take part (thread_count when posted); the others sit this job out
    part_cursor *cursors;  // balanced: one per taking part, at the first task of its part; NULL: fixed parts
} job;

static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static atomic_int generation;
static atomic_int pending;
static job current_job;
static int thread_count = 1;
static int started_workers = 0;

static struct {
    void *pointer;
    size_t bytes;
} scratch[AB_MAX_THREADS][AB_SCRATCH_SLOTS];

void *ab_thread_scratch(int thread, int slot, size_t bytes) {
    if (scratch[thread][slot].bytes < bytes) {
        free(scratch[thread][slot].pointer);
        size_t rounded = (bytes + 63) & ~(size_t)63;
        scratch[thread][slot].pointer = aligned_alloc(64, rounded);
        scratch[thread][slot].bytes = rounded;
    }
    return scratch[thread][slot].pointer;
}

static struct {
    void *pointer;
    size_t bytes;
} shared_scratch[AB_SCRATCH_SLOTS];

void *ab_shared_scratch(int slot, size_t bytes) {
    if (shared_scratch[slot].bytes < bytes) {
        free(shared_scratch[slot].pointer);
        size_t rounded = (bytes + 63) & ~(size_t)63;
        shared_scratch[slot].pointer = aligned_alloc(64, rounded);
        shared_scratch[slot].bytes = rounded;
    }
    return shared_scratch[slot].pointer;
}

static int part_begin(const job *work, int thread) { return (int)((long)work->count * thread / work->threads); }

// Fixed parts: part `thread` in one call. Balanced: the tasks of part `thread` one at a time, then those still
// left in the others' parts, in the order of the threads after it.
static void run_part(const job *work, int thread) {
    if (!work->cursors) {
        int begin = part_begin(work, thread), end = part_begin(work, thread + 1);
        if (begin < end) work->body(work->context, begin, end, thread);
        return;
    }
    for (int k = 0; k < work->threads; k++) {
        int owner = (thread + k) % work->threads, end = part_begin(work, owner + 1);
        for (int task; (task = atomic_fetch_add_explicit(&work->cursors[owner].next, 1, memory_order_relaxed)) < end;)
            work->body(work->context, task, task + 1, thread);
    }
}

static int worker_start_generation[AB_MAX_THREADS];

// Spins until the generation is no longer `seen` or SPIN_SECONDS have passed (the clock read every 1,024 spins).
static void spin_while(int seen) {
    double until = 0;
    for (unsigned spins = 0; atomic_load_explicit(&generation, memory_order_acquire) == seen; spins++) {
        if (spins % 1024 == 0) {
            double now = ab_now_seconds();
            if (spins == 0) until = now + SPIN_SECONDS;
            else if (now > until) return;
        }
        ab_pause();
    }
}

static void *worker(void *argument) {
    int thread = (int)(intptr_t)argument;
    // The generation current when this worker was created (read under the pool mutex), so a job posted
    // before the thread got to run is not missed.
    int seen = worker_start_generation[thread];
    for (;;) {
        spin_while(seen);
        // The generation and its job are read together under the mutex they are posted under: a worker that
        // wakes late must not pair a new generation with an old job (or the reverse), nor take part in a job
        // posted for fewer threads, which would not wait for it.
        pthread_mutex_lock(&pool_mutex);
        while (atomic_load(&generation) == seen) pthread_cond_wait(&pool_wake, &pool_mutex);
        seen = atomic_load(&generation);
        job work = current_job;
        pthread_mutex_unlock(&pool_mutex);
        if (thread < work.threads) {
            run_part(&work, thread);
            atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
        }
    }
    return NULL;
}

int ab_set_threads(int threads) {
    if (threads < 1) threads = 1;
    if (threads > AB_MAX_THREADS) threads = AB_MAX_THREADS;
    pthread_mutex_lock(&pool_mutex);
    while (started_workers < threads - 1) {
        pthread_t handle;
        started_workers++;
        worker_start_generation[started_workers] = atomic_load(&generation);
        pthread_create(&handle, NULL, worker, (void *)(intptr_t)started_workers);
        pthread_detach(handle);
    }
    thread_count = threads;
    pthread_mutex_unlock(&pool_mutex);
    return thread_count;
}

int ab_threads(void) { return thread_count; }

static void parallel_for(int count, void (*body)(void *, int, int, int), void *context, int balanced) {
    if (thread_count <= 1 || count <= 1) {
        if (count > 0) body(context, 0, count, 0);
        return;
    }
    // Every worker t < thread_count runs part t; parts beyond `count` are empty.
    part_cursor cursors[balanced ? thread_count : 1];
    job work = {body, context, count, thread_count, balanced ? cursors : NULL};
    if (balanced)
        for (int t = 0; t < thread_count; t++) atomic_init(&cursors[t].next, part_begin(&work, t));
    pthread_mutex_lock(&pool_mutex);
    current_job = work;
    atomic_store(&pending, thread_count - 1);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_mutex);
    run_part(&work, 0);
    while (atomic_load_explicit(&pending, memory_order_acquire) > 0) sched_yield();
}

void ab_parallel_for(int count, void (*body)(void *, int, int, int), void *context) {
    parallel_for(count, body, context, 0);
}

void ab_parallel_for_balanced(int count, void (*body)(void *, int, int, int), void *context) {
    parallel_for(count, body, context, 1);
}

// ---- memory bandwidth (airbench bench's roofline) ---------------------------------------------------------------

typedef struct {
    const float *from;
    float *to;
    size_t count, chunk;
} copy_job;

static void copy_part(void *context, int begin, int end, int thread) {
    (void)thread;
    const copy_job *job = context;
    for (int part = begin; part < end; part++) {
        size_t first = (size_t)part * job->chunk;
        if (first >= job->count) break;
        size_t n = job->count - first < job->chunk ? job->count - first : job->chunk;
        memcpy(job->to + first, job->from + first, sizeof(float) * n);
    }
}

double ab_measure_copy_bandwidth(size_t bytes, int repeats) {
    size_t count = bytes / sizeof(float);
    float *from = malloc(sizeof(float) * count), *to = malloc(sizeof(float) * count);
    if (!from || !to) {
        free(from);
        free(to);
        return 0;
    }
    for (size_t i = 0; i < count; i++) from[i] = (float)(i & 1023), to[i] = 0;
    copy_job work = {from, to, count, (count + 63) / 64};
    double best = 0;
    for (int r = 0; r < repeats; r++) {
        double start = ab_now_seconds();
        ab_parallel_for(64, copy_part, &work);
        double elapsed = ab_now_seconds() - start;
        if (r == 0 || elapsed < best) best = elapsed;
    }
    free(from);
    free(to);
    return best > 0 ? 2.0 * sizeof(float) * count / best : 0;
}
