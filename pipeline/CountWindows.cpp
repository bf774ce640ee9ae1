#include "pipeline/CountWindows.hpp"

#include "cowc/CountingLayout.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/TileSource.hpp"
#include "pipeline/Timing.hpp"
#include "pipeline/WindowBatches.hpp"

#include <torch/script.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace satsal {
namespace {

struct WindowBatch {
    int64_t first = 0;
    std::vector<TileJobPtr> jobs;
};
using WindowBatchPtr = std::shared_ptr<WindowBatch>;

std::string window_context(const std::string& scene, const Tile& tile) {
    return scene + ": counting window " + std::to_string(tile.index) + " (column " + std::to_string(tile.column) +
           ", row " + std::to_string(tile.row) + ", core [x " + std::to_string(tile.core.x) + ".." +
           std::to_string(tile.core.x_end()) + ", y " + std::to_string(tile.core.y) + ".." +
           std::to_string(tile.core.y_end()) + "))";
}

}  // namespace

TileGrid count_window_grid(int64_t scene_width, int64_t scene_height) {
    TileGridOptions options;
    options.tile_size = counting::kContentSize;
    options.margin = counting::kCanvasOffset;
    options.deepest_stride = counting::kCanvasOffset;
    return TileGrid(scene_width, scene_height, options);
}

nlohmann::ordered_json CountWindowsResult::to_json(const TileGrid& windows) const {
    nlohmann::ordered_json out;
    out["core"] = windows.tile_size();
    out["canvas"] = windows.input_size();
    out["windows"] = windows.tile_count();
    out["processed"] = processed;
    out["skipped_nodata"] = skipped;
    out["resumed"] = resumed;
    return out;
}

nlohmann::ordered_json CountWindowsResult::seconds_json() const {
    return {{"wall", wall_seconds}, {"read_busy", read_seconds}, {"forward_busy", forward_seconds}};
}

CountWindowsResult run_count_windows(const RunSetup& setup, const std::string& scene, const TileGrid& windows,
                                     const BandScaling& scaling, SceneResume& resume, int64_t journal_offset) {
    CountWindowsResult result;
    const int64_t total = windows.tile_count();
    result.counts.assign(static_cast<std::size_t>(total), -1);
    const int64_t batch_size = std::max(1, setup.config.batch_size);
    const int64_t bands = static_cast<int64_t>(scaling.bands.size());
    const int64_t side = windows.input_size();
    TileSource source(scene, windows, scaling);
    auto done_record = [&](int64_t window) -> const DoneTile* {
        const auto found = resume.done().find(journal_offset + window);
        return found == resume.done().end() ? nullptr : &found->second;
    };

    const auto wall = Clock::now();
    const WindowBatchesOutcome outcome = run_window_batches<WindowBatch>(
        total, batch_size,
        [&](int64_t first, int64_t end) {
            auto batch = std::make_shared<WindowBatch>();
            batch->first = first;
            for (int64_t i = first; i < end; ++i) {
                try {
                    batch->jobs.push_back(source.read(i));
                } catch (const std::exception& error) {
                    throw std::runtime_error(window_context(scene, windows.tile(i)) +
                                             ": reading failed: " + error.what());
                }
            }
            return batch;
        },
        [&](const WindowBatchPtr& batch) {
            std::vector<std::size_t> live;
            bool all_resumed = true;
            for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                if (batch->jobs[i]->empty) continue;
                live.push_back(i);
                all_resumed = all_resumed && done_record(batch->jobs[i]->tile.index) != nullptr;
            }
            std::vector<int64_t> classes;
            if (!live.empty() && !all_resumed) {
                const auto start = Clock::now();
                const torch::Tensor input = stack_window_inputs(batch->jobs, live, bands, side);
                torch::Tensor arg_max;
                try {
                    arg_max = setup.model->forward(input).output.argmax(1).to(torch::kInt64).contiguous();
                } catch (const std::exception& error) {
                    throw std::runtime_error(window_context(scene, batch->jobs[live[0]]->tile) +
                                             " and the rest of its batch: the forward pass failed: " + error.what());
                }
                classes.assign(arg_max.data_ptr<int64_t>(), arg_max.data_ptr<int64_t>() + arg_max.numel());
                result.forward_seconds += seconds_since(start);
            }
            std::size_t next_live = 0;
            for (const TileJobPtr& job : batch->jobs) {
                const int64_t window = job->tile.index;
                const DoneTile* earlier = done_record(window);
                DoneTile done{job->empty, -1};
                if (!job->empty) {
                    done.count = classes.empty() ? earlier->count : static_cast<int>(classes[next_live]);
                    ++next_live;
                }
                result.counts[static_cast<std::size_t>(window)] = done.count;
                (done.empty ? result.skipped : result.processed) += 1;
                if (earlier && classes.empty()) {
                    result.resumed += 1;
                } else {
                    resume.record(journal_offset + window, done);
                }
            }
        });
    result.wall_seconds = seconds_since(wall);
    result.read_seconds = outcome.read_seconds;
    if (outcome.stopped) {
        throw RunInterrupted(scene + ": stopped after " + std::to_string(result.processed + result.skipped) + " of " +
                             std::to_string(total) + " counting windows; they are kept in " + resume.folder() +
                             ": resume with the same command");
    }
    return result;
}

}  // namespace satsal
