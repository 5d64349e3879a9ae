import CKernels

/// Tiles per block of the Winograd kernels. The forward product keeps one transformed element's
/// slice of a block's inputs and outputs ((cin + cout) · 4 floats per tile) in cache while it runs
/// over the output channels, with four vectors of 16 tiles per micro-tile (AVX-512) or two of 8.
/// The weight gradient reduces over a block's tiles, one transformed element at a time, reading
/// that element's slices of the block's transformed inputs and output gradients ((cin + cout) · 4
/// bytes per tile): 32 tiles keep them in L1 up to 256 channels. Measured (16 to 256 channels,
/// 8×8 to 32×32 planes, blocks of 16 to 256): 64 is the fastest forward block on every shape, 32
/// the fastest or within 2 % of it for the weight gradient (up to 1.27× faster than 128, which it
/// was before; docs/PERFORMANCE.md). Fixed numbers: the order of the sums depends on them, so they
/// must not vary between runs or machines.
enum WinogradBlocking {
    static func forwardBlock(inChannels: Int, outChannels: Int) -> Int { 64 }
    static func weightBlock(inChannels: Int, outChannels: Int) -> Int { 32 }
}

/// The products of a 3×3 stride-1 convolution on Winograd F(m×m, 3×3), m = `tile` (2 or 4):
/// `ConvolutionKernel.winograd2` and `.winograd4`. The weights are transformed by `prepare`
/// (into `forwardWeights`, and of the transposed flipped weights into `inputGradientWeights`).
extension Conv2D {
    /// Floats of scratch this layer's Winograd products need: the most over the tile sizes its
    /// plan uses (0 if none).
    func winogradScratchCount() -> Int {
        var most = 0
        let block = max(WinogradBlocking.forwardBlock(inChannels: inChannels, outChannels: outChannels),
                        WinogradBlocking.weightBlock(inChannels: inChannels, outChannels: outChannels))
        for m in kernels.winogradTiles {
            most = max(most, ck_winograd_scratch_count(Int32(m), Int32(inChannels), Int32(outChannels), Int32(block)))
        }
        return most
    }

    func winogradForward(_ pass: Pass, tile m: Int, input: ck_view, output: ck_view, bias: UnsafePointer<Float>?,
                         sums: UnsafeMutablePointer<Double>?) {
        ck_winograd_forward(pass.isa, Int32(m), input, Int32(inChannels), output, Int32(outChannels),
                            Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                            forwardWeights!.pointer, bias, 0, sums, scratch.pointer,
                            Int32(WinogradBlocking.forwardBlock(inChannels: inChannels, outChannels: outChannels)))
    }

    func winogradInputGradient(_ pass: Pass, tile m: Int, outputGradient: ck_view, inputGradient: ck_view,
                               accumulate: Bool) {
        ck_winograd_forward(pass.isa, Int32(m), outputGradient, Int32(outChannels), inputGradient, Int32(inChannels),
                            Int32(pass.images), Int32(inShape.height), Int32(inShape.width),
                            inputGradientWeights!.pointer, nil, accumulate ? 1 : 0, nil, scratch.pointer,
                            Int32(WinogradBlocking.forwardBlock(inChannels: outChannels, outChannels: inChannels)))
    }

    func winogradWeightGradient(_ pass: Pass, tile m: Int, outputGradient: ck_view, input: ck_view,
                                weightGradient: UnsafeMutablePointer<Float>) {
        ck_winograd_backward_weights(pass.isa, Int32(m), outputGradient, Int32(outChannels), input, Int32(inChannels),
                                     Int32(pass.images), Int32(outShape.height), Int32(outShape.width),
                                     weightGradient, scratch.pointer,
                                     Int32(WinogradBlocking.weightBlock(inChannels: inChannels,
                                                                        outChannels: outChannels)))
    }
}
