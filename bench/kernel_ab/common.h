// Shared by the kernel A/B harnesses: timing, test data, a cache flush between calls (a training
// step reads each layer's tensors long after they were written, so kernels are timed cold), and
// the median of per-round ratios.
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 21

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// n floats of fixed pseudo-random values in [-1, 1), 64-byte aligned, with slack after the end.
static float *filled(long n) {
    const long bytes = ((n + 64) * 4 + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    for (long i = 0; i < n + 64; i++) p[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    return p;
}

// Evicts the caches: writes 64 MB.
static void flush_caches(void) {
    static float *junk;
    const long n = 16L << 20;
    if (!junk) junk = filled(n);
    for (long i = 0; i < n; i += 16) junk[i] += 1;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Median of a[0..<n] (sorts it).
static double median(double *a, int n) {
    qsort(a, n, sizeof *a, by_value);
    return a[n / 2];
}

// "name A x ms B y ms A/B r": medians of the times and of the per-round ratios.
static void report(const char *name, double a[ROUNDS], double b[ROUNDS]) {
    double ratio[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) ratio[i] = a[i] / b[i];
    const double r = median(ratio, ROUNDS);
    printf("  %s A %.3f B %.3f ms A/B %.3f", name, median(a, ROUNDS) * 1e3, median(b, ROUNDS) * 1e3, r);
}
