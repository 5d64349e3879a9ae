import CKernels
import COpenBLAS

/// y = x·Wᵀ + b over the flattened sample (C·H·W features), W of shape [out, in] (PyTorch's layout).
final class Linear: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let inFeatures: Int, outFeatures: Int
    let weight: ParameterSpec
    let bias: ParameterSpec
    var parameterSpecs: [ParameterSpec] { [weight, bias] }

    init(name: String, input: Int, output: Int, inFeatures: Int, outFeatures: Int,
         parameters: inout ParameterTableBuilder) {
        self.name = name
        self.inputs = [input]
        self.output = output
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = parameters.declare("\(name).weight", shape: [outFeatures, inFeatures], role: .weight, decays: true,
                                    initializer: .uniform(fanIn: inFeatures))
        bias = parameters.declare("\(name).bias", shape: [outFeatures], role: .bias, decays: false,
                                  initializer: .uniform(fanIn: inFeatures))
    }

    var flopsPerSample: Int { 2 * inFeatures * outFeatures }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]].interior, y = pass.activations[output].interior
        let (m, n, k) = (Int32(pass.images), Int32(outFeatures), Int32(inFeatures))
        let b = pass.value(bias)
        for row in 0 ..< pass.images { (y + row * outFeatures).update(from: b, count: outFeatures) }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, pass.value(weight), k, 1, y, n)
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        let x = pass.activations[inputs[0]].interior, dy = pass.gradients[output].interior
        let (m, n, k) = (Int32(pass.images), Int32(outFeatures), Int32(inFeatures))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1, dy, n, x, k, 1, pass.gradient(weight), k)
        let db = pass.gradient(bias)
        for row in 0 ..< pass.images {
            let g = dy + row * outFeatures
            for j in 0 ..< outFeatures { db[j] += g[j] }
        }
        if needsGradient[0] {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1, dy, n, pass.value(weight), k,
                        accumulate[0] ? 1 : 0, pass.gradients[inputs[0]].interior, k)
        }
    }
}
