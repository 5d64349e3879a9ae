// The layer of the blocked-product harnesses (gemm.c, gemm_blocks.c): CIN COUT SIZE STRIDE KERNEL
// from the command line, padding (KERNEL − 1) / 2 and its output size; input planes carry a zero
// border of 1, as the engine's activations.
typedef struct {
    int cin, cout, size, s, k, pad, hout;
    long plane, oplane;   // floats of an input plane with its border, of an output plane
} strided_layer;

static strided_layer parse_strided_layer(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s CIN COUT SIZE STRIDE KERNEL\n", argv[0]);
        exit(2);
    }
    strided_layer l = {atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), 0, 0, 0, 0};
    l.pad = (l.k - 1) / 2;
    l.hout = (l.size + 2 * l.pad - l.k) / l.s + 1;
    l.plane = (long)(l.size + 2) * (l.size + 2);
    l.oplane = (long)l.hout * l.hout;
    return l;
}

// The layer's input (or its gradient) as the kernels read it: `data` holds images × cin planes
// with a zero border of 1; the view starts where the kernel's padding puts tap (0, 0) (interior
// for the gradient, which the kernels address without padding).
static ck_view strided_input(strided_layer l, float *data, int padding) {
    const ck_view v = {data + (l.size + 2) + 1 - padding * (l.size + 2) - padding, l.cin * l.plane, l.plane, l.size + 2};
    return v;
}
