#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "tiling/BlockRows.hpp"

using namespace satsal;

namespace {

// Straight from the definition, in double precision, row by row.
std::pair<int64_t, int64_t> brute_force(int64_t y0, int64_t height, int64_t stride, int64_t layer_height) {
    int64_t first = layer_height, last = 0;
    for (int64_t y = y0; y < y0 + height; ++y) {
        const double src = (static_cast<double>(y) + 0.5) / static_cast<double>(stride) - 0.5;
        const int64_t lo = static_cast<int64_t>(std::floor(src));
        for (int64_t tap : {lo, lo + 1}) {
            const int64_t clamped = std::min(std::max<int64_t>(tap, 0), layer_height - 1);
            first = std::min(first, clamped);
            last = std::max(last, clamped + 1);
        }
    }
    return {first, last};
}

// Bilinear (half-pixel centres) upsampling of a column of layer values to output rows [y0, y1),
// reading only layer rows [row0, row0 + rows.size()).
std::vector<double> upsample_rows(const std::vector<double>& rows, int64_t row0, int64_t layer_height,
                                  int64_t stride, int64_t y0, int64_t y1) {
    std::vector<double> out;
    for (int64_t y = y0; y < y1; ++y) {
        const double src = std::max(0.0, (y + 0.5) / stride - 0.5);
        const int64_t lo = std::min(static_cast<int64_t>(std::floor(src)), layer_height - 1);
        const int64_t hi = std::min(lo + 1, layer_height - 1);
        const double t = src - static_cast<double>(lo);
        const double a = rows.at(static_cast<size_t>(lo - row0));
        const double b = rows.at(static_cast<size_t>(hi - row0));
        out.push_back(a * (1.0 - t) + b * t);
    }
    return out;
}

}  // namespace

TEST_CASE("layer_rows_needed by hand", "[tiling][blocks]") {
    // stride 32, 777 rows -> 25 layer rows. Block 0..63: rows 0 (clamped from -1), 1, 2.
    REQUIRE(layer_rows_needed(0, 64, 32, 25) == std::make_pair<int64_t, int64_t>(0, 3));
    // Block 64..127: y=64 -> src 1.52 -> row 1; y=127 -> src 3.48 -> rows 3, 4.
    REQUIRE(layer_rows_needed(64, 64, 32, 25) == std::make_pair<int64_t, int64_t>(1, 5));
    // Last block 768..776: src up to 23.78 -> rows 23, 24 (the last layer row).
    REQUIRE(layer_rows_needed(768, 9, 32, 25) == std::make_pair<int64_t, int64_t>(23, 25));
    // Stride 1 is the identity: block rows plus the next one (weight 0, still read).
    REQUIRE(layer_rows_needed(10, 5, 1, 100) == std::make_pair<int64_t, int64_t>(10, 16));
    REQUIRE_THROWS_WITH(layer_rows_needed(0, 0, 2, 10),
                        "layer_rows_needed: block rows 0 + 0, stride 2, layer height 10: need y0 >= 0 "
                        "and positive height, stride, layer height");
}

TEST_CASE("layer_rows_needed agrees with brute force", "[tiling][blocks]") {
    for (int64_t stride : {1, 2, 3, 4, 8, 16, 32}) {
        for (int64_t height : {1, 31, 64, 777, 1000}) {
            const int64_t layer_height = (height + stride - 1) / stride;
            for (int64_t block : {1, 7, 64, 256}) {
                for (int64_t y0 = 0; y0 < height; y0 += block) {
                    const int64_t h = std::min(block, height - y0);
                    INFO("stride " << stride << " height " << height << " block " << y0 << "+" << h);
                    REQUIRE(layer_rows_needed(y0, h, stride, layer_height) ==
                            brute_force(y0, h, stride, layer_height));
                }
            }
        }
    }
}

TEST_CASE("blocks upsampled from only their needed rows match the whole upsample", "[tiling][blocks]") {
    const int64_t height = 777, stride = 8;
    const int64_t layer_height = (height + stride - 1) / stride;
    std::vector<double> layer(static_cast<size_t>(layer_height));
    for (int64_t i = 0; i < layer_height; ++i) layer[static_cast<size_t>(i)] = std::sin(0.3 * i) + 0.01 * i;
    const std::vector<double> whole = upsample_rows(layer, 0, layer_height, stride, 0, height);
    for (int64_t y0 = 0; y0 < height; y0 += 100) {
        const int64_t y1 = std::min(height, y0 + 100);
        const auto needed = layer_rows_needed(y0, y1 - y0, stride, layer_height);
        const std::vector<double> slice(layer.begin() + needed.first, layer.begin() + needed.second);
        const std::vector<double> block = upsample_rows(slice, needed.first, layer_height, stride, y0, y1);
        REQUIRE(block == std::vector<double>(whole.begin() + y0, whole.begin() + y1));
    }
}
