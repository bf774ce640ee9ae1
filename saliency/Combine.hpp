#pragma once
// Upsampling and weighted combination of per-layer maps (paper Eq. 3).
//
// Thread rules: all functions are pure and re-entrant.
#include "saliency/Map.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

/// Bilinear resize with half-pixel centres (align_corners = false, as
/// torch.nn.functional.interpolate): output pixel x samples source coordinate
/// u = (x + 0.5) / (out_width / source.width) - 0.5, clamped to [0, width - 1]; the right
/// neighbour is clamped at the edge. Agrees with torch to float rounding (~1e-7); computed in
/// double. Same code path as upsample_bilinear_window, so windows assemble to it bit-exactly.
Map upsample_bilinear(const Map& source, int64_t out_width, int64_t out_height);

/// Bilinear sampling of a window of the upsampled map, for tiled/blocked processing: output
/// pixel (i, j) is full-resolution pixel (x, y) = (x0 + i, y0 + j), sampled at layer coordinate
/// (u, v) = ((x + 0.5) / scale_x - 0.5, (y + 0.5) / scale_y - 0.5), each clamped to
/// [0, layer_width - 1] x [0, layer_height - 1], neighbours clamped at the layer's edge.
/// `source` holds layer pixels [source_x0, source_x0 + source.width) x
/// [source_y0, source_y0 + source.height) of the whole layer map (layer_width x layer_height).
/// With scale_x = out_width / layer_width this reproduces upsample_bilinear exactly.
/// Throws std::out_of_range (naming the window and the missing layer pixels) when the window
/// needs a layer pixel outside `source`, std::invalid_argument for bad sizes or scales.
Map upsample_bilinear_window(const Map& source, int64_t source_x0, int64_t source_y0,
                             int64_t layer_width, int64_t layer_height, double scale_x,
                             double scale_y, int64_t x0, int64_t y0, int64_t width, int64_t height);

/// The layer pixel range [first, last] that full-resolution pixels [x0, x0 + width) read along
/// one axis (for deciding which source rows/columns a window needs). width must be >= 1.
struct LayerSpan {
    int64_t first;
    int64_t last;
};
LayerSpan bilinear_source_span(int64_t x0, int64_t width, double scale, int64_t layer_size);

/// Layer weights as written in a config or on the command line: a preset or an explicit list.
/// The count of an explicit list is checked against the model's taps by resolve_weights.
struct WeightSpec {
    enum class Preset { Equal, Ramp, Prior, List };
    Preset preset = Preset::Equal;
    std::vector<double> values;  // Preset::List only
    bool operator==(const WeightSpec& other) const { return preset == other.preset && values == other.values; }
};

/// "equal", "ramp", "prior" or "w1,w2,..." (finite, >= 0, not all 0). Throws std::invalid_argument
/// naming the bad item.
WeightSpec parse_weight_spec(const std::string& spec);
/// The preset's name, or the list in shortest round-trip form ("0.18,0.15,0.37,0.4,0.72").
std::string weight_spec_text(const WeightSpec& spec);
/// The weights for a model with `tap_count` taps; throws std::invalid_argument as parse_weights.
std::vector<double> resolve_weights(const WeightSpec& spec, std::size_t tap_count);

/// Weight presets: "equal" (all 1), "ramp" (1, 2, ..., n), "prior" ([0.18,0.15,0.37,0.40,0.72],
/// 5 taps only), or an explicit comma list "w1,w2,...". Throws std::invalid_argument when the
/// count differs from tap_count (naming both), a weight is not a finite non-negative number,
/// or all are 0.
std::vector<double> parse_weights(const std::string& spec, std::size_t tap_count);

/// sum_k(w_k * maps_k) / sum_k(w_k), per pixel; all maps must have the same size (throws
/// std::invalid_argument naming the sizes otherwise). NaN (nodata) in any map gives NaN.
Map combine(const std::vector<Map>& maps, const std::vector<double>& weights);

}  // namespace satsal
