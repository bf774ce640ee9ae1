#pragma once
// From per-tap statistic maps of one image to the paper's outputs: normalized maps, the
// weighted combination at input size (Eq. 3) and LOVI (Eqs. 4-7). No LibTorch here.
#include "saliency/Map.hpp"
#include "saliency/Normalize.hpp"

#include <cstdint>
#include <vector>

namespace satsal {

struct ImageSaliency {
    std::vector<Map> raw;         // statistic per tap, native tap resolution, tap order
    std::vector<Map> normalized;  // after normalization, native resolution
    Map combined;                 // weighted average of the upsampled normalized maps, input size
    std::vector<uint8_t> lovi;    // interleaved RGB [H, W, 3], input size
};

/// Normalizes each raw map (with its own statistics), upsamples to width x height with
/// half-pixel centres, combines with `weights` and renders LOVI. Takes ownership of `raw`.
ImageSaliency build_image_saliency(std::vector<Map> raw, Normalization normalization,
                                   const std::vector<double>& weights, int64_t width,
                                   int64_t height);

}  // namespace satsal
