#pragma once
// Pass 2 of scene-consistent normalization works on blocks of full-resolution rows. To upsample a
// block bilinearly with half-pixel centres (align_corners = false) exactly as a whole-scene upsample
// would, it needs every layer row the bilinear taps touch, including rows owned by neighbouring
// blocks. This says which.
//
// Thread rules: pure function.
#include <cstdint>
#include <utility>

namespace satsal {

/// Layer rows [first, last) that bilinear sampling reads for output rows
/// [block_y0, block_y0 + block_height) of a layer with stride `stride` and `layer_height` rows.
/// Output row y samples src = (y + 0.5) / stride - 0.5, i.e. rows floor(src) and floor(src) + 1,
/// each clamped to [0, layer_height - 1] (the same clamping as torch's upsample_bilinear2d).
/// Note the scale is exactly 1 / stride (layer pixel i covers scene pixels [i*s, (i+1)*s)); an
/// upsampler that derives it from the sizes (ceil(H / s) / H) drifts when H is not a multiple of s.
/// The same function serves columns. Throws std::invalid_argument on non-positive sizes/stride or a
/// negative block_y0.
std::pair<int64_t, int64_t> layer_rows_needed(int64_t block_y0, int64_t block_height, int64_t stride,
                                              int64_t layer_height);

}  // namespace satsal
