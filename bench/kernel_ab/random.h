// Random test tensors for the variant checks (elementwise_bits.c, winograd_bits.c): a fixed
// xorshift64* sequence, so every run compares the same values.
#include <stdlib.h>

static unsigned long long state = 88172645463325252ull;
static float uniform(void) {   // xorshift64*, in [-1, 1)
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (float)((state * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
}

// n floats of the sequence, malloc'd.
static float *tensor(long n) {
    float *t = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) t[i] = uniform();
    return t;
}
