#pragma once
// LibTorch side of the counting network: batches in the COWC input layout, model loading with a
// shape check, and arg-max count prediction. Used by the trainer, the evaluator and scene counting.
//
// Thread rules: a torch::jit::Module is not shared between threads that run it; LibTorch's
// intra-op threads are set by the caller (at::set_num_threads).
#include <torch/script.h>

#include <cstddef>
#include <string>
#include <vector>

#include "cowc/CountingLayout.hpp"
#include "cowc/CountingPatchSet.hpp"

namespace satsal::counting {

/// A [indices.size(), 3, 224, 224] float batch in the counting layout. `transforms` is empty
/// (identity for all) or holds one transform per index.
at::Tensor make_count_batch(const CountingPatchSet& patches, const std::vector<std::size_t>& indices,
                            const std::vector<PatchTransform>& transforms = {});

/// Loads a TorchScript counting model on the CPU in eval mode and probes it with one zero input:
/// the output must be [1, K] logits with K >= 2. Returns K in `classes`. Throws
/// std::runtime_error naming the file when it is not TorchScript or its output has another shape.
torch::jit::Module load_counting_model(const std::string& path, int& classes);

/// Number of count classes (logits) of a loaded model, from one zero input in eval mode (the
/// module's training flag is restored). Throws std::runtime_error when the output is not [1, K].
int probe_count_classes(torch::jit::Module& module, const std::string& name);

/// The views test-time augmentation averages, all of which keep the counting region (a square
/// centred on the patch) and so the label: 1 = the patch as is; 2 = it and its mirror; 4 = the four
/// right-angle rotations; 8 = those and their mirrors (the dihedral group of the square). Throws
/// std::invalid_argument naming `views` for any other number.
std::vector<PatchTransform> test_time_views(int views);

/// Scores of the patches `slice` in one batch, without gradients, in the module's current mode:
/// the logits [N, K] for `views` = 1, else the mean over the views (test_time_views) of the softmax
/// distributions [N, K]. Batches follow the weights' type and device (bf16 channels-last).
at::Tensor count_scores(torch::jit::Module& module, const CountingPatchSet& patches,
                        const std::vector<std::size_t>& slice, int views);

/// Arg-max counts for `indices` (all patches when empty), in batches of `batch_size`, without
/// gradients. With `views` > 1 (test_time_views) each patch is run once per view and the count is
/// the arg-max of the mean softmax distribution; `views` = 1 is the arg-max of the logits.
/// With `distributions`, it receives the softmax distributions (the views' mean), row-major
/// [indices.size()][K]. Puts the module in eval mode and leaves it there.
std::vector<int> predict_counts(torch::jit::Module& module, const CountingPatchSet& patches,
                                const std::vector<std::size_t>& indices, int batch_size, int views = 1,
                                std::vector<float>* distributions = nullptr);

}  // namespace satsal::counting
