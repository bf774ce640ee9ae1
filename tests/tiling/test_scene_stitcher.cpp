#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tiling/Padding.hpp"
#include "tiling/SceneStitcher.hpp"

using namespace satsal;

namespace {

const std::vector<int64_t> kStrides{2, 4, 8, 16, 32};

// A value that identifies a scene layer pixel (X, Y) at a stride; exact in float.
float identity_value(int64_t x, int64_t y, int64_t stride) {
    return static_cast<float>(x + 1000 * y + 100000 * stride);
}

// Collects the emitted rows into whole scene layer maps and checks their order.
struct Collector {
    std::vector<Map> layers;
    std::vector<int64_t> next_y;
    int64_t rows_seen = 0;
    bool saw_last = false;

    explicit Collector(const TileGrid& grid, const std::vector<int64_t>& strides) {
        for (int64_t s : strides) {
            layers.emplace_back(grid.layer_width(s), grid.layer_height(s), -1.0f);
            next_y.push_back(0);
        }
    }

    void operator()(StitchedTileRow&& row) {
        REQUIRE(row.tile_row == rows_seen);
        REQUIRE_FALSE(saw_last);
        saw_last = row.last;
        ++rows_seen;
        REQUIRE(row.layers.size() == layers.size());
        for (size_t k = 0; k < layers.size(); ++k) {
            const LayerRows& band = row.layers[k];
            REQUIRE(band.y0 == next_y[k]);  // contiguous, in order, nothing skipped
            REQUIRE(band.rows.width == layers[k].width);
            for (int64_t y = 0; y < band.rows.height; ++y)
                for (int64_t x = 0; x < band.rows.width; ++x)
                    layers[k].at(x, band.y0 + y) = band.rows.at(x, y);
            next_y[k] += band.rows.height;
        }
    }
};

// The tile's layer map at `stride`, as an identity-like model would compute it on tile.input.
Map identity_tile_map(const TileGrid& grid, const Tile& tile, int64_t stride) {
    const int64_t n = grid.layer_map_size(stride);
    Map map(n, n);
    for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < n; ++i)
            map.at(i, j) = identity_value(tile.input.x / stride + i, tile.input.y / stride + j, stride);
    return map;
}

void feed_identity(SceneStitcher& stitcher, const TileGrid& grid, int64_t index) {
    const Tile tile = grid.tile(index);
    std::vector<Map> maps;
    for (int64_t s : stitcher.strides()) maps.push_back(identity_tile_map(grid, tile, s));
    stitcher.add_tile(index, std::vector<MapView>(maps.begin(), maps.end()));
}

// Average pooling over s x s blocks: a "model" whose layer pixel depends only on the input pixels
// it covers, so tiled and whole computation must agree bit for bit.
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

// Reads a scene window (inside the scene) as a planar single-band array.
std::vector<float> read_window(const std::vector<float>& scene, int64_t scene_width, const Window& w) {
    std::vector<float> out;
    out.reserve(static_cast<size_t>(w.area()));
    for (int64_t y = w.y; y < w.y_end(); ++y)
        for (int64_t x = w.x; x < w.x_end(); ++x) out.push_back(scene[static_cast<size_t>(y * scene_width + x)]);
    return out;
}

}  // namespace

