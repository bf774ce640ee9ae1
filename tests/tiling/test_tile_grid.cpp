#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

#include "tiling/TileGrid.hpp"

using namespace satsal;

namespace {

int64_t positive_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

// Counts how many tile cores cover each scene pixel; every count must be exactly 1.
void check_scene_ownership(const TileGrid& grid) {
    std::vector<int> owners(static_cast<size_t>(grid.scene_width() * grid.scene_height()), 0);
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile t = grid.tile(i);
        REQUIRE(t.index == i);
        REQUIRE(t.index == t.row * grid.columns() + t.column);
        REQUIRE(grid.scene().contains(t.core));
        REQUIRE_FALSE(t.core.empty());
        for (int64_t y = t.core.y; y < t.core.y_end(); ++y)
            for (int64_t x = t.core.x; x < t.core.x_end(); ++x)
                ++owners[static_cast<size_t>(y * grid.scene_width() + x)];
    }
    int64_t wrong = 0;
    for (int c : owners) wrong += c != 1 ? 1 : 0;
    REQUIRE(wrong == 0);
}

// Same for the scene's layer grid at `stride`, plus the source side of every crop.
void check_layer_ownership(const TileGrid& grid, int64_t stride) {
    const int64_t lw = grid.layer_width(stride);
    const int64_t lh = grid.layer_height(stride);
    REQUIRE(lw == (grid.scene_width() + stride - 1) / stride);
    REQUIRE(lh == (grid.scene_height() + stride - 1) / stride);
    const int64_t map_size = grid.layer_map_size(stride);
    REQUIRE(map_size * stride == grid.input_size());
    const Window map_window{0, 0, map_size, map_size};
    std::vector<int> owners(static_cast<size_t>(lw * lh), 0);
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile t = grid.tile(i);
        const LayerCrop crop = grid.layer_crop(t, stride);
        REQUIRE(crop.stride == stride);
        REQUIRE(crop.source.width == crop.target.width);
        REQUIRE(crop.source.height == crop.target.height);
        REQUIRE(map_window.contains(crop.source));
        // The tile's layer pixel (source) and the scene layer pixel (target) cover the same scene
        // pixels: input origin + source * s == target * s.
        REQUIRE(t.input.x + crop.source.x * stride == crop.target.x * stride);
        REQUIRE(t.input.y + crop.source.y * stride == crop.target.y * stride);
        REQUIRE(crop.target.y >= grid.layer_row_begin(t.row, stride));
        REQUIRE(crop.target.y_end() == grid.layer_row_end(t.row, stride));
        for (int64_t y = crop.target.y; y < crop.target.y_end(); ++y)
            for (int64_t x = crop.target.x; x < crop.target.x_end(); ++x) {
                REQUIRE(x < lw);
                REQUIRE(y < lh);
                ++owners[static_cast<size_t>(y * lw + x)];
            }
    }
    int64_t wrong = 0;
    for (int c : owners) wrong += c != 1 ? 1 : 0;
    REQUIRE(wrong == 0);
}

}  // namespace

TEST_CASE("1000 x 777 scene, tile 256, margin 64: every pixel owned once", "[tiling][grid]") {
    const TileGrid grid(1000, 777, TileGridOptions{256, 64, 32});
    REQUIRE(grid.columns() == 4);
    REQUIRE(grid.rows() == 4);
    REQUIRE(grid.tile_count() == 16);
    REQUIRE(grid.input_size() == 384);
    check_scene_ownership(grid);

    // Last column and row are the partial ones, none dropped.
    const Tile corner = grid.tile(15);
    REQUIRE(corner.column == 3);
    REQUIRE(corner.row == 3);
    REQUIRE(corner.core == Window{768, 768, 232, 9});
    REQUIRE(corner.read == Window{704, 704, 360, 137});
    REQUIRE(corner.input == Window{704, 704, 384, 384});

    const Tile first = grid.tile(0);
    REQUIRE(first.core == Window{0, 0, 256, 256});
    REQUIRE(first.read == Window{-64, -64, 384, 384});
    REQUIRE(first.input == Window{-64, -64, 384, 384});

    const Tile t6 = grid.tile(2, 1);
    REQUIRE(t6.index == 6);
    REQUIRE(t6.core == Window{512, 256, 256, 256});
    REQUIRE(t6.input == Window{448, 192, 384, 384});

    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile t = grid.tile(i);
        REQUIRE(t.input.width == 384);
        REQUIRE(t.input.height == 384);
        REQUIRE(t.input.contains(t.read));
        REQUIRE(positive_mod(t.input.x, 32) == 0);
        REQUIRE(positive_mod(t.input.y, 32) == 0);
        REQUIRE(t.core.x % 32 == 0);
        REQUIRE(t.core.y % 32 == 0);
    }
}

