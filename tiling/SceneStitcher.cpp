#include "tiling/SceneStitcher.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace satsal {

SceneStitcher::SceneStitcher(const TileGrid& grid, std::vector<int64_t> strides, Sink sink)
    : SceneStitcher(grid, std::move(strides), std::move(sink), Options{}) {}

SceneStitcher::SceneStitcher(const TileGrid& grid, std::vector<int64_t> strides, Sink sink,
                             Options options)
    : grid_(grid), strides_(std::move(strides)), sink_(std::move(sink)), options_(options) {
    if (strides_.empty()) {
        throw std::invalid_argument("scene stitcher: no layer strides given");
    }
    for (int64_t stride : strides_) grid_.check_layer_stride(stride);
    if (!sink_) {
        throw std::invalid_argument("scene stitcher: no sink given for the stitched rows");
    }
    if (options_.max_rows_buffered < 0) {
        throw std::invalid_argument("scene stitcher: max_rows_buffered " +
                                    std::to_string(options_.max_rows_buffered) + " is negative");
    }
}

SceneStitcher::RowBuffer& SceneStitcher::row_buffer(int64_t tile_index, int64_t row, int64_t column) {
    if (row < next_row_) {
        throw std::logic_error("scene stitcher: tile " + std::to_string(tile_index) +
                               " arrived after its tile row " + std::to_string(row) +
                               " was already emitted (tile given twice?)");
    }
    auto found = pending_.find(row);
    if (found == pending_.end()) {
        if (options_.max_rows_buffered > 0 &&
            static_cast<int64_t>(pending_.size()) >= options_.max_rows_buffered) {
            throw std::logic_error("scene stitcher: tile " + std::to_string(tile_index) +
                                   " opens tile row " + std::to_string(row) + " while " +
                                   std::to_string(pending_.size()) +
                                   " rows are already buffered (limit " +
                                   std::to_string(options_.max_rows_buffered) +
                                   "); waiting for tile row " + std::to_string(next_row_));
        }
        RowBuffer buffer;
        buffer.received.assign(static_cast<size_t>(grid_.columns()), false);
        for (int64_t stride : strides_) {
            LayerRows layer;
            layer.stride = stride;
            layer.y0 = grid_.layer_row_begin(row, stride);
            const int64_t height = grid_.layer_row_end(row, stride) - layer.y0;
            layer.rows = Map(grid_.layer_width(stride), height, options_.empty_value);
            buffered_floats_ += layer.rows.size();
            buffer.layers.push_back(std::move(layer));
        }
        found = pending_.emplace(row, std::move(buffer)).first;
        peak_rows_ = std::max(peak_rows_, static_cast<int64_t>(pending_.size()));
        peak_floats_ = std::max(peak_floats_, buffered_floats_);
    }
    if (found->second.received[static_cast<size_t>(column)]) {
        throw std::logic_error("scene stitcher: tile " + std::to_string(tile_index) +
                               " was given twice");
    }
    return found->second;
}

void SceneStitcher::add_tile(int64_t tile_index, const std::vector<MapView>& layers) {
    const Tile tile = grid_.tile(tile_index);
    if (layers.size() != strides_.size()) {
        throw std::invalid_argument("scene stitcher: tile " + std::to_string(tile_index) + " has " +
                                    std::to_string(layers.size()) + " layer maps, expected " +
                                    std::to_string(strides_.size()));
    }
    for (size_t k = 0; k < layers.size(); ++k) {
        const int64_t expected = grid_.layer_map_size(strides_[k]);
        if (layers[k].width != expected || layers[k].height != expected || layers[k].data == nullptr) {
            throw std::invalid_argument(
                "scene stitcher: tile " + std::to_string(tile_index) + " window " +
                tile.input.to_string() + " layer " + std::to_string(k + 1) + " (stride " +
                std::to_string(strides_[k]) + "): map is " + std::to_string(layers[k].width) +
                " x " + std::to_string(layers[k].height) + ", expected " + std::to_string(expected) +
                " x " + std::to_string(expected) + " (input " + std::to_string(grid_.input_size()) +
                " / stride)");
        }
    }
    RowBuffer& buffer = row_buffer(tile_index, tile.row, tile.column);
    for (size_t k = 0; k < layers.size(); ++k) {
        const LayerCrop crop = grid_.layer_crop(tile, strides_[k]);
        LayerRows& target = buffer.layers[k];
        for (int64_t y = 0; y < crop.target.height; ++y) {
            const float* src = layers[k].data + (crop.source.y + y) * layers[k].width + crop.source.x;
            float* dst = &target.rows.at(crop.target.x, crop.target.y + y - target.y0);
            std::copy(src, src + crop.target.width, dst);
        }
    }
    tile_done(tile.row, buffer, tile.column);
}

void SceneStitcher::add_empty_tile(int64_t tile_index) {
    const Tile tile = grid_.tile(tile_index);
    RowBuffer& buffer = row_buffer(tile_index, tile.row, tile.column);
    for (size_t k = 0; k < strides_.size(); ++k) {
        const LayerCrop crop = grid_.layer_crop(tile, strides_[k]);
        LayerRows& target = buffer.layers[k];
        for (int64_t y = 0; y < crop.target.height; ++y) {
            float* dst = &target.rows.at(crop.target.x, crop.target.y + y - target.y0);
            std::fill(dst, dst + crop.target.width, options_.empty_value);
        }
    }
    tile_done(tile.row, buffer, tile.column);
}

void SceneStitcher::tile_done(int64_t row, RowBuffer& buffer, int64_t column) {
    buffer.received[static_cast<size_t>(column)] = true;
    ++buffer.tiles_received;
    if (row == next_row_ && buffer.tiles_received == grid_.columns()) emit_ready_rows();
}

void SceneStitcher::emit_ready_rows() {
    while (!pending_.empty()) {
        auto first = pending_.begin();
        if (first->first != next_row_ || first->second.tiles_received != grid_.columns()) return;
        StitchedTileRow out;
        out.tile_row = next_row_;
        out.last = next_row_ + 1 == grid_.rows();
        out.layers = std::move(first->second.layers);
        for (const LayerRows& layer : out.layers) buffered_floats_ -= layer.rows.size();
        pending_.erase(first);
        ++next_row_;
        sink_(std::move(out));
    }
}

void SceneStitcher::finish() {
    if (complete()) return;
    std::string missing;
    int64_t listed = 0;
    int64_t total_missing = 0;
    for (int64_t row = next_row_; row < grid_.rows(); ++row) {
        auto found = pending_.find(row);
        for (int64_t column = 0; column < grid_.columns(); ++column) {
            const bool received =
                found != pending_.end() && found->second.received[static_cast<size_t>(column)];
            if (received) continue;
            ++total_missing;
            if (listed < 8) {
                missing += (listed ? ", " : "") + std::to_string(row * grid_.columns() + column);
                ++listed;
            }
        }
    }
    throw std::runtime_error("scene stitcher: " + std::to_string(total_missing) + " of " +
                             std::to_string(grid_.tile_count()) +
                             " tiles never arrived (first: " + missing + "); " +
                             std::to_string(next_row_) + " of " + std::to_string(grid_.rows()) +
                             " tile rows were written");
}

}  // namespace satsal
