// Tile grid + padding together: pasting each tile's layer_crop into scene-level layer maps (what
// pass 1's stitch stage does) reproduces the whole-scene computation bit for bit, for a "model"
// whose layer pixel depends only on the input pixels it covers (average pooling), with reflect
// padding at the scene edges. Kept from the removed SceneStitcher tests.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "saliency/Map.hpp"
#include "tiling/Padding.hpp"
#include "tiling/TileGrid.hpp"

using namespace satsal;

namespace {

Map average_pool(const std::vector<float>& image, int64_t width, int64_t height, int64_t stride) {
    Map out(width / stride, height / stride);
    for (int64_t j = 0; j < out.height; ++j)
        for (int64_t i = 0; i < out.width; ++i) {
            float sum = 0.0f;
            for (int64_t y = 0; y < stride; ++y)
                for (int64_t x = 0; x < stride; ++x)
                    sum += image[static_cast<size_t>((j * stride + y) * width + i * stride + x)];
            out.at(i, j) = sum / static_cast<float>(stride * stride);
        }
    return out;
}

std::vector<float> synthetic_scene(int64_t width, int64_t height) {
    std::vector<float> scene(static_cast<size_t>(width * height));
    uint32_t state = 12345u;
    for (float& v : scene) {
        state = state * 1664525u + 1013904223u;
        v = static_cast<float>(state >> 8) / 16777216.0f;
    }
    return scene;
}

std::vector<float> read_window(const std::vector<float>& scene, int64_t scene_width, const Window& w) {
    std::vector<float> out;
    out.reserve(static_cast<size_t>(w.area()));
    for (int64_t y = w.y; y < w.y_end(); ++y)
        for (int64_t x = w.x; x < w.x_end(); ++x) out.push_back(scene[static_cast<size_t>(y * scene_width + x)]);
    return out;
}

}  // namespace

TEST_CASE("tiled average pooling with reflect padding, stitched by layer_crop, equals the whole-scene pass",
          "[tiling][grid][pad]") {
    const std::vector<int64_t> strides{2, 4, 8, 16, 32};
    const int64_t width = 1000, height = 777;
    const std::vector<float> scene = synthetic_scene(width, height);
    const Window scene_window{0, 0, width, height};
    const TileGrid grid(width, height, TileGridOptions{256, 64, 32});
    std::vector<Map> stitched;
    for (int64_t s : strides) stitched.emplace_back(grid.layer_width(s), grid.layer_height(s), -1.0f);
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile tile = grid.tile(i);
        const PadPlan plan = plan_padded_window(tile.input, scene_window, PadRule::reflect);
        const std::vector<float> source = read_window(scene, width, plan.source);
        const PaddedWindow input = pad_window(plan, PlanarView{source.data(), 1, plan.source});
        for (std::size_t k = 0; k < strides.size(); ++k) {
            const Map map = average_pool(input.values, tile.input.width, tile.input.height, strides[k]);
            const LayerCrop crop = grid.layer_crop(tile, strides[k]);
            for (int64_t y = 0; y < crop.source.height; ++y)
                for (int64_t x = 0; x < crop.source.width; ++x)
                    stitched[k].at(crop.target.x + x, crop.target.y + y) = map.at(crop.source.x + x, crop.source.y + y);
        }
    }
    for (std::size_t k = 0; k < strides.size(); ++k) {
        const int64_t s = strides[k];
        // Whole scene, padded (reflect) up to a multiple of the stride, pooled in one go.
        const Window padded{0, 0, grid.layer_width(s) * s, grid.layer_height(s) * s};
        const PadPlan plan = plan_padded_window(padded, scene_window, PadRule::reflect);
        REQUIRE(plan.source == scene_window);
        const PaddedWindow whole_input = pad_window(plan, PlanarView{scene.data(), 1, scene_window});
        const Map whole = average_pool(whole_input.values, padded.width, padded.height, s);
        INFO("stride " << s);
        REQUIRE(stitched[k].values == whole.values);
    }
}
