import CKernels
import Randomness

/// The per-channel scale 1 and shift 0 with which the fused affine kernel (`ck_affine_apply`)
/// computes a plain ReLU or sum.
struct IdentityAffine {
    let ones: FloatBuffer, zeros: FloatBuffer
    init(channels: Int) {
        ones = FloatBuffer(count: channels)
        zeros = FloatBuffer(count: channels)
        ones.pointer.update(repeating: 1, count: channels)
    }
}

/// y = max(x, 0).
final class ReLU: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let shape: TensorShape
    private let identity: IdentityAffine

    init(name: String, input: Int, output: Int, shape: TensorShape) {
        self.name = name
        self.inputs = [input]
        self.output = output
        self.shape = shape
        identity = IdentityAffine(channels: shape.channels)
    }

    var flopsPerSample: Int { 0 }

    func forward(_ pass: Pass) {
        ck_affine_apply(pass.isa, pass.activations[inputs[0]].view, .none, pass.activations[output].view,
                        Int32(pass.images), Int32(shape.channels), Int32(shape.height), Int32(shape.width),
                        identity.ones.pointer, identity.zeros.pointer, 1)
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        guard needsGradient[0] else { return }
        ck_relu_backward(pass.isa, pass.gradients[output].view, pass.activations[output].view,
                         pass.gradients[inputs[0]].view, accumulate[0] ? 1 : 0, Int32(pass.images),
                         Int32(shape.channels), Int32(shape.height), Int32(shape.width))
    }
}

/// y = a + b, optionally followed by a ReLU (the join of a residual block).
final class Add: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let shape: TensorShape
    let relu: Bool
    private let identity: IdentityAffine

    init(name: String, a: Int, b: Int, output: Int, shape: TensorShape, relu: Bool) {
        self.name = name
        self.inputs = [a, b]
        self.output = output
        self.shape = shape
        self.relu = relu
        identity = IdentityAffine(channels: shape.channels)
    }

    var flopsPerSample: Int { 0 }

    func forward(_ pass: Pass) {
        ck_affine_apply(pass.isa, pass.activations[inputs[0]].view, pass.activations[inputs[1]].view,
                        pass.activations[output].view, Int32(pass.images), Int32(shape.channels),
                        Int32(shape.height), Int32(shape.width), identity.ones.pointer, identity.zeros.pointer, relu ? 1 : 0)
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        // g = dy·[y > 0]; da (+)= g; db (+)= g — the batch-norm backward with a = 1, b = d = 0.
        let (c, h, w) = (Int32(shape.channels), Int32(shape.height), Int32(shape.width))
        let dy = pass.gradients[output].view
        let mask = relu ? pass.activations[output].view : .none
        let da = needsGradient[0] ? pass.gradients[inputs[0]].view : .none
        let db = needsGradient[1] ? pass.gradients[inputs[1]].view : .none
        if da.data != nil {
            ck_bn_backward_apply(pass.isa, dy, mask, pass.activations[inputs[0]].view, da, accumulate[0] ? 1 : 0,
                                 db, needsGradient[1] && accumulate[1] ? 1 : 0, Int32(pass.images), c, h, w,
                                 identity.zeros.pointer, identity.ones.pointer, identity.zeros.pointer, identity.zeros.pointer,
                                 nil, nil)
        } else if db.data != nil {
            ck_relu_backward_or_copy(pass.isa, dy, mask, db, accumulate[1], pass.images, shape)
        }
    }
}

/// dx (+)= dy·[y > 0] with a mask, or dx (+)= dy without.
func ck_relu_backward_or_copy(_ isa: Int32, _ dy: ck_view, _ mask: ck_view, _ dx: ck_view, _ accumulate: Bool,
                              _ images: Int, _ shape: TensorShape) {
    let (c, h, w) = (Int32(shape.channels), Int32(shape.height), Int32(shape.width))
    if mask.data != nil {
        ck_relu_backward(isa, dy, mask, dx, accumulate ? 1 : 0, Int32(images), c, h, w)
    } else {
        ck_copy(isa, dy, dx, accumulate ? 1 : 0, Int32(images), c, h, w)
    }
}

