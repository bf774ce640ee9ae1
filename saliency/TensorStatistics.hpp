#pragma once
// torch::Tensor adapters for the raw statistics in saliency/Statistics.hpp.
// torch::Tensor is at::Tensor; only the light ATen core header is included here so that users
// of this header do not pay for torch/torch.h.
//
// Thread rules: re-entrant. channel_statistic parallelizes over images and pixel ranges with
// at::parallel_for (LibTorch's intra-op threads); called from inside another at::parallel_for
// it runs serially.
#include "saliency/Map.hpp"
#include "saliency/Statistics.hpp"

#include <ATen/core/Tensor.h>

namespace satsal {

/// Per-pixel statistic over the channels of a tap [N, C, H, W] (any float dtype or layout: it is
/// made contiguous float32 first; a contiguous float32 CPU tensor is used in place). SMOE Scale
/// reads float32 and bfloat16 taps in place in both contiguous NCHW and channels-last (NHWC)
/// layouts, without a converted copy. Returns
/// float32 [N, H, W]. Throws std::invalid_argument for a tensor that is not 4-D, on another
/// device, or has no channels; std::domain_error (from the kernels, with the whole tap's counts
/// and shape "[N x C x H x W]") for NaN/inf, or negative values where the statistic needs
/// non-negative input.
at::Tensor channel_statistic(Statistic statistic, const at::Tensor& nchw,
                             const StatisticOptions& options = {});

/// Copy of a 2-D tensor [H, W] (any float dtype) into a Map. Throws std::invalid_argument for
/// another rank.
Map map_from_tensor(const at::Tensor& hw);
/// A float32 [H, W] tensor holding a copy of the map.
at::Tensor tensor_from_map(const Map& map);

}  // namespace satsal
