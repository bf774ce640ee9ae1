#pragma once
// `satsal train-count CONFIG`: trains the COWC counting network in C++ with LibTorch.
//
// The starting point is a TorchScript module (tools/make_count_model.py writes one with seeded
// random weights); it is trained in place (module.train(), an optimizer over its parameters,
// cross-entropy on the logits, batch-norm statistics updated in training mode) and saved with
// module.save() in eval mode, so the result is again TorchScript and runs unchanged in satsal and
// in PyTorch.
//
// Determinism: the shuffle of epoch e and the augmentation of each sample are functions of
// (seed, e, position) alone, and the learning rate a function of the global step, so a resumed
// run visits exactly the batches the uninterrupted run would have (LibTorch's CPU kernels with
// more than one thread may still differ in the last bits).
//
// Checkpoint (options.checkpoint): one file, written under "<path>.part" and renamed, holding every
// parameter and buffer, the optimizer state, and the next (epoch, step). When the file exists at
// start the run continues from it; a checkpoint written with other classes, batch size, epochs,
// seed, optimizer or training set size is refused with a message naming the key.
//
// Memory: all training (and held-out) patches are decoded once into memory as uint8,
// 196,608 bytes per 256 x 256 patch.
//
// Thread rules: uses `threads` LibTorch intra-op threads (set process-wide); run one training per
// process at a time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cowc/CountingConfig.hpp"
#include "cowc/CountingLayout.hpp"
#include "cowc/CountingMetrics.hpp"

namespace at {
class Tensor;
}

namespace satsal::counting {

struct CountEpochRecord {
    int epoch = 0;             ///< 1-based
    double mean_loss = 0;      ///< over the steps run in this call
    double train_accuracy = 0; ///< arg-max == label on the (augmented) training batches
    double seconds = 0;
    bool has_holdout = false;
    CountingMetrics holdout;   ///< held-out metrics after the epoch (when has_holdout)
};

struct CountTrainResult {
    int start_epoch = 0;          ///< epochs already done when this call started (from a checkpoint)
    int start_step = 0;           ///< steps already done inside start_epoch + 1
    int completed_epochs = 0;     ///< epochs done when this call returned
    bool finished = false;        ///< all epochs done and `output` written
    long long steps_run = 0;      ///< optimizer steps in this call
    double train_seconds = 0;     ///< wall time of the steps in this call (held-out scoring excluded)
    double images_per_second = 0; ///< training throughput of this call
    double load_seconds = 0;      ///< decoding the patch sets
    std::size_t train_patches = 0;
    std::size_t holdout_patches = 0;
    std::size_t memory_bytes = 0; ///< decoded patches held in memory
    std::vector<CountEpochRecord> history;
    bool has_holdout = false;
    CountingMetrics holdout;      ///< final held-out metrics (when finished and has_holdout)
};

/// Trains as described above. Throws std::runtime_error naming the file or option on bad input
/// (unreadable list/patch/model, a count outside the classes, a model whose logits are not
/// `classes`, an incompatible checkpoint).
CountTrainResult train_counting_model(const CountTrainOptions& options);

/// The summary written to options.report: options, history, final metrics, timings.
std::string count_train_report_json(const CountTrainOptions& options, const CountTrainResult& result);

/// The augmentation of the sample at `position` of epoch `epoch` (both 0-based): a rotation in
/// multiples of rotation_step (none when 0) and a flip with probability 1/2 when `flip`.
/// Exposed for tests; a pure function of its arguments.
PatchTransform sample_transform(std::uint64_t seed, int epoch, std::size_t position, int rotation_step, bool flip);

/// Colour augmentation (key colour_jitter = j > 0) of a normalised batch [N, 3, 224, 224] in place:
/// sample i (at epoch position first_position + i) gets brightness +-j/2, contrast and saturation
/// 1 +-j and channel gains 1 +-j/4 in [0, 1] pixel units, clamped to [0, 1], inside the 192 px
/// content square only (the canvas frame keeps the fill the network sees at inference). A pure
/// function of its arguments. Exposed for tests.
void jitter_count_colours(at::Tensor& inputs, std::uint64_t seed, int epoch, std::size_t first_position, double j);

/// The shuffled order of `count` training samples in epoch `epoch`: a pure function of
/// (seed, epoch, count).
std::vector<std::size_t> epoch_order(std::uint64_t seed, int epoch, std::size_t count);

/// Soft targets for label_sigma > 0: row i is exp(-(k - counts[i])^2 / (2 sigma^2)) over
/// k = 0..classes-1, normalised to sum 1 (counts: int64 [N]; result float [N, classes]).
at::Tensor soft_targets(const at::Tensor& counts, int classes, double sigma);

/// Learning rate at global step `step` of `total_steps`: linear warm-up over
/// round(warmup_fraction * total_steps) steps, then a cosine from `peak` to 0.
double learning_rate_at(long long step, long long total_steps, double peak, double warmup_fraction);

}  // namespace satsal::counting
