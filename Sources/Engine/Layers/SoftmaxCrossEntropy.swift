#if canImport(Glibc)
import Glibc
#endif

/// Softmax cross-entropy on logits [images][classes] with integer labels: the loss of each row is
/// log Σ exp(z) − z[label], computed as m + log Σ exp(z − m) with m the row maximum (no overflow).
/// Writes the gradient of the *sum* of the row losses (softmax − one-hot) and returns the sum and
/// the number of rows whose first maximal logit is the label.
enum SoftmaxCrossEntropy {
    static func evaluate(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int, classes: Int,
                         gradient: UnsafeMutablePointer<Float>?) -> (lossSum: Double, correct: Int) {
        var lossSum = 0.0
        var correct = 0
        for r in 0 ..< rows {
            let z = logits + r * classes
            let label = Int(labels[r])
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            var maximum = z[0]
            var argmax = 0
            for j in 1 ..< classes where z[j] > maximum {
                maximum = z[j]
                argmax = j
            }
            var total = 0.0
            for j in 0 ..< classes { total += Double(expf(z[j] - maximum)) }
            let logTotal = log(total)
            lossSum += logTotal + Double(maximum - z[label])
            if argmax == label { correct += 1 }
            if let gradient {
                let g = gradient + r * classes
                for j in 0 ..< classes { g[j] = Float(exp(Double(z[j] - maximum) - logTotal)) }
                g[label] -= 1
            }
        }
        return (lossSum, correct)
    }
}
