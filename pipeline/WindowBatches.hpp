#pragma once
// The batched window passes of counting runs (pipeline/CountWindows: the counts; pipeline/
// MethodWindows: the method maps) share one shape: batches taken in order until all are taken or
// a stop is requested (SIGTERM/SIGINT), read in parallel, then handled one at a time in order (the
// network and the journal see batches in raster order). Thread rules: `read` runs on several
// threads at once, `handle` on one thread at a time.
#include "pipeline/SceneResume.hpp"
#include "pipeline/TileSource.hpp"
#include "pipeline/Timing.hpp"
#include "tiling/TileGrid.hpp"

#include <oneapi/tbb/parallel_pipeline.h>
#include <torch/script.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace satsal {

struct WindowBatchesOutcome {
    bool stopped = false;       // a stop was requested before every batch was taken
    double read_seconds = 0;    // busy time of `read`, summed over its threads
};

/// Runs windows [0, total) in batches of `batch_size`: `read(first, end)` returns a
/// std::shared_ptr<Batch> for windows [first, end); `handle(batch)` consumes it.
template <class Batch, class Read, class Handle>
WindowBatchesOutcome run_window_batches(int64_t total, int64_t batch_size, Read read, Handle handle) {
    using BatchPtr = std::shared_ptr<Batch>;
    const int64_t batches = ceil_div(total, batch_size);
    std::atomic<int64_t> read_nanoseconds{0};
    int64_t next = 0;
    WindowBatchesOutcome outcome;
    tbb::parallel_pipeline(
        3,
        tbb::make_filter<void, int64_t>(tbb::filter_mode::serial_in_order,
                                        [&](tbb::flow_control& control) -> int64_t {
                                            if (next < batches && stop_requested()) outcome.stopped = true;
                                            if (next >= batches || outcome.stopped) {
                                                control.stop();
                                                return 0;
                                            }
                                            return next++;
                                        }) &
            tbb::make_filter<int64_t, BatchPtr>(tbb::filter_mode::parallel,
                                                [&](int64_t b) {
                                                    const auto start = Clock::now();
                                                    BatchPtr batch = read(b * batch_size, std::min(total, (b + 1) * batch_size));
                                                    read_nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                            Clock::now() - start).count();
                                                    return batch;
                                                }) &
            tbb::make_filter<BatchPtr, void>(tbb::filter_mode::serial_in_order, handle));
    outcome.read_seconds = static_cast<double>(read_nanoseconds.load()) * 1e-9;
    return outcome;
}

/// The inputs of jobs[live[0]], jobs[live[1]], ... as one [live.size(), bands, side, side] tensor.
inline torch::Tensor stack_window_inputs(const std::vector<TileJobPtr>& jobs, const std::vector<std::size_t>& live,
                                         int64_t bands, int64_t side) {
    torch::Tensor input = torch::empty({static_cast<int64_t>(live.size()), bands, side, side});
    for (std::size_t i = 0; i < live.size(); ++i) {
        const auto& data = jobs[live[i]]->input;
        std::copy(data.begin(), data.end(), input[static_cast<int64_t>(i)].data_ptr<float>());
    }
    return input;
}

}  // namespace satsal
