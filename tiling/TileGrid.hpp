#pragma once
// Geometry of the tiles that cover a scene, and of their layer maps at every network stride.
//
// Thread rules: a TileGrid is immutable after construction; every member function is const and
// may be called from any number of threads at once. Tiles are computed on demand (O(1) each), so
// a 100k x 100k scene costs no memory here.
#include <cstdint>

#include "tiling/Window.hpp"

namespace satsal {

struct TileGridOptions {
    /// Side of a tile's core (the pixels it owns and writes). Multiple of deepest_stride.
    int64_t tile_size = 512;
    /// Context on each side of the core that the network sees but whose output is discarded.
    /// Multiple of deepest_stride. 128 is the smallest margin measured below 1% seam
    /// error on every ResNet-50 layer; the pipeline may override it (e.g. with choose_margin).
    int64_t margin = 128;
    /// The model's deepest stride (32 for ResNet-50). Tile origins and margins are multiples of it
    /// so that every layer's pixel grid lines up across tiles.
    int64_t deepest_stride = 32;
};

/// One tile of the grid, all windows in scene pixel coordinates.
struct Tile {
    int64_t index = 0;   ///< row-major: row * columns + column
    int64_t column = 0;
    int64_t row = 0;
    /// Pixels this tile owns, clipped to the scene. Cores partition the scene exactly.
    Window core;
    /// core expanded by `margin` on each side; may extend beyond the scene.
    Window read;
    /// What the network sees: origin (core.x - margin, core.y - margin), size input_size x
    /// input_size for every tile (so tiles batch together). Covers `read`; everything outside the
    /// scene is padded (see Padding.hpp).
    Window input;
};

/// Where a tile's layer map (computed by the network on tile.input, stride s) lands in the scene's
/// layer-s grid. `source` is in the tile's layer map (0,0 = its top-left pixel), `target` in the
/// scene's layer grid; both have the same size. Targets partition the scene's layer grid exactly.
struct LayerCrop {
    int64_t stride = 1;
    Window source;
    Window target;
};

class TileGrid {
public:
    /// Throws std::invalid_argument when the scene is empty, or tile_size / margin / deepest_stride
    /// are out of range, e.g. "tile_size 500 is not a multiple of the model's deepest stride 32".
    TileGrid(int64_t scene_width, int64_t scene_height, const TileGridOptions& options = {});

    int64_t scene_width() const { return scene_width_; }
    int64_t scene_height() const { return scene_height_; }
    Window scene() const { return Window{0, 0, scene_width_, scene_height_}; }
    const TileGridOptions& options() const { return options_; }
    int64_t tile_size() const { return options_.tile_size; }
    int64_t margin() const { return options_.margin; }
    int64_t deepest_stride() const { return options_.deepest_stride; }

    int64_t columns() const { return columns_; }
    int64_t rows() const { return rows_; }
    int64_t tile_count() const { return columns_ * rows_; }
    /// Side of every tile's network input: tile_size + 2 * margin.
    int64_t input_size() const { return options_.tile_size + 2 * options_.margin; }

    /// Throws std::out_of_range naming the index and the tile count.
    Tile tile(int64_t index) const;
    Tile tile(int64_t column, int64_t row) const;

    /// Scene-level grid of layer stride s: ceil(W / s) x ceil(H / s). The last column/row of a layer
    /// pixel may reach past the scene edge when W or H is not a multiple of s.
    int64_t layer_width(int64_t stride) const;
    int64_t layer_height(int64_t stride) const;
    /// Side of a tile's layer-s map: input_size / s.
    int64_t layer_map_size(int64_t stride) const;
    /// Which part of the tile's layer-s map is its core, and where that goes in the scene grid:
    /// target = [core.x / s, ceil(core.x_end / s)) (ceil only matters at the scene edge, because
    /// interior core edges are multiples of the stride), source = target shifted by margin / s.
    LayerCrop layer_crop(const Tile& tile, int64_t stride) const;
    /// Layer-s rows owned by the tiles of one tile row: [first, last).
    int64_t layer_row_begin(int64_t tile_row, int64_t stride) const;
    int64_t layer_row_end(int64_t tile_row, int64_t stride) const;

    /// Throws std::invalid_argument unless stride is a positive divisor of the deepest stride
    /// (only then does the layer grid line up across tiles).
    void check_layer_stride(int64_t stride) const;

private:
    int64_t scene_width_;
    int64_t scene_height_;
    TileGridOptions options_;
    int64_t columns_;
    int64_t rows_;
};

/// ceil(a / b) for a >= 0, b > 0.
inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace satsal
