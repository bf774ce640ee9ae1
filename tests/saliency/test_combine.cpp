#include "saliency/Combine.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

using namespace satsal;

namespace {
Map make_map(int64_t width, int64_t height, const std::vector<float>& values) {
    Map map(width, height);
    map.values = values;
    return map;
}

Map random_map(int64_t width, int64_t height, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    Map map(width, height);
    for (float& v : map.values) v = uniform(rng);
    return map;
}

// Assemble a whole upsampled map from blocks, each computed from only the layer pixels it needs.
Map upsample_by_blocks(const Map& layer, int64_t out_width, int64_t out_height, int64_t block_w,
                       int64_t block_h) {
    const double scale_x = double(out_width) / layer.width, scale_y = double(out_height) / layer.height;
    Map out(out_width, out_height);
    for (int64_t y0 = 0; y0 < out_height; y0 += block_h) {
        for (int64_t x0 = 0; x0 < out_width; x0 += block_w) {
            const int64_t w = std::min(block_w, out_width - x0), h = std::min(block_h, out_height - y0);
            const LayerSpan xs = bilinear_source_span(x0, w, scale_x, layer.width);
            const LayerSpan ys = bilinear_source_span(y0, h, scale_y, layer.height);
            Map source(xs.last - xs.first + 1, ys.last - ys.first + 1);
            for (int64_t y = 0; y < source.height; ++y)
                for (int64_t x = 0; x < source.width; ++x) source.at(x, y) = layer.at(xs.first + x, ys.first + y);
            const Map block = upsample_bilinear_window(source, xs.first, ys.first, layer.width, layer.height,
                                                       scale_x, scale_y, x0, y0, w, h);
            for (int64_t y = 0; y < h; ++y)
                for (int64_t x = 0; x < w; ++x) out.at(x0 + x, y0 + y) = block.at(x, y);
        }
    }
    return out;
}
}  // namespace

TEST_CASE("bilinear upsampling with half-pixel centres: hand values", "[combine]") {
    const Map row = upsample_bilinear(make_map(2, 1, {0, 1}), 4, 1);
    CHECK(row.values == std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f});
    const Map square = upsample_bilinear(make_map(2, 2, {0, 1, 2, 3}), 4, 4);
    CHECK(square.at(0, 0) == 0.0f);
    CHECK(square.at(1, 1) == 0.75f);  // 0.75 (0.75*0 + 0.25*1) + 0.25 (0.75*2 + 0.25*3)
    CHECK(square.at(2, 1) == 1.25f);
    CHECK(square.at(3, 3) == 3.0f);
    // non-integer ratio 3 -> 2: u = (x + 0.5) * 1.5 - 0.5 = 0.25, 1.75
    const Map shrink = upsample_bilinear(make_map(3, 1, {0, 10, 20}), 2, 1);
    CHECK(shrink.values[0] == Approx(2.5f));
    CHECK(shrink.values[1] == Approx(17.5f));
    // same size is the identity
    const Map same = random_map(5, 4, 1);
    CHECK(upsample_bilinear(same, 5, 4).values == same.values);
}

TEST_CASE("windows assemble to the whole upsampling exactly", "[combine]") {
    const Map layer = random_map(7, 5, 2);
    CHECK(upsample_by_blocks(layer, 224, 160, 64, 48).values == upsample_bilinear(layer, 224, 160).values);
    CHECK(upsample_by_blocks(layer, 224, 160, 1, 160).values == upsample_bilinear(layer, 224, 160).values);
    const Map odd = random_map(13, 9, 3);
    CHECK(upsample_by_blocks(odd, 100, 77, 33, 20).values == upsample_bilinear(odd, 100, 77).values);
}

