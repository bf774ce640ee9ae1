#pragma once
// Upsampling and weighted combination of per-layer maps (paper Eq. 3).
#include "saliency/Map.hpp"

#include <string>
#include <vector>

namespace satsal {

/// Bilinear resize with half-pixel centres (align_corners = false, as torch.nn.functional.interpolate),
/// edges clamped.
Map upsample_bilinear(const Map& source, int64_t out_width, int64_t out_height);

/// Bilinear sampling of a window of the upsampled map, for tiled/blocked processing: output
/// pixel (i, j) is full-resolution pixel (x0 + i, y0 + j), sampled from `source` at
/// ((x + 0.5) / scale_x - 0.5, (y + 0.5) / scale_y - 0.5) with edges clamped. `source` covers
/// full-resolution pixels starting at (source_x0 * scale_x, source_y0 * scale_y), i.e. its pixel
/// (0, 0) is layer pixel (source_x0, source_y0); `layer_width`/`layer_height` bound the clamp.
Map upsample_bilinear_window(const Map& source, int64_t source_x0, int64_t source_y0,
                             int64_t layer_width, int64_t layer_height, double scale_x,
                             double scale_y, int64_t x0, int64_t y0, int64_t width, int64_t height);

/// Weight presets: "equal" (all 1), "ramp" ([1,2,3,4,5]), "prior" ([0.18,0.15,0.37,0.40,0.72]),
/// or an explicit comma list "w1,w2,...". Throws std::invalid_argument when the count differs
/// from tap_count (naming both) or a weight is not a finite non-negative number, or all are 0.
/// ramp is 1..n for n taps; prior is only defined for 5 taps.
std::vector<double> parse_weights(const std::string& spec, std::size_t tap_count);

/// sum_k(w_k * maps_k) / sum_k(w_k); all maps must have the same size.
Map combine(const std::vector<Map>& maps, const std::vector<double>& weights);

}  // namespace satsal
