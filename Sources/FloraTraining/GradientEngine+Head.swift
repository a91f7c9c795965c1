// The final norm (the architecture's), the LM head and the cross-entropy, chunk by chunk of target rows so that
// the `[rows, vocab]` logits never exist for the whole minibatch at once (49152 columns for
// SmolLM2: 192 KiB a row).

import FloraModel
import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension GradientEngine {
    /// Rows of logits computed at once: about 8 MiB of them.
    var headChunkRows: Int { max(1, min(256, (1 << 21) / dimensions.vocabularySize)) }

    /// Cross-entropy of every target token; with `gradient`, writes into it (at target rows; it is
    /// zero elsewhere) the gradient of `Σ_t lossWeight[t] · CE[t]` with respect to the final residual.
    ///
    ///     h = finalNorm(x[t]);  logits = E h;  CE[t] = logsumexp(logits) − logits[target]
    ///     d logits = lossWeight[t] · (softmax(logits) − onehot(target));  d h = Eᵀ d logits
    func head(_ batch: TrainingBatch, finalResidual x: UnsafePointer<Float>, gradient dX: UnsafeMutablePointer<Float>?) -> LossSums {
        let d = dimensions.hiddenSize, v = dimensions.vocabularySize
        var sums = LossSums(adapterCount: adapters.count)
        var targetRows: [Int] = []   // token index of every target
        var adapterOfRow: [Int] = []
        for (adapter, range) in batch.groups {
            for t in range where batch.targets[t] >= 0 {
                targetRows.append(t)
                adapterOfRow.append(adapter)
            }
        }
        let chunk = headChunkRows
        let rows = headRows.reserve(chunk * d), mean = headMean.reserve(chunk), inverse = headInverse.reserve(chunk)
        let logits = self.logits.reserve(chunk * v), dRows = dHeadRows.reserve(chunk * d)
        var losses = [Double](repeating: 0, count: chunk)
        var start = 0
        while start < targetRows.count {
            let count = min(chunk, targetRows.count - start)
            for r in 0..<count {
                finalNorm(x + targetRows[start + r] * d, rows: 1, into: rows + r * d, mean: mean + r, inverse: inverse + r)
            }
            MatMul.multiply(rows, rows: count, architecture.lmHead, into: logits)  // [count, vocab]
            let items = (0..<count).map { r in
                (target: Int(batch.targets[targetRows[start + r]]), weight: dX == nil ? nil : batch.lossWeights[targetRows[start + r]])
            }
            let logitsPointer = SendablePointer(logits)
            losses.withUnsafeMutableBufferPointer { buffer in
                let out = SendablePointer(buffer.baseAddress!)
                ParallelRegion.forEachItem(items: count, flops: count * v * 16) { r, _ in
                    out.pointer[r] = softmaxCrossEntropy(
                        logitsPointer.pointer + r * v, count: v, target: items[r].target, gradientWeight: items[r].weight)
                }
            }
            for r in 0..<count {
                let adapter = adapterOfRow[start + r]
                if adapter >= 0 {
                    sums.sums[adapter] += losses[r]
                    sums.counts[adapter] += 1
                } else {
                    sums.baseSum += losses[r]
                    sums.baseCount += 1
                }
            }
            if let dX {
                let head = architecture.lmHead
                FrozenProducts.inputGradient(logits, rows: count, head, transposed: transposed.of(head), into: dRows)  // [count, hidden]
                for r in 0..<count {
                    let t = targetRows[start + r]
                    finalNormBackward(dRows + r * d, x: x + t * d, mean: mean + r, inverse: inverse + r, rows: 1, addingInto: dX + t * d)
                }
            }
            start += count
        }
        return sums
    }
}

/// `logsumexp(row) − row[target]` (nats, accumulated in double). With a `gradientWeight` w the
/// row is replaced by its gradient `w · (softmax(row) − onehot(target))`.
func softmaxCrossEntropy(_ row: UnsafeMutablePointer<Float>, count: Int, target: Int, gradientWeight: Float?) -> Double {
    var maximum = -Float.infinity
    for i in 0..<count where row[i] > maximum { maximum = row[i] }
    let targetLogit = row[target]
    for i in 0..<count { row[i] -= maximum }
    FastExp.expInPlace(row, count: count)
    var sum = 0.0
    for i in 0..<count { sum += Double(row[i]) }
    let loss = Double(maximum) + log(sum) - Double(targetLogit)
    if let w = gradientWeight {
        let factor = Float(Double(w) / sum)
        for i in 0..<count { row[i] *= factor }
        row[target] -= w
    }
    return loss
}
