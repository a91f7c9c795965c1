// Splitting the training pass's own loops (attention, the softmax) over the cores.

import FloraTensor

/// Runs `body(item, worker)` for every item, over all cores when `work` (flops) repays a
/// parallel region; worker w takes items `w, w + workers, ...` (interleaved, since later rows of
/// a causal segment cost more) and owns scratch slice w.
func parallelFor(items: Int, work: Int, _ body: @Sendable (Int, Int) -> Void) {
    let workers = work > 200_000 ? min(trainingWorkerCount, items) : 1
    if workers <= 1 {
        for item in 0..<items { body(item, 0) }
        return
    }
    ParallelRegion.run(parts: workers) { worker in
        var item = worker
        while item < items {
            body(item, worker)
            item += workers
        }
    }
}

/// Threads the training pass splits attention and the softmax over.
let trainingWorkerCount = ParallelRegion.coreCount
