#include "tiling/BlockRows.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace satsal {

namespace {

// floor((2y + 1 - s) / (2s)): the lower bilinear tap for output row y, in exact integer arithmetic
// (a float src would round wrongly for large y).
int64_t lower_tap(int64_t y, int64_t stride) {
    const int64_t numerator = 2 * y + 1 - stride;
    const int64_t denominator = 2 * stride;
    int64_t q = numerator / denominator;
    if (numerator % denominator != 0 && numerator < 0) --q;
    return q;
}

}  // namespace

std::pair<int64_t, int64_t> layer_rows_needed(int64_t block_y0, int64_t block_height, int64_t stride,
                                              int64_t layer_height) {
    if (block_y0 < 0 || block_height <= 0 || stride <= 0 || layer_height <= 0) {
        throw std::invalid_argument(
            "layer_rows_needed: block rows " + std::to_string(block_y0) + " + " +
            std::to_string(block_height) + ", stride " + std::to_string(stride) + ", layer height " +
            std::to_string(layer_height) + ": need y0 >= 0 and positive height, stride, layer height");
    }
    const int64_t last_row = layer_height - 1;
    // The taps grow monotonically with y, so the block's first and last rows bound them all.
    const int64_t first = std::clamp<int64_t>(lower_tap(block_y0, stride), 0, last_row);
    const int64_t last =
        std::clamp<int64_t>(lower_tap(block_y0 + block_height - 1, stride) + 1, 0, last_row) + 1;
    return {first, last};
}

}  // namespace satsal