TEST_CASE("stitching identity-like tile maps reproduces the scene grid, one row at a time",
          "[tiling][stitch]") {
    for (auto dims : std::vector<std::pair<int64_t, int64_t>>{{1000, 777}, {100, 60}}) {
        INFO(dims.first << " x " << dims.second);
        const TileGrid grid(dims.first, dims.second, TileGridOptions{256, 64, 32});
        Collector collector(grid, kStrides);
        int64_t largest_row_floats = 0;
        for (int64_t r = 0; r < grid.rows(); ++r) {
            int64_t floats = 0;
            for (int64_t s : kStrides)
                floats += grid.layer_width(s) * (grid.layer_row_end(r, s) - grid.layer_row_begin(r, s));
            largest_row_floats = std::max(largest_row_floats, floats);
        }
        SceneStitcher stitcher(grid, kStrides, [&](StitchedTileRow&& row) {
            // While a row is being emitted the stitcher holds nothing else.
            REQUIRE(stitcher.rows_buffered() == 0);
            collector(std::move(row));
        });
        for (int64_t i = 0; i < grid.tile_count(); ++i) {
            feed_identity(stitcher, grid, i);
            // A row goes out as soon as its last tile arrives.
            REQUIRE(stitcher.rows_emitted() == (i + 1) / grid.columns());
        }
        stitcher.finish();
        REQUIRE(stitcher.complete());
        REQUIRE(collector.rows_seen == grid.rows());
        REQUIRE(collector.saw_last);
        REQUIRE(stitcher.peak_rows_buffered() == 1);
        REQUIRE(stitcher.peak_buffered_floats() == largest_row_floats);
        for (size_t k = 0; k < kStrides.size(); ++k) {
            const int64_t s = kStrides[k];
            REQUIRE(collector.next_y[k] == grid.layer_height(s));
            int64_t mismatches = 0;
            for (int64_t y = 0; y < grid.layer_height(s); ++y)
                for (int64_t x = 0; x < grid.layer_width(s); ++x)
                    mismatches += collector.layers[k].at(x, y) != identity_value(x, y, s) ? 1 : 0;
            INFO("stride " << s);
            REQUIRE(mismatches == 0);
        }
    }
}

TEST_CASE("tiled average pooling with reflect padding equals the whole-scene pass exactly",
          "[tiling][stitch][pad]") {
    const int64_t width = 1000, height = 777;
    const std::vector<float> scene = synthetic_scene(width, height);
    const Window scene_window{0, 0, width, height};
    const TileGrid grid(width, height, TileGridOptions{256, 64, 32});
    Collector collector(grid, kStrides);
    SceneStitcher stitcher(grid, kStrides, [&](StitchedTileRow&& row) { collector(std::move(row)); });
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile tile = grid.tile(i);
        const PadPlan plan = plan_padded_window(tile.input, scene_window, PadRule::reflect);
        const std::vector<float> source = read_window(scene, width, plan.source);
        const PaddedWindow input = pad_window(plan, PlanarView{source.data(), 1, plan.source});
        std::vector<Map> maps;
        for (int64_t s : kStrides) maps.push_back(average_pool(input.values, tile.input.width, tile.input.height, s));
        stitcher.add_tile(i, std::vector<MapView>(maps.begin(), maps.end()));
    }
    stitcher.finish();
    for (size_t k = 0; k < kStrides.size(); ++k) {
        const int64_t s = kStrides[k];
        // Whole scene, padded (reflect) up to a multiple of the stride, pooled in one go.
        const Window padded{0, 0, grid.layer_width(s) * s, grid.layer_height(s) * s};
        const PadPlan plan = plan_padded_window(padded, scene_window, PadRule::reflect);
        REQUIRE(plan.source == scene_window);
        const PaddedWindow whole_input = pad_window(plan, PlanarView{scene.data(), 1, scene_window});
        const Map whole = average_pool(whole_input.values, padded.width, padded.height, s);
        INFO("stride " << s);
        REQUIRE(collector.layers[k].values == whole.values);
    }
}

