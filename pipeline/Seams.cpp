#include "pipeline/Seams.hpp"

#include "io/RasterReader.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/BandScaling.hpp"
#include "saliency/TensorStatistics.hpp"
#include "tiling/Seams.hpp"

#include <torch/script.h>

#include <algorithm>
#include <stdexcept>

namespace satsal {

int64_t seam_probe_side(int64_t tile_size, int64_t max_margin) { return 2 * tile_size + 2 * max_margin; }

SeamProbe read_seam_probe(const std::string& scene, const BandScaling& scaling, int64_t side, int64_t stride) {
    RasterReader reader(scene);
    SeamProbe probe;
    probe.channels = static_cast<int64_t>(scaling.bands.size());
    probe.width = std::min<int64_t>(side, reader.width()) / stride * stride;
    probe.height = std::min<int64_t>(side, reader.height()) / stride * stride;
    probe.x0 = (reader.width() - probe.width) / 2;
    probe.y0 = (reader.height() - probe.height) / 2;
    probe.planar = reader.read_window(scaling.bands, static_cast<int>(probe.x0), static_cast<int>(probe.y0),
                                      static_cast<int>(probe.width), static_cast<int>(probe.height));
    scaling.to_unit(probe.planar.data(), probe.width * probe.height);
    scaling.standardize(probe.planar.data(), probe.width * probe.height);
    return probe;
}

SeamMeasurement seam_errors(const TappedModel& model, const SeamProbe& probe, int64_t tile_size,
                            int64_t margin, int64_t max_margin, const TapStatistic& statistic,
                            int batch_size) {
    const int64_t stride = model.deepest_stride();
    if (tile_size < 1 || margin < 0 || max_margin < 0) {
        throw std::invalid_argument("seams: tile size " + std::to_string(tile_size) + " must be positive and margin " +
                                    std::to_string(margin) + " (probe margin " + std::to_string(max_margin) +
                                    ") must be >= 0");
    }
    if (tile_size % stride || margin % stride || max_margin % stride || margin > max_margin) {
        throw std::invalid_argument("seams: tile size " + std::to_string(tile_size) + ", margin " +
                                    std::to_string(margin) + " and probe margin " +
                                    std::to_string(max_margin) +
                                    " must be multiples of the deepest stride " + std::to_string(stride) +
                                    " with margin <= probe margin");
    }
    const int64_t columns = (probe.width - 2 * max_margin) / tile_size;
    const int64_t rows = (probe.height - 2 * max_margin) / tile_size;
    if (columns < 1 || rows < 1) {
        throw std::invalid_argument("seams: the probe is " + std::to_string(probe.width) + "x" +
                                    std::to_string(probe.height) + " pixels; it needs at least one " +
                                    std::to_string(tile_size) + " px core plus " +
                                    std::to_string(max_margin) + " px on each side");
    }
    // Whole pass on the region the compared tiles need (cores plus max_margin of context).
    const int64_t whole_w = columns * tile_size + 2 * max_margin;
    const int64_t whole_h = rows * tile_size + 2 * max_margin;
    const auto full = torch::from_blob(const_cast<float*>(probe.planar.data()),
                                       {1, probe.channels, probe.height, probe.width}, torch::kFloat32);
    const torch::Tensor whole_input =
        full.narrow(2, 0, whole_h).narrow(3, 0, whole_w).contiguous();
    const std::vector<Map> whole = image_maps(forward_tap_statistics(model, whole_input, statistic), 0);

    const int64_t side = tile_size + 2 * margin;
    const std::size_t layers = whole.size();
    std::vector<Map> tiled(layers), reference(layers);
    for (std::size_t k = 0; k < layers; ++k) {
        const int64_t s = model.taps()[k].stride;
        tiled[k] = Map(columns * tile_size / s, rows * tile_size / s);
        reference[k] = Map(columns * tile_size / s, rows * tile_size / s);
        for (int64_t y = 0; y < reference[k].height; ++y) {
            for (int64_t x = 0; x < reference[k].width; ++x) {
                reference[k].at(x, y) = whole[k].at(x + max_margin / s, y + max_margin / s);
            }
        }
    }
    // Tiles in batches; each tile's core (offset margin / s inside its layer map) goes in place.
    std::vector<std::pair<int64_t, int64_t>> cores;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < columns; ++c) cores.emplace_back(c, r);
    }
    for (std::size_t first = 0; first < cores.size(); first += static_cast<std::size_t>(batch_size)) {
        const std::size_t count = std::min(cores.size() - first, static_cast<std::size_t>(batch_size));
        std::vector<torch::Tensor> inputs;
        for (std::size_t i = 0; i < count; ++i) {
            const auto [c, r] = cores[first + i];
            const int64_t x0 = max_margin + c * tile_size - margin;
            const int64_t y0 = max_margin + r * tile_size - margin;
            inputs.push_back(full.narrow(2, y0, side).narrow(3, x0, side));
        }
        const std::vector<torch::Tensor> statistics =
            forward_tap_statistics(model, torch::cat(inputs, 0).contiguous(), statistic);
        for (std::size_t k = 0; k < layers; ++k) {
            const torch::Tensor& maps = statistics[k];
            const int64_t s = model.taps()[k].stride;
            for (std::size_t i = 0; i < count; ++i) {
                const auto [c, r] = cores[first + i];
                const Map tile = map_from_tensor(maps[static_cast<int64_t>(i)]);
                const int64_t core = tile_size / s, offset = margin / s;
                for (int64_t y = 0; y < core; ++y) {
                    for (int64_t x = 0; x < core; ++x) {
                        tiled[k].at(c * core + x, r * core + y) = tile.at(offset + x, offset + y);
                    }
                }
            }
        }
    }
    SeamMeasurement measurement;
    measurement.tile_size = tile_size;
    measurement.margin = margin;
    measurement.tiles = static_cast<int64_t>(cores.size());
    for (std::size_t k = 0; k < layers; ++k) {
        measurement.errors.push_back(max_seam_error(tiled[k], reference[k]));
    }
    return measurement;
}

}  // namespace satsal
