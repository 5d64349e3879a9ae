// The element-wise stage of a Winograd convolution on OpenBLAS: for each of the 36 transformed
// elements of F(4×4, 3×3), one cblas_sgemm (c × c)·(c × P) over P tiles, for `tiles` tiles in all
// (in blocks of P). Prints the best of 5 rounds in GFLOP/s, to compare with the micro-kernel in
// Sources/CKernels/winograd.c (docs/PERFORMANCE.md, "Winograd convolutions").
//
//   cc -O2 -o /tmp/winograd_sgemm bench/winograd_sgemm.c -lopenblas
//   OPENBLAS_NUM_THREADS=1 /tmp/winograd_sgemm 64 64 4096       # c, P, tiles
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CHANNELS TILES_PER_CALL TILES\n", argv[0]);
        return 2;
    }
    const int c = atoi(argv[1]), p = atoi(argv[2]), tiles = atoi(argv[3]);
    if (c < 1 || p < 1 || tiles < p) {
        fprintf(stderr, "need CHANNELS >= 1 and TILES >= TILES_PER_CALL >= 1\n");
        return 2;
    }
    openblas_set_num_threads(1);
    float *u = malloc(sizeof(float) * 36L * c * c), *v = malloc(sizeof(float) * 36L * c * p);
    float *m = malloc(sizeof(float) * 36L * c * p);
    for (long i = 0; i < 36L * c * c; i++) u[i] = 0.01f * (i % 13);
    for (long i = 0; i < 36L * c * p; i++) v[i] = 0.02f * (i % 7);
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        const double start = now();
        for (int b = 0; b < tiles / p; b++)
            for (int e = 0; e < 36; e++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, p, c, 1, u + (long)e * c * c, c,
                            v + (long)e * c * p, p, 0, m + (long)e * c * p, p);
        const double seconds = now() - start;
        if (seconds < best) best = seconds;
    }
    printf("c=%d P=%d tiles=%d: %.2f ms, %.1f GFLOP/s\n", c, p, tiles, best * 1e3,
           2.0 * 36 * c * c * (double)(tiles / p * p) / best / 1e9);
    free(u);
    free(v);
    free(m);
    return 0;
}
