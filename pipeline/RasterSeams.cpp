#include "pipeline/RasterSeams.hpp"

#include "io/RasterReader.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace satsal {

RasterGridSteps measure_grid_steps(const std::string& raster, int band, int64_t grid) {
    const RasterReader reader(raster);
    if (band < 1 || band > reader.info().band_count()) {
        throw std::invalid_argument(raster + ": no band " + std::to_string(band) + " (it has " +
                                    std::to_string(reader.info().band_count()) + ")");
    }
    RasterGridSteps out;
    out.width = reader.width();
    out.height = reader.height();
    out.grid = grid;
    GridStepAccumulator steps(out.width, grid);
    const bool masked = !reader.all_valid({band});
    const int64_t strip = std::max<int64_t>(1, (int64_t{1} << 20) / out.width);
    std::vector<float> values;
    for (int64_t y = 0; y < out.height; y += strip) {
        const int64_t rows = std::min(strip, out.height - y);
        values.resize(static_cast<std::size_t>(rows * out.width));
        const int x0 = 0, y0 = static_cast<int>(y), w = static_cast<int>(out.width), h = static_cast<int>(rows);
        reader.read_window_into({band}, x0, y0, w, h, values.data());
        if (masked) {
            const std::vector<uint8_t> valid = reader.read_valid_mask({band}, x0, y0, w, h);
            for (std::size_t i = 0; i < values.size(); ++i) {
                if (!valid[i]) values[i] = std::nanf("");
            }
        }
        steps.add_rows(values.data(), y, rows);
        reader.release_cached_blocks();
    }
    out.x = steps.x();
    out.y = steps.y();
    return out;
}

}  // namespace satsal
