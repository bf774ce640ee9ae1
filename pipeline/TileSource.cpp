#include "pipeline/TileSource.hpp"

#include "io/RasterReader.hpp"

#include <algorithm>
#include <cmath>

namespace satsal {

TileSource::TileSource(std::string scene, const TileGrid& grid, const BandScaling& scaling, PadRule pad,
                       Quicklook& quicklook)
    : scene_(std::move(scene)), grid_(grid), scaling_(scaling), pad_(pad), counting_(false), quicklook_(&quicklook) {}

TileSource::TileSource(std::string scene, const TileGrid& windows, const BandScaling& scaling)
    : scene_(std::move(scene)), grid_(windows), scaling_(scaling), pad_(PadRule::zero), counting_(true),
      quicklook_(nullptr) {}

TileSource::~TileSource() = default;

TileJobPtr TileSource::read(int64_t index) { return read(grid_.tile(index)); }

TileJobPtr TileSource::read(const Tile& tile) {
    auto& reader = readers_.local();
    if (!reader) reader = std::make_unique<RasterReader>(scene_);
    auto job = std::make_shared<TileJob>();
    job->tile = tile;
    return counting_ ? read_count_window(*reader, job) : read_padded_window(*reader, job);
}

TileJobPtr TileSource::read_padded_window(RasterReader& reader, const TileJobPtr& job) {
    const Tile& tile = job->tile;
    const PadPlan plan = plan_padded_window(tile.input, grid_.scene(), pad_);
    const Window& source = plan.source;
    const int64_t bands = static_cast<int64_t>(scaling_.bands.size());
    std::vector<float> raw(static_cast<std::size_t>(bands * source.area()));
    reader.read_window_into(scaling_.bands, static_cast<int>(source.x), static_cast<int>(source.y),
                            static_cast<int>(source.width), static_cast<int>(source.height), raw.data());
    scaling_.to_unit(raw.data(), source.area());
    quicklook_->sample_input(tile.core, source, raw.data(), bands);
    // Padding happens on [0, 1] values; `mean` and nodata fill with the model's mean colour,
    // the same value in every tile so that nodata borders cannot make seams.
    std::vector<float> fill(scaling_.mean.begin(), scaling_.mean.end());
    const int64_t side = tile.input.width;
    job->input.resize(static_cast<std::size_t>(bands * side * side));
    const PlanarView view{raw.data(), bands, source};
    if (reader.all_valid(scaling_.bands)) {
        pad_window_into(plan, view, fill, job->input.data());
    } else {
        const std::vector<uint8_t> source_mask = reader.read_valid_mask(
            scaling_.bands, static_cast<int>(source.x), static_cast<int>(source.y), static_cast<int>(source.width),
            static_cast<int>(source.height));
        if (count_valid(source_mask.data(), source, tile.core) == 0) {
            job->empty = true;
            job->input.clear();
            return job;
        }
        pad_window_masked_into(plan, view, source_mask.data(), fill, job->input.data());
        // Validity of the input window (outside the scene counts as invalid).
        job->valid.assign(static_cast<std::size_t>(side * side), 0);
        const Window inside = tile.input.intersect(source);
        for (int64_t y = inside.y; y < inside.y_end(); ++y) {
            for (int64_t x = inside.x; x < inside.x_end(); ++x) {
                job->valid[static_cast<std::size_t>((y - tile.input.y) * side + (x - tile.input.x))] =
                    source_mask[static_cast<std::size_t>((y - source.y) * source.width + (x - source.x))];
            }
        }
    }
    scaling_.standardize(job->input.data(), side * side);
    return job;
}

TileJobPtr TileSource::read_count_window(RasterReader& reader, const TileJobPtr& job) {
    const Tile& tile = job->tile;
    const Window& core = tile.core;
    const int64_t bands = static_cast<int64_t>(scaling_.bands.size());
    const int64_t side = tile.input.width;
    std::vector<float> raw(static_cast<std::size_t>(bands * core.area()));
    reader.read_window_into(scaling_.bands, static_cast<int>(core.x), static_cast<int>(core.y),
                            static_cast<int>(core.width), static_cast<int>(core.height), raw.data());
    scaling_.to_unit(raw.data(), core.area());
    std::vector<uint8_t> mask;
    if (!reader.all_valid(scaling_.bands)) {
        mask = reader.read_valid_mask(scaling_.bands, static_cast<int>(core.x), static_cast<int>(core.y),
                                      static_cast<int>(core.width), static_cast<int>(core.height));
        if (count_valid(mask.data(), core, core) == 0) {
            job->empty = true;
            return job;
        }
        job->valid.assign(static_cast<std::size_t>(side * side), 0);
    }
    job->input.resize(static_cast<std::size_t>(bands * side * side));
    for (int64_t b = 0; b < bands; ++b) {
        float* plane = job->input.data() + b * side * side;
        const float fill = static_cast<float>(scaling_.mean[static_cast<std::size_t>(b)]);
        std::fill(plane, plane + side * side, fill);
        for (int64_t y = 0; y < core.height; ++y) {
            for (int64_t x = 0; x < core.width; ++x) {
                const std::size_t at = static_cast<std::size_t>(y * core.width + x);
                const std::size_t to =
                    static_cast<std::size_t>((y + core.y - tile.input.y) * side + (x + core.x - tile.input.x));
                if (mask.empty() || mask[at]) plane[to] = raw[static_cast<std::size_t>(b) * core.area() + at];
                if (b == 0 && !mask.empty()) job->valid[to] = mask[at];
            }
        }
    }
    scaling_.standardize(job->input.data(), side * side);
    return job;
}

PadRule pad_rule(PadMode mode) {
    switch (mode) {
        case PadMode::Reflect: return PadRule::reflect;
        case PadMode::Mean: return PadRule::mean;
        case PadMode::Zero: return PadRule::zero;
    }
    return PadRule::reflect;
}

void mask_layer(Map& map, const std::vector<uint8_t>& valid, int64_t side, int64_t stride) {
    for (int64_t y = 0; y < map.height; ++y) {
        for (int64_t x = 0; x < map.width; ++x) {
            bool any = false;
            for (int64_t dy = 0; dy < stride && !any; ++dy) {
                const uint8_t* row = valid.data() + (y * stride + dy) * side + x * stride;
                for (int64_t dx = 0; dx < stride; ++dx) any = any || row[dx];
            }
            if (!any) map.at(x, y) = std::nanf("");
        }
    }
}

}  // namespace satsal
