#include "tiling/TileGrid.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace satsal {

namespace {

void require_multiple(const char* name, int64_t value, int64_t stride) {
    if (value % stride != 0) {
        throw std::invalid_argument(std::string(name) + " " + std::to_string(value) +
                                    " is not a multiple of the model's deepest stride " +
                                    std::to_string(stride));
    }
}

}  // namespace

TileGrid::TileGrid(int64_t scene_width, int64_t scene_height, const TileGridOptions& options)
    : scene_width_(scene_width), scene_height_(scene_height), options_(options) {
    if (scene_width <= 0 || scene_height <= 0) {
        throw std::invalid_argument("tile grid: scene size " + std::to_string(scene_width) + " x " +
                                    std::to_string(scene_height) + " is empty");
    }
    if (options.deepest_stride <= 0) {
        throw std::invalid_argument("tile grid: the model's deepest stride must be positive, got " +
                                    std::to_string(options.deepest_stride));
    }
    if (options.tile_size <= 0) {
        throw std::invalid_argument("tile_size must be positive, got " +
                                    std::to_string(options.tile_size));
    }
    if (options.margin < 0) {
        throw std::invalid_argument("margin must not be negative, got " +
                                    std::to_string(options.margin));
    }
    require_multiple("tile_size", options.tile_size, options.deepest_stride);
    require_multiple("margin", options.margin, options.deepest_stride);
    columns_ = ceil_div(scene_width, options.tile_size);
    rows_ = ceil_div(scene_height, options.tile_size);
}

Tile TileGrid::tile(int64_t index) const {
    if (index < 0 || index >= tile_count()) {
        throw std::out_of_range("tile index " + std::to_string(index) + " is outside the grid of " +
                                std::to_string(tile_count()) + " tiles (" +
                                std::to_string(columns_) + " x " + std::to_string(rows_) + ")");
    }
    return tile(index % columns_, index / columns_);
}

Tile TileGrid::tile(int64_t column, int64_t row) const {
    if (column < 0 || column >= columns_ || row < 0 || row >= rows_) {
        throw std::out_of_range("tile column " + std::to_string(column) + ", row " +
                                std::to_string(row) + " is outside the grid of " +
                                std::to_string(columns_) + " x " + std::to_string(rows_) + " tiles");
    }
    const int64_t size = options_.tile_size;
    const int64_t margin = options_.margin;
    Tile t;
    t.index = row * columns_ + column;
    t.column = column;
    t.row = row;
    t.core.x = column * size;
    t.core.y = row * size;
    t.core.width = std::min(size, scene_width_ - t.core.x);
    t.core.height = std::min(size, scene_height_ - t.core.y);
    t.read = Window{t.core.x - margin, t.core.y - margin, t.core.width + 2 * margin,
                    t.core.height + 2 * margin};
    t.input = Window{t.core.x - margin, t.core.y - margin, input_size(), input_size()};
    return t;
}

void TileGrid::check_layer_stride(int64_t stride) const {
    if (stride <= 0 || options_.deepest_stride % stride != 0) {
        throw std::invalid_argument("layer stride " + std::to_string(stride) +
                                    " does not divide the model's deepest stride " +
                                    std::to_string(options_.deepest_stride) +
                                    ", so its grid would not line up across tiles");
    }
}

int64_t TileGrid::layer_width(int64_t stride) const {
    check_layer_stride(stride);
    return ceil_div(scene_width_, stride);
}

int64_t TileGrid::layer_height(int64_t stride) const {
    check_layer_stride(stride);
    return ceil_div(scene_height_, stride);
}

int64_t TileGrid::layer_map_size(int64_t stride) const {
    check_layer_stride(stride);
    return input_size() / stride;
}

LayerCrop TileGrid::layer_crop(const Tile& tile, int64_t stride) const {
    check_layer_stride(stride);
    // Interior core edges are multiples of tile_size, hence of the stride: the divisions are exact
    // there, and the ceil at the scene edge gives the partial last layer pixel to the last tile.
    LayerCrop crop;
    crop.stride = stride;
    crop.target.x = tile.core.x / stride;
    crop.target.y = tile.core.y / stride;
    crop.target.width = ceil_div(tile.core.x_end(), stride) - crop.target.x;
    crop.target.height = ceil_div(tile.core.y_end(), stride) - crop.target.y;
    crop.source = Window{(tile.core.x - tile.input.x) / stride, (tile.core.y - tile.input.y) / stride,
                         crop.target.width, crop.target.height};
    return crop;
}

int64_t TileGrid::layer_row_begin(int64_t tile_row, int64_t stride) const {
    check_layer_stride(stride);
    return tile_row * options_.tile_size / stride;
}

int64_t TileGrid::layer_row_end(int64_t tile_row, int64_t stride) const {
    check_layer_stride(stride);
    return ceil_div(std::min(scene_height_, (tile_row + 1) * options_.tile_size), stride);
}

}  // namespace satsal
