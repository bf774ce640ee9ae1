#pragma once
// Data and saliency maps of `satsal evaluate` (internal to eval/): patch sets as normalised input
// tensors at input_size, and the maps every protocol ranks pixels by.
//
// Thread rules: as eval/Evaluate.hpp.
#include <torch/script.h>

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "eval/EvalConfig.hpp"

namespace satsal::eval {

struct EvalData {
    at::Tensor train_inputs, test_inputs;  // float [N, 3, S, S], normalised (counting layout)
    at::Tensor train_labels, test_labels;  // int64 [N]
    std::vector<float> channel_means;      // per-channel mean of train_inputs
};

/// Generates the synthetic COWC when needed, loads the patch sets, resamples to input_size.
EvalData load_eval_data(const EvalOptions& options, std::ostream& log);

/// Layer-level maps: maps[statistic][tap] = float [N, h, w] (no entry for random, which is drawn
/// per seed). Computed on the TorchScript model at `model_path` with its auto-detected taps.
using LayerMaps = std::map<std::string, std::vector<at::Tensor>>;
LayerMaps layer_maps(const std::string& model_path, const at::Tensor& inputs, const EvalOptions& options);

/// Image-level maps of `method` (eval/EvalConfig.hpp names, not random) at input size [N, S, S].
std::map<std::string, at::Tensor> image_maps(const std::string& model_path, const at::Tensor& inputs,
                                             const EvalOptions& options, std::ostream& log);

/// A random map [N, h, w] (uniform, per image stream `first_index + i`, `salt`).
at::Tensor random_maps(int64_t n, int64_t h, int64_t w, std::uint64_t seed, std::uint64_t salt, int64_t first_index = 0);

/// Masks [N, h, w] maps: keep = 1, as float [N, 1, h, w].
at::Tensor keep_masks(const at::Tensor& maps, double fraction, bool keep_mode);

/// inputs with the pixels of masks (1 = keep) blanked to the channel means.
at::Tensor replace_blanked(const at::Tensor& inputs, const at::Tensor& masks, const std::vector<float>& means);

/// ROAD: inputs with the `fraction` most (morf) / least relevant pixels imputed (noise seeded by
/// `seed` and the image index).
at::Tensor road_impute(const at::Tensor& inputs, const at::Tensor& maps, double fraction, bool morf, double noise,
                       std::uint64_t seed);

/// Converts a normalised [3, S, S] input back to interleaved RGB bytes.
std::vector<std::uint8_t> to_rgb(const at::Tensor& input);

}  // namespace satsal::eval
