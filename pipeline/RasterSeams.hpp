#pragma once
// `satsal seams --raster R --grid G`: the boundary/elsewhere step ratio of a finished raster
// (tiling/GridSteps.hpp) on a grid of G px from its top-left corner, e.g. the 192 px windows of
// a counting run's saliency.tif.
//
// Thread rules: opens its own RasterReader; safe from any thread.
#include "tiling/GridSteps.hpp"

#include <cstdint>
#include <string>

namespace satsal {

struct RasterGridSteps {
    int64_t width = 0, height = 0;
    int64_t grid = 0;
    AxisSteps x, y;
};

/// Reads band `band` (1-based) of `raster` in row strips; NaN and nodata-masked pixels are left
/// out. Throws IoError naming the file, std::invalid_argument for a band the raster lacks or a
/// grid < 2.
RasterGridSteps measure_grid_steps(const std::string& raster, int band, int64_t grid);

}  // namespace satsal
