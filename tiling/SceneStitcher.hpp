#pragma once
// Streams tile layer maps into scene-level layer maps, one completed row of tiles at a time.
//
// Each tile's layer maps (one per stride, computed on tile.input) contribute their core part
// (TileGrid::layer_crop) to a buffer holding the layer rows of that tile's row. As soon as every
// tile of a tile row has arrived, and all earlier tile rows have been emitted, the row band is handed
// to the sink and dropped. Memory is therefore O(rows in flight x scene width), never O(scene).
// Fed in tile-index order (e.g. behind a tbb::flow::sequencer_node), exactly one tile row is
// buffered at a time. Tiles of later rows may also arrive early; their rows wait in the buffer
// (optionally capped by Options::max_rows_buffered) until it is their turn.
//
// Thread rules: not thread-safe. Call add_tile / add_empty_tile / finish from one thread (the
// serial writer node); the sink runs synchronously on that thread, inside add_tile. If the sink
// or add_tile throws, the stitcher is left in an unspecified state and must be discarded.
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <vector>

#include "saliency/Map.hpp"
#include "tiling/TileGrid.hpp"

namespace satsal {

/// Read-only view of a row-major float map (e.g. a Map, or a tensor's contiguous data).
struct MapView {
    const float* data = nullptr;
    int64_t width = 0;
    int64_t height = 0;

    MapView() = default;
    MapView(const float* d, int64_t w, int64_t h) : data(d), width(w), height(h) {}
    MapView(const Map& map) : data(map.data()), width(map.width), height(map.height) {}  // NOLINT
};

/// A band of layer rows of the scene grid at one stride: rows [y0, y0 + rows.height) of the
/// scene's layer grid, full layer width.
struct LayerRows {
    int64_t stride = 1;
    int64_t y0 = 0;
    Map rows;
};

/// What the sink receives for each tile row, in tile-row order 0, 1, ..., rows - 1.
struct StitchedTileRow {
    int64_t tile_row = 0;
    bool last = false;                ///< the scene's final tile row
    std::vector<LayerRows> layers;    ///< in the order of the strides given to the stitcher
};

class SceneStitcher {
public:
    using Sink = std::function<void(StitchedTileRow&&)>;

    struct Options {
        /// Written into the core of tiles given to add_empty_tile (e.g. all-nodata tiles).
        float empty_value = std::numeric_limits<float>::quiet_NaN();
        /// Upper bound on tile rows held at once; exceeding it is std::logic_error (a producer that
        /// runs too far ahead). 0 = no bound.
        int64_t max_rows_buffered = 0;
    };

    /// strides: one per layer map, each a divisor of the grid's deepest stride. Throws
    /// std::invalid_argument on an empty stride list, a bad stride or a missing sink.
    SceneStitcher(const TileGrid& grid, std::vector<int64_t> strides, Sink sink);
    SceneStitcher(const TileGrid& grid, std::vector<int64_t> strides, Sink sink, Options options);

    /// layers[k] is the tile's layer map for strides[k], of size layer_map_size(strides[k]) square.
    /// Throws std::invalid_argument (wrong count or size) or std::logic_error (tile already given,
    /// or its row already emitted, or too many rows buffered), naming tile index and layer.
    void add_tile(int64_t tile_index, const std::vector<MapView>& layers);
    /// A tile skipped by the pipeline (no valid input pixel): its core becomes empty_value.
    void add_empty_tile(int64_t tile_index);
    /// Checks that every tile arrived and every row was emitted; throws std::runtime_error naming
    /// the first missing tiles otherwise.
    void finish();

    const TileGrid& grid() const { return grid_; }
    const std::vector<int64_t>& strides() const { return strides_; }
    int64_t rows_emitted() const { return next_row_; }
    int64_t rows_buffered() const { return static_cast<int64_t>(pending_.size()); }
    bool complete() const { return next_row_ == grid_.rows(); }
    /// Peak number of tile rows held at once, and the peak number of floats they held.
    int64_t peak_rows_buffered() const { return peak_rows_; }
    int64_t peak_buffered_floats() const { return peak_floats_; }

private:
    struct RowBuffer {
        std::vector<LayerRows> layers;
        std::vector<bool> received;
        int64_t tiles_received = 0;
    };

    RowBuffer& row_buffer(int64_t tile_index, int64_t row, int64_t column);
    void tile_done(int64_t row, RowBuffer& buffer, int64_t column);
    void emit_ready_rows();

    TileGrid grid_;
    std::vector<int64_t> strides_;
    Sink sink_;
    Options options_;
    std::map<int64_t, RowBuffer> pending_;
    int64_t next_row_ = 0;
    int64_t buffered_floats_ = 0;
    int64_t peak_rows_ = 0;
    int64_t peak_floats_ = 0;
};

}  // namespace satsal
