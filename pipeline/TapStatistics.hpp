#pragma once
// The one place where a forward pass becomes statistic maps: forward -> the taps (or their
// pre-activations, for the truncated-normal statistics) -> the per-pixel channel statistic of
// each tap. `explain`, `run` (pass 1 and margin = auto), `seams` and `bench smoe` all go through
// here, so every command computes the same maps from the same tensors.
//
// Thread rules: as TappedModel (one model per thread) and channel_statistic (re-entrant).
// Only ATen's light core header is included, so torch/torch.h stays out of this header's users.
#include "saliency/Map.hpp"
#include "saliency/Statistics.hpp"

#include <ATen/core/Tensor.h>

#include <vector>

namespace satsal {

class TappedModel;
struct ForwardResult;

/// The statistic and its options, and which tensors of a forward pass it reads.
struct TapStatistic {
    Statistic statistic = Statistic::Smoe;
    StatisticOptions options;

    /// True when the model must be loaded with pre-activations (truncated-normal statistics).
    bool needs_pre_activation() const { return statistic_uses_pre_activation(statistic); }
    /// The tensors the statistic reads: the pre-activations or the (post-ReLU) taps.
    const std::vector<at::Tensor>& inputs(const ForwardResult& forward) const;
};

/// Per tap, float32 [N, H, W]: the statistic over the channels of each image. A tap the statistic
/// refuses (NaN, negative values where it needs non-negative input) throws std::domain_error
/// naming the tap: "tap 'layer2': ...".
std::vector<at::Tensor> tap_statistics(const TappedModel& model, const ForwardResult& forward,
                                          const TapStatistic& statistic);

/// forward + tap_statistics, fused: each tap's statistic is computed as soon as the forward has
/// produced the tap, while it is still in cache (TappedModel::forward with a TapCallback), rather
/// than after the whole forward. Same values as tap_statistics(model, model.forward(batch), ...).
/// Statistics on pre-activations run after the forward. forward, if given, receives the forward's
/// result (output, taps); statistic_seconds, if given, the time spent in the statistic.
std::vector<at::Tensor> fused_tap_statistics(const TappedModel& model, const at::Tensor& batch,
                                             const TapStatistic& statistic, ForwardResult* forward,
                                             double* statistic_seconds);

/// fused_tap_statistics without the forward's result.
std::vector<at::Tensor> forward_tap_statistics(const TappedModel& model, const at::Tensor& batch,
                                                  const TapStatistic& statistic);

/// One image of every tap's statistic as Maps, tap order.
std::vector<Map> image_maps(const std::vector<at::Tensor>& statistics, int64_t image);

}  // namespace satsal
