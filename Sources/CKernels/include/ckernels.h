#ifndef BATCHAUG_CKERNELS_H
#define BATCHAUG_CKERNELS_H
// Micro-kernels of the compute engine (issue 3).
#endif