TEST_CASE("1000 x 777: every layer pixel owned once at strides 1..32", "[tiling][grid]") {
    const TileGrid grid(1000, 777, TileGridOptions{256, 64, 32});
    for (int64_t stride : {1, 2, 4, 8, 16, 32}) {
        INFO("stride " << stride);
        check_layer_ownership(grid, stride);
    }
    // The partial last layer pixels (1000 / 32 = 31.25, 777 / 32 = 24.3) go to the edge tiles.
    REQUIRE(grid.layer_width(32) == 32);
    REQUIRE(grid.layer_height(32) == 25);
    const LayerCrop crop = grid.layer_crop(grid.tile(15), 32);
    REQUIRE(crop.target == Window{24, 24, 8, 1});
    REQUIRE(crop.source == Window{2, 2, 8, 1});
    const LayerCrop crop2 = grid.layer_crop(grid.tile(15), 2);
    REQUIRE(crop2.target == Window{384, 384, 116, 5});
    REQUIRE(crop2.source == Window{32, 32, 116, 5});
}

TEST_CASE("a scene smaller than one tile is one tile", "[tiling][grid]") {
    const TileGrid grid(100, 60, TileGridOptions{256, 64, 32});
    REQUIRE(grid.tile_count() == 1);
    const Tile t = grid.tile(0);
    REQUIRE(t.core == Window{0, 0, 100, 60});
    REQUIRE(t.read == Window{-64, -64, 228, 188});
    REQUIRE(t.input == Window{-64, -64, 384, 384});
    check_scene_ownership(grid);
    for (int64_t stride : {1, 2, 4, 8, 16, 32}) {
        INFO("stride " << stride);
        check_layer_ownership(grid, stride);
    }
    const LayerCrop crop = grid.layer_crop(t, 32);
    REQUIRE(crop.target == Window{0, 0, 4, 2});
    REQUIRE(crop.source == Window{2, 2, 4, 2});
}

TEST_CASE("odd sizes, zero margin and exact multiples", "[tiling][grid]") {
    for (auto dims : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {33, 31}, {512, 512}, {513, 1}, {97, 1025}}) {
        for (int64_t margin : {0, 32, 96}) {
            INFO(dims.first << " x " << dims.second << " margin " << margin);
            const TileGrid grid(dims.first, dims.second, TileGridOptions{64, margin, 32});
            check_scene_ownership(grid);
            for (int64_t stride : {2, 8, 32}) check_layer_ownership(grid, stride);
        }
    }
}

TEST_CASE("a 100k x 100k scene costs nothing to describe", "[tiling][grid]") {
    const TileGrid grid(100000, 100000, TileGridOptions{});
    REQUIRE(grid.tile_size() == 512);
    REQUIRE(grid.margin() == 128);
    REQUIRE(grid.columns() == 196);
    REQUIRE(grid.tile_count() == 196 * 196);
    const Tile last = grid.tile(grid.tile_count() - 1);
    REQUIRE(last.core == Window{99840, 99840, 160, 160});
    REQUIRE(grid.layer_crop(last, 32).target == Window{3120, 3120, 5, 5});
    REQUIRE(grid.layer_width(32) == 3125);
}

TEST_CASE("tile size, margin and stride must line up", "[tiling][grid]") {
    REQUIRE_THROWS_WITH(TileGrid(1000, 1000, TileGridOptions{500, 64, 32}),
                        "tile_size 500 is not a multiple of the model's deepest stride 32");
    REQUIRE_THROWS_WITH(TileGrid(1000, 1000, TileGridOptions{512, 20, 32}),
                        "margin 20 is not a multiple of the model's deepest stride 32");
    REQUIRE_THROWS_WITH(TileGrid(1000, 1000, TileGridOptions{512, -32, 32}),
                        "margin must not be negative, got -32");
    REQUIRE_THROWS_WITH(TileGrid(1000, 1000, TileGridOptions{0, 32, 32}),
                        "tile_size must be positive, got 0");
    REQUIRE_THROWS_WITH(TileGrid(0, 10, TileGridOptions{}), "tile grid: scene size 0 x 10 is empty");
    REQUIRE_THROWS_AS(TileGrid(10, 10, TileGridOptions{64, 0, 0}), std::invalid_argument);
    // 48 / 16 both fine for a stride-16 model.
    REQUIRE_NOTHROW(TileGrid(1000, 1000, TileGridOptions{48, 16, 16}));

    const TileGrid grid(1000, 777, TileGridOptions{256, 64, 32});
    REQUIRE_THROWS_WITH(grid.layer_crop(grid.tile(0), 3),
                        "layer stride 3 does not divide the model's deepest stride 32, so its grid "
                        "would not line up across tiles");
    REQUIRE_THROWS_WITH(grid.layer_width(64),
                        "layer stride 64 does not divide the model's deepest stride 32, so its grid "
                        "would not line up across tiles");
    REQUIRE_THROWS_WITH(grid.tile(16), "tile index 16 is outside the grid of 16 tiles (4 x 4)");
    REQUIRE_THROWS_AS(grid.tile(4, 0), std::out_of_range);
}
