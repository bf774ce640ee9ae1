#pragma once
// Stage: the tile source of pass 1. Reads one tile's input window from the scene (with padding
// beyond the scene edge and nodata filled with the model's mean colour), scales the bands to
// [0, 1], samples the quicklook, standardizes with the model's mean/std and records which input
// pixels are valid. The counting windows of a count run (pipeline/CountWindows.hpp) read the COWC
// layout instead: the core pasted into a canvas of the mean colour, no context from neighbouring
// windows, no quicklook samples (pass 1's tiles take those).
//
// Thread rules: read() may run on many threads at once; each thread opens its own RasterReader
// (GDAL handles are never shared). The grid, scaling and quicklook must outlive the source.
#include "pipeline/BandScaling.hpp"
#include "pipeline/Quicklook.hpp"
#include "saliency/Map.hpp"
#include "tiling/Padding.hpp"
#include "tiling/TileGrid.hpp"

#include <oneapi/tbb/enumerable_thread_specific.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace satsal {

class RasterReader;

/// One tile read for the network.
struct TileJob {
    Tile tile;
    bool empty = false;          // every core pixel is nodata: no forward pass
    bool resumed = false;        // done by an earlier attempt (pipeline/SceneResume.hpp)
    std::vector<float> input;    // standardized [bands][side][side]; empty when skipped
    std::vector<uint8_t> valid;  // [side][side] validity of the input window; empty: all valid
};
using TileJobPtr = std::shared_ptr<TileJob>;

class TileSource {
public:
    /// Context-bearing tiles of pass 1.
    TileSource(std::string scene, const TileGrid& grid, const BandScaling& scaling, PadRule pad, Quicklook& quicklook);
    /// Counting windows: `windows` is count_window_grid's (192 px cores, 16 px canvas frame).
    TileSource(std::string scene, const TileGrid& windows, const BandScaling& scaling);
    ~TileSource();

    TileJobPtr read(int64_t index);
    /// Any tile in this source's layout, not only the grid's (a counting run's method windows,
    /// pipeline/MethodWindows.hpp, are offset from the counting windows).
    TileJobPtr read(const Tile& tile);

private:
    TileJobPtr read_padded_window(RasterReader& reader, const TileJobPtr& job);
    TileJobPtr read_count_window(RasterReader& reader, const TileJobPtr& job);

    std::string scene_;
    const TileGrid& grid_;
    const BandScaling& scaling_;
    PadRule pad_;
    bool counting_;
    Quicklook* quicklook_;  // null for counting windows
    tbb::enumerable_thread_specific<std::unique_ptr<RasterReader>> readers_;
};

/// The tiling library's padding rule for a config's `pad`.
PadRule pad_rule(PadMode mode);

/// Layer pixels whose stride x stride footprint in the tile's input window (`valid`, side x side)
/// holds no valid input pixel become NaN.
void mask_layer(Map& map, const std::vector<uint8_t>& valid, int64_t side, int64_t stride);

}  // namespace satsal