TEST_CASE("tiles of a later row may arrive early; rows still leave in order", "[tiling][stitch]") {
    const TileGrid grid(1000, 777, TileGridOptions{256, 64, 32});  // 4 x 4 tiles
    const std::vector<int64_t> strides{32};
    Collector collector(grid, strides);
    SceneStitcher stitcher(grid, strides, [&](StitchedTileRow&& row) { collector(std::move(row)); });
    const std::vector<int64_t> order{0, 1, 4, 5, 2, 6, 3, 7, 8, 9, 10, 11, 15, 14, 13, 12};
    for (int64_t i : order) feed_identity(stitcher, grid, i);
    stitcher.finish();
    REQUIRE(collector.rows_seen == 4);
    REQUIRE(stitcher.peak_rows_buffered() == 2);
    for (int64_t y = 0; y < grid.layer_height(32); ++y)
        for (int64_t x = 0; x < grid.layer_width(32); ++x) REQUIRE(collector.layers[0].at(x, y) == identity_value(x, y, 32));

    SceneStitcher capped(grid, strides, [](StitchedTileRow&&) {}, SceneStitcher::Options{0.0f, 1});
    feed_identity(capped, grid, 0);
    REQUIRE_THROWS_WITH(feed_identity(capped, grid, 4),
                        "scene stitcher: tile 4 opens tile row 1 while 1 rows are already buffered "
                        "(limit 1); waiting for tile row 0");
}

TEST_CASE("empty tiles, duplicates, wrong sizes and missing tiles", "[tiling][stitch]") {
    const TileGrid grid(100, 60, TileGridOptions{32, 32, 32});  // 4 x 2 tiles, input 96
    const std::vector<int64_t> strides{4, 32};
    Collector collector(grid, strides);
    SceneStitcher stitcher(grid, strides, [&](StitchedTileRow&& row) { collector(std::move(row)); });
    for (int64_t i = 0; i < 8; ++i) {
        if (i == 5) {
            stitcher.add_empty_tile(i);
        } else {
            feed_identity(stitcher, grid, i);
        }
    }
    stitcher.finish();
    // Tile 5 = column 1, row 1: scene x 32..63, y 32..59 -> stride 4 grid x 8..15, y 8..14.
    for (int64_t y = 0; y < 15; ++y)
        for (int64_t x = 0; x < 25; ++x) {
            const bool in_empty = x >= 8 && x < 16 && y >= 8;
            if (in_empty) {
                REQUIRE(std::isnan(collector.layers[0].at(x, y)));
            } else {
                REQUIRE(collector.layers[0].at(x, y) == identity_value(x, y, 4));
            }
        }
    REQUIRE(std::isnan(collector.layers[1].at(1, 1)));
    REQUIRE(collector.layers[1].at(0, 1) == identity_value(0, 1, 32));

    SceneStitcher strict(grid, strides, [](StitchedTileRow&&) {});
    feed_identity(strict, grid, 0);
    REQUIRE_THROWS_WITH(feed_identity(strict, grid, 0), "scene stitcher: tile 0 was given twice");
    Map small(10, 10);
    Map right(3, 3);
    REQUIRE_THROWS_WITH(strict.add_tile(1, {MapView(small), MapView(right)}),
                        "scene stitcher: tile 1 window x=0,y=-32,w=96,h=96 layer 1 (stride 4): map is "
                        "10 x 10, expected 24 x 24 (input 96 / stride)");
    REQUIRE_THROWS_WITH(strict.add_tile(1, {MapView(small)}),
                        "scene stitcher: tile 1 has 1 layer maps, expected 2");
    for (int64_t i = 1; i < 4; ++i) feed_identity(strict, grid, i);
    REQUIRE_THROWS_WITH(feed_identity(strict, grid, 2),
                        "scene stitcher: tile 2 arrived after its tile row 0 was already emitted "
                        "(tile given twice?)");
    feed_identity(strict, grid, 6);
    REQUIRE_THROWS_WITH(strict.finish(),
                        "scene stitcher: 3 of 8 tiles never arrived (first: 4, 5, 7); 1 of 2 tile "
                        "rows were written");
    REQUIRE_THROWS_AS(SceneStitcher(grid, {3}, [](StitchedTileRow&&) {}), std::invalid_argument);
    REQUIRE_THROWS_AS(SceneStitcher(grid, {}, [](StitchedTileRow&&) {}), std::invalid_argument);
}
