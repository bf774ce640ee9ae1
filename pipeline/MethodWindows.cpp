#include "pipeline/MethodWindows.hpp"

#include "cowc/CountingLayout.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/CountWindows.hpp"
#include "pipeline/MethodPass.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/TileSource.hpp"
#include "pipeline/Timing.hpp"
#include "pipeline/WindowBatches.hpp"

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace satsal {

static_assert(MethodWindowLayout::kCore == counting::kContentSize, "method windows are counting windows");
static_assert(2 * MethodWindowLayout::kStep == MethodWindowLayout::kCore, "phases overlap by half a window");

MethodWindowLayout::MethodWindowLayout(int64_t scene_width, int64_t scene_height)
    : width_(scene_width), height_(scene_height) {
    if (width_ < 1 || height_ < 1) throw std::invalid_argument("method windows: empty scene");
    first_[0] = 0;
    for (int p = 0; p < kPhases; ++p) first_[p + 1] = first_[p] + columns(p) * rows(p);
}

int64_t MethodWindowLayout::columns(int phase) const {
    const int64_t ox = phase_offset_x(phase);
    return width_ > ox ? ceil_div(width_ - ox, kCore) : 0;
}

int64_t MethodWindowLayout::rows(int phase) const {
    const int64_t oy = phase_offset_y(phase);
    return height_ > oy ? ceil_div(height_ - oy, kCore) : 0;
}

MethodWindowLayout::Entry MethodWindowLayout::window(int64_t index) const {
    if (index < 0 || index >= count()) {
        throw std::out_of_range("method window " + std::to_string(index) + " of " + std::to_string(count()));
    }
    Entry entry;
    while (index >= first_[entry.phase + 1]) ++entry.phase;
    const int64_t local = index - first_[entry.phase];
    Tile& tile = entry.tile;
    tile.index = index;
    tile.column = local % columns(entry.phase);
    tile.row = local / columns(entry.phase);
    const int64_t x = phase_offset_x(entry.phase) + tile.column * kCore;
    const int64_t y = phase_offset_y(entry.phase) + tile.row * kCore;
    tile.core = Window{x, y, std::min(kCore, width_ - x), std::min(kCore, height_ - y)};
    tile.read = tile.core;
    tile.input = Window{x - counting::kCanvasOffset, y - counting::kCanvasOffset, counting::kInputSize,
                        counting::kInputSize};
    return entry;
}

double MethodWindowLayout::weight(int phase, int64_t x, int64_t y) const {
    auto tent = [](int64_t offset) {
        if (offset < 0) return 0.0;
        const double u = static_cast<double>(offset % kCore);
        return std::min(u + 0.5, static_cast<double>(kCore) - 0.5 - u);
    };
    return tent(x - phase_offset_x(phase)) * tent(y - phase_offset_y(phase));
}

nlohmann::ordered_json MethodWindowsResult::to_json() const {
    nlohmann::ordered_json out;
    out["core"] = MethodWindowLayout::kCore;
    out["canvas"] = counting::kInputSize;
    out["phase_offset"] = MethodWindowLayout::kStep;
    out["windows"] = windows;
    out["processed"] = processed;
    out["skipped_nodata"] = skipped;
    out["resumed"] = resumed;
    out["counting_windows_scored"] = counting_windows;
    out["counting_windows_class_is_count"] = class_is_count;
    return out;
}

nlohmann::ordered_json MethodWindowsResult::seconds_json() const {
    return {{"wall", wall_seconds}, {"read_busy", read_seconds}, {"method_busy", method_seconds}};
}

namespace {

struct WindowBatch {
    std::vector<MethodWindowLayout::Entry> windows;
    std::vector<TileJobPtr> jobs;
};
using WindowBatchPtr = std::shared_ptr<WindowBatch>;

std::string window_context(const std::string& scene, const MethodWindowLayout::Entry& entry) {
    const Window& core = entry.tile.core;
    return scene + ": method window " + std::to_string(entry.tile.index) + " (phase " + std::to_string(entry.phase) +
           ", core [x " + std::to_string(core.x) + ".." + std::to_string(core.x_end()) + ", y " +
           std::to_string(core.y) + ".." + std::to_string(core.y_end()) + "))";
}

/// NaN where the window's canvas pixel is nodata (valid empty: all valid).
void mask_canvas(Map& map, const std::vector<uint8_t>& valid) {
    if (valid.empty()) return;
    for (std::size_t i = 0; i < map.values.size(); ++i) {
        if (!valid[i]) map.values[i] = std::nanf("");
    }
}

}  // namespace

MethodWindowsResult run_method_windows(const RunSetup& setup, const std::string& scene,
                                       const MethodWindowLayout& layout, const BandScaling& scaling,
                                       const std::vector<int>& counts, MethodScene& maps, SceneResume& resume,
                                       int64_t journal_offset) {
    if (!setup.method) throw std::logic_error("run_method_windows without a method");
    const MethodRunner& runner = *setup.method;
    MethodWindowsResult result;
    const int64_t total = layout.count();
    result.windows = total;
    const int64_t batch_size = std::max(1, setup.config.batch_size);
    const int64_t bands = static_cast<int64_t>(scaling.bands.size());
    const int64_t side = counting::kInputSize;
    // Phase 0's windows are the counting windows (column, row alike); the source reads any window
    // in their COWC layout.
    const TileGrid counting_grid = count_window_grid(layout.scene_width(), layout.scene_height());
    TileSource source(scene, counting_grid, scaling);
    auto done_record = [&](int64_t window) -> const DoneTile* {
        const auto found = resume.done().find(journal_offset + window);
        return found == resume.done().end() ? nullptr : &found->second;
    };
    auto check_count = [&](const MethodWindowLayout::Entry& entry, int64_t scored) {
        if (entry.phase != 0) return;
        const std::size_t at = static_cast<std::size_t>(entry.tile.row * counting_grid.columns() + entry.tile.column);
        if (at >= counts.size()) return;
        ++result.counting_windows;
        if (counts[at] == scored) ++result.class_is_count;
    };

    const auto wall = Clock::now();
    const WindowBatchesOutcome outcome = run_window_batches<WindowBatch>(
        total, batch_size,
        [&](int64_t first, int64_t end) {
            auto batch = std::make_shared<WindowBatch>();
            for (int64_t i = first; i < end; ++i) {
                batch->windows.push_back(layout.window(i));
                try {
                    batch->jobs.push_back(source.read(batch->windows.back().tile));
                } catch (const std::exception& error) {
                    throw std::runtime_error(window_context(scene, batch->windows.back()) +
                                             ": reading failed: " + error.what());
                }
            }
            return batch;
        },
        [&](const WindowBatchPtr& batch) {
            std::vector<std::size_t> live;
            bool all_resumed = true;
            for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                all_resumed = all_resumed && done_record(batch->windows[i].tile.index) != nullptr;
                if (!batch->jobs[i]->empty) live.push_back(i);
            }
            if (all_resumed) {
                for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                    const DoneTile* earlier = done_record(batch->windows[i].tile.index);
                    (earlier->empty ? result.skipped : result.processed) += 1;
                    result.resumed += 1;
                    if (!earlier->empty) check_count(batch->windows[i], earlier->count);
                }
                return;
            }
            MethodRunner::WindowMaps computed;
            if (!live.empty()) {
                const auto start = Clock::now();
                const torch::Tensor input = stack_window_inputs(batch->jobs, live, bands, side);
                try {
                    computed = runner.compute_windows(input);
                } catch (const std::exception& error) {
                    throw std::runtime_error(window_context(scene, batch->windows[live[0]]) +
                                             " and the rest of its batch: method " + runner.description() +
                                             " failed: " + error.what());
                }
                result.method_seconds += seconds_since(start);
            }
            std::size_t next_live = 0;
            std::vector<DoneTile> done(batch->jobs.size());
            for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                const MethodWindowLayout::Entry& entry = batch->windows[i];
                if (batch->jobs[i]->empty) {
                    maps.stitch_window(entry.phase, entry.tile, nullptr);
                    done[i] = DoneTile{true, -1};
                    result.skipped += 1;
                    continue;
                }
                Map& map = computed.maps[next_live];
                mask_canvas(map, batch->jobs[i]->valid);
                maps.stitch_window(entry.phase, entry.tile, &map);
                const int64_t scored = computed.classes[next_live];
                done[i] = DoneTile{false, static_cast<int>(scored)};
                check_count(entry, scored);
                result.processed += 1;
                ++next_live;
            }
            // Durable before it counts as done: the grids first, then the journal lines.
            maps.sync();
            for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                resume.record(journal_offset + batch->windows[i].tile.index, done[i]);
            }
        });
    result.wall_seconds = seconds_since(wall);
    result.read_seconds = outcome.read_seconds;
    if (outcome.stopped) {
        throw RunInterrupted(scene + ": stopped after " + std::to_string(result.processed + result.skipped) + " of " +
                             std::to_string(total) + " method windows; they are kept in " + resume.folder() +
                             ": resume with the same command");
    }
    return result;
}

}  // namespace satsal