/// Inverted dropout: in training each element is kept with probability 1 − p and scaled by
/// 1/(1 − p); in evaluation it is the identity. The mask of each sample (row of the batch) is
/// drawn from the counter-based generator keyed by (seed, step, layer, global row), so every
/// sample — and every augmented copy of a sample — gets its own mask, reproducibly.
final class Dropout: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let shape: TensorShape
    let layerIndex: Int
    var rate: Float = 0
    private var mask: FloatBuffer?

    init(name: String, input: Int, output: Int, shape: TensorShape, layerIndex: Int) {
        self.name = name
        self.inputs = [input]
        self.output = output
        self.shape = shape
        self.layerIndex = layerIndex
    }

    var flopsPerSample: Int { 0 }

    func allocate(images: Int) { mask = FloatBuffer(count: images * shape.elements) }

    func scratchBytes(images: Int) -> Int { max(images * shape.elements, 1) * 4 }

    /// Fills `mask` with 0 or 1/(1 − rate) for `images` rows starting at global row `firstRow`.
    static func drawMask(_ mask: UnsafeMutablePointer<Float>, elements: Int, images: Int, rate: Float,
                         key: DropoutKey, layerIndex: Int) {
        let keep = 1 / (1 - rate)
        let threshold = UInt32((Double(rate) * 65536).rounded())   // drop when a 16-bit draw < threshold
        for n in 0 ..< images {
            var rng = CounterRNG(seed: key.seed ^ 0xD80F_0D80_F0D8_0F0D,
                                 stream: (UInt32(truncatingIfNeeded: key.step), UInt32(truncatingIfNeeded: key.step >> 32) ^ UInt32(layerIndex) << 20,
                                          UInt32(truncatingIfNeeded: key.firstRow + n)))
            let row = mask + n * elements
            var i = 0
            while i < elements {
                let bits = rng.next32()
                row[i] = bits & 0xffff < threshold ? 0 : keep
                if i + 1 < elements { row[i + 1] = bits >> 16 < threshold ? 0 : keep }
                i += 2
            }
        }
    }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]].view, y = pass.activations[output].view
        let (c, h, w) = (Int32(shape.channels), Int32(shape.height), Int32(shape.width))
        guard pass.training && rate > 0 else {
            ck_copy(pass.isa, x, y, 0, Int32(pass.images), c, h, w)
            return
        }
        let m = mask!.pointer
        Self.drawMask(m, elements: shape.elements, images: pass.images, rate: rate, key: pass.dropout,
                      layerIndex: layerIndex)
        multiply(x, by: m, into: y, images: pass.images, accumulate: false)
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        guard needsGradient[0] else { return }
        let dy = pass.gradients[output].view, dx = pass.gradients[inputs[0]].view
        if rate > 0 {
            multiply(dy, by: mask!.pointer, into: dx, images: pass.images, accumulate: accumulate[0])
        } else {
            ck_copy(pass.isa, dy, dx, accumulate[0] ? 1 : 0, Int32(pass.images), Int32(shape.channels),
                    Int32(shape.height), Int32(shape.width))
        }
    }

    private func multiply(_ x: ck_view, by mask: UnsafeMutablePointer<Float>, into y: ck_view, images: Int,
                          accumulate: Bool) {
        var m = UnsafePointer(mask)
        for n in 0 ..< images {
            for c in 0 ..< shape.channels {
                for r in 0 ..< shape.height {
                    let source = x.data! + n * x.image + c * x.plane + r * x.row
                    let target = y.data! + n * y.image + c * y.plane + r * y.row
                    if accumulate {
                        for i in 0 ..< shape.width { target[i] += source[i] * m[i] }
                    } else {
                        for i in 0 ..< shape.width { target[i] = source[i] * m[i] }
                    }
                    m += shape.width
                }
            }
        }
    }
}
