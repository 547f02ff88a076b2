import Foundation

/// Label-smoothed cross-entropy, summed over the batch (Listing 4: `CrossEntropyLoss(label_smoothing=0.2,
/// reduction='none')(...).sum()`): with q = (1 − ε)·onehot(label) + ε/K, loss = Σ_b −Σ_k q_k·log softmax(z_b)_k.
public enum LabelSmoothedCrossEntropy {
    /// Returns the summed loss and the number of correct predictions (argmax, first maximum wins), and writes
    /// d(loss)/d(logits) = softmax(z) − q to `gradient` (batch × classes, overwritten). `perExample`, when given,
    /// receives each example's loss (`reduction='none'`; what airbench96_faster's proxy ranks).
    public static func evaluate(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
                                smoothing: Double, gradient: UnsafeMutablePointer<Float>,
                                perExample: UnsafeMutablePointer<Double>? = nil) -> (loss: Double, correct: Int) {
        var total = 0.0, correct = 0
        for b in 0..<batch {
            let z = logits + b * classes, label = Int(labels[b])
            var maximum = z[0], best = 0
            for k in 1..<classes where z[k] > maximum { maximum = z[k]; best = k }
            if best == label { correct += 1 }
            var sum = 0.0, example = 0.0
            for k in 0..<classes { sum += exp(Double(z[k] - maximum)) }
            let logSum = log(sum) + Double(maximum)
            for k in 0..<classes {
                let target = (k == label ? 1 - smoothing : 0) + smoothing / Double(classes)
                let logP = Double(z[k]) - logSum
                total -= target * logP
                example -= target * logP
                gradient[b * classes + k] = Float(exp(logP) - target)
            }
            perExample?[b] = example
        }
        return (total, correct)
    }
}