TEST_CASE("bilinear_source_span agrees with the taps of every pixel, by brute force", "[combine]") {
    // Straight from the definition (half-pixel centres, taps clamped to the layer), in double
    // precision, pixel by pixel, for the strides of a scene run (scale = stride / output_scale).
    for (double scale : {1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 0.5, 1.5}) {
        for (int64_t out : {1, 31, 64, 777}) {
            const int64_t layer = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(out / scale)));
            for (int64_t block : {1, 7, 64, 256}) {
                for (int64_t x0 = 0; x0 < out; x0 += block) {
                    const int64_t w = std::min(block, out - x0);
                    int64_t first = layer, last = -1;
                    for (int64_t x = x0; x < x0 + w; ++x) {
                        const double src = std::max(0.0, (x + 0.5) / scale - 0.5);
                        const int64_t lo = std::min(static_cast<int64_t>(std::floor(src)), layer - 1);
                        const int64_t hi = std::min(lo + 1, layer - 1);
                        first = std::min(first, lo);
                        last = std::max(last, hi);  // read even when its weight is 0
                    }
                    INFO("scale " << scale << ", " << out << " px, block " << x0 << "+" << w);
                    const LayerSpan span = bilinear_source_span(x0, w, scale, layer);
                    CHECK(span.first == first);
                    CHECK(span.last == last);
                }
            }
        }
    }
    CHECK_THROWS_WITH(bilinear_source_span(0, 0, 2.0, 10),
                      "bilinear_source_span: needs width >= 1, layer size >= 1 and a finite positive scale");
}

TEST_CASE("a window reading outside its source names the missing pixels", "[combine]") {
    const Map source = random_map(2, 2, 4);  // layer pixels 3..4 x 0..1 of a 7 x 5 layer
    CHECK_THROWS_WITH(upsample_bilinear_window(source, 3, 0, 7, 5, 32.0, 32.0, 96, 0, 64, 16),
                      "bilinear window: full-resolution x 96 needs layer x 2..3 but the source holds layer x 3..4");
    CHECK_NOTHROW(upsample_bilinear_window(source, 3, 0, 7, 5, 32.0, 32.0, 112, 0, 32, 16));
}

TEST_CASE("weight presets and explicit lists", "[combine]") {
    CHECK(parse_weights("equal", 5) == std::vector<double>{1, 1, 1, 1, 1});
    CHECK(parse_weights("ramp", 5) == std::vector<double>{1, 2, 3, 4, 5});
    CHECK(parse_weights("ramp", 3) == std::vector<double>{1, 2, 3});
    CHECK(parse_weights("prior", 5) == std::vector<double>{0.18, 0.15, 0.37, 0.40, 0.72});
    CHECK(parse_weights("1, 0.5,2", 3) == std::vector<double>{1, 0.5, 2});
    CHECK_THROWS_WITH(parse_weights("w1,w2", 5), "weights 'w1,w2': 'w1' is not a number (expected equal, ramp, "
                                                 "prior or a comma list of numbers)");
    CHECK_THROWS_WITH(parse_weights("1,2", 5), "weights '1,2' give 2 values but the model has 5 taps");
    CHECK_THROWS_AS(parse_weights("1,2", 5), std::invalid_argument);
    CHECK_THROWS_WITH(parse_weights("prior", 4),
                      "weights 'prior' are the paper's 5 values for ResNet-50's 5 taps but the model has 4 "
                      "taps; use equal, ramp or an explicit list");
    CHECK_THROWS_WITH(parse_weights("1,-2,3", 3), "weights '1,-2,3': weight 2 is -2; weights must be finite and >= 0");
    CHECK_THROWS_WITH(parse_weights("0,0", 2), "weights '0,0' are all zero");
    CHECK_THROWS_WITH(parse_weights("1,,2", 3), Catch::Contains("'' is not a number"));
    CHECK_THROWS_WITH(parse_weights("1,2x", 2), Catch::Contains("'2x' is not a number"));
}

TEST_CASE("combine is the weighted average", "[combine]") {
    const Map a = make_map(2, 1, {0.0f, 1.0f}), b = make_map(2, 1, {1.0f, 0.5f});
    const Map c = combine({a, b}, {1.0, 3.0});
    CHECK(c.values[0] == Approx(0.75f));
    CHECK(c.values[1] == Approx(0.625f));
    CHECK_THROWS_WITH(combine({a, make_map(1, 2, {0, 0})}, {1, 1}), "combine: map 2 is 1 x 2 but map 1 is 2 x 1");
    CHECK_THROWS_AS(combine({a, b}, {1.0}), std::invalid_argument);
}
