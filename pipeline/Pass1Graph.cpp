#include "pipeline/Pass1Graph.hpp"

#include "model/TappedModel.hpp"
#include "pipeline/MethodPass.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/TileSource.hpp"
#include "pipeline/Timing.hpp"
#include "saliency/Combine.hpp"
#include "saliency/TensorStatistics.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <torch/script.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace flow = tbb::flow;

namespace satsal {

SceneLayers::SceneLayers(const SceneResume& resume, const TileGrid& grid, const std::vector<int64_t>& strides,
                         bool tile_normalized) {
    for (std::size_t k = 0; k < strides.size(); ++k) {
        const int64_t s = strides[k];
        const std::string name = "L" + std::to_string(k + 1) + ".f32";
        raw.emplace_back(resume.grid_path("raw_" + name), grid.layer_width(s), grid.layer_height(s), true);
        if (tile_normalized) {
            normalized.emplace_back(resume.grid_path("norm_" + name), grid.layer_width(s), grid.layer_height(s), true);
        }
    }
}

void SceneLayers::sync() {
    for (ScratchGrid& grid : raw) grid.sync();
    for (ScratchGrid& grid : normalized) grid.sync();
    if (method) method->sync();
}

namespace {

/// Busy time of a stage, summed over the threads that ran it.
struct StageTimer {
    std::atomic<int64_t> nanoseconds{0};
    void add(Clock::time_point start) {
        nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    }
    double seconds() const { return static_cast<double>(nanoseconds.load()) * 1e-9; }
};

struct TileBatch {
    std::vector<TileJobPtr> jobs;
};
using TileBatchPtr = std::shared_ptr<TileBatch>;

struct TileMaps {
    Tile tile;
    bool empty = false;
    bool resumed = false;         // done by an earlier attempt: the maps are in the grids already
    bool elsewhere = false;       // ranks sharing the scene: another rank computes this tile
    std::vector<Map> raw;         // per tap, the tile's whole layer map
    std::vector<Map> normalized;  // normalize = tile only
    Map method;                   // config `method`: the tile's raw method map
};
using TileMapsPtr = std::shared_ptr<TileMaps>;

struct BatchMaps {
    std::vector<TileMapsPtr> tiles;
    std::vector<TileJobPtr> jobs;  // kept for the masks until the statistic is applied
    ForwardResult forward;         // the output (counting); the taps are released after the statistic
    std::vector<torch::Tensor> maps;  // per tap, the statistic, computed inside the forward
    std::vector<Map> method;       // config `method`: per live tile
};
using BatchMapsPtr = std::shared_ptr<BatchMaps>;

std::string window_text(const Window& w) {
    return "[x " + std::to_string(w.x) + ".." + std::to_string(w.x_end()) + ", y " + std::to_string(w.y) + ".." +
           std::to_string(w.y_end()) + ")";
}

/// The bodies of the graph's nodes and the state they share.
class Pass1Graph {
public:
    Pass1Graph(const RunSetup& setup, const std::string& scene, const TileGrid& grid, const BandScaling& scaling,
               SceneLayers& layers, Quicklook& quicklook, SceneResume& resume, const RunEvents& events)
        : setup_(setup), scene_(scene), grid_(grid), layers_(layers), resume_(resume), events_(events),
          source_(scene, grid, scaling, pad_rule(setup.config.pad), quicklook),
          bands_(static_cast<int64_t>(scaling.bands.size())), batch_size_(std::max(1, setup.config.batch_size)) {
        result_.moments.resize(setup.layers());
    }

    Pass1Result run();

private:
    std::string context(const Tile& tile) const {
        return scene_ + ": tile " + std::to_string(tile.index) + " (column " + std::to_string(tile.column) +
               ", row " + std::to_string(tile.row) + ", core " + window_text(tile.core) + ")";
    }
    TileJobPtr read(int64_t index);
    BatchMapsPtr infer(const TileBatchPtr& batch);
    BatchMapsPtr statistic(const BatchMapsPtr& batch);
    TileMapsPtr tile_maps(const TileJob& job, const std::vector<torch::Tensor>& maps, int64_t image) const;
    void stitch(const TileMaps& maps);
    void replay(const TileMaps& maps);
    bool resumed(int64_t tile) const { return resume_.done().count(tile) != 0; }

    const RunSetup& setup_;
    const std::string& scene_;
    const TileGrid& grid_;
    SceneLayers& layers_;
    SceneResume& resume_;
    const RunEvents& events_;
    TileSource source_;
    const int64_t bands_;
    const int batch_size_;
    Pass1Result result_;
    StageTimer read_time_, forward_time_, statistic_time_, stitch_time_, method_time_;
    std::vector<float> nan_buffer_;
    std::vector<float> replay_buffer_;
    bool stopped_ = false;
    int64_t elsewhere_ = 0;  // tiles other ranks compute
};

TileJobPtr Pass1Graph::read(int64_t index) {
    const auto start = Clock::now();
    try {
        TileJobPtr job = source_.read(index);
        job->resumed = resumed(index) || resume_.elsewhere(index);  // no forward pass here
        read_time_.add(start);
        return job;
    } catch (const std::exception& error) {
        throw std::runtime_error(context(grid_.tile(index)) + ": reading failed: " + error.what());
    }
}

BatchMapsPtr Pass1Graph::infer(const TileBatchPtr& batch) {
    auto out = std::make_shared<BatchMaps>();
    out->jobs = batch->jobs;
    std::vector<std::size_t> live;
    // A batch is computed whole or not at all: the forward's numbers may depend on the batch's
    // size (oneDNN picks kernels by shape), so a resumed run forms the same batches as an
    // uninterrupted one and recomputes a batch of which some tiles were done before.
    bool all_resumed = true;
    for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
        if (batch->jobs[i]->empty) continue;
        live.push_back(i);
        all_resumed = all_resumed && batch->jobs[i]->resumed;
    }
    if (all_resumed) {
        for (auto index : live) batch->jobs[index]->input = {};
        return out;
    }
    for (auto index : live) batch->jobs[index]->resumed = false;
    if (live.empty()) return out;
    const auto start = Clock::now();
    const int64_t side = grid_.input_size();
    torch::Tensor input = torch::empty({static_cast<int64_t>(live.size()), bands_, side, side});
    for (std::size_t i = 0; i < live.size(); ++i) {
        const auto& data = batch->jobs[live[i]]->input;
        std::copy(data.begin(), data.end(), input[static_cast<int64_t>(i)].data_ptr<float>());
    }
    for (auto index : live) batch->jobs[index]->input = {};
    // The statistic runs fused into the forward, on each tap while it is in cache and on the
    // forward's own intra-op threads: computed in a separate graph node it ran a second OpenMP team
    // next to the forward's and both slowed down on a few cores.
    double statistic_seconds = 0;
    try {
        out->maps = fused_tap_statistics(*setup_.model, input, setup_.statistic, &out->forward, &statistic_seconds);
    } catch (const std::domain_error& error) {  // the statistic refused a tap
        throw std::runtime_error(context(batch->jobs.front()->tile) + " (batch of " +
                                 std::to_string(batch->jobs.size()) + " tiles): " + error.what());
    } catch (const std::exception& error) {
        throw std::runtime_error(context(batch->jobs[live[0]]->tile) +
                                 " and the rest of its batch: the forward pass failed: " + error.what());
    }
    out->forward.taps.clear();
    out->forward.pre_activation.clear();
    const auto statistic_ns = std::chrono::nanoseconds(static_cast<int64_t>(statistic_seconds * 1e9));
    forward_time_.add(start + statistic_ns);
    statistic_time_.nanoseconds += statistic_ns.count();
    if (setup_.method && !setup_.counting) {  // counting runs score windows (MethodWindows.hpp)
        const auto method_start = Clock::now();
        try {
            out->method = setup_.method->compute(input, out->forward.output);
        } catch (const std::exception& error) {
            throw std::runtime_error(context(batch->jobs[live[0]]->tile) + " and the rest of its batch: method " +
                                     setup_.method->description() + " failed: " + error.what());
        }
        method_time_.add(method_start);
    }
    return out;
}

TileMapsPtr Pass1Graph::tile_maps(const TileJob& job, const std::vector<torch::Tensor>& maps, int64_t image) const {
    auto out = std::make_shared<TileMaps>();
    out->tile = job.tile;
    out->empty = job.empty;
    if (resume_.elsewhere(job.tile.index)) {
        out->elsewhere = true;
        return out;
    }
    const auto done = resume_.done().find(job.tile.index);
    if (job.resumed && done != resume_.done().end()) {
        out->resumed = true;
        out->empty = done->second.empty;
        return out;
    }
    if (job.empty) return out;
    for (std::size_t k = 0; k < setup_.layers(); ++k) {
        Map map = map_from_tensor(maps[k][image]);
        if (!job.valid.empty()) mask_layer(map, job.valid, grid_.input_size(), setup_.strides[k]);
        if (layers_.tile_normalized()) {
            Map normalized = map;
            normalize(setup_.normalization, normalized);
            out->normalized.push_back(std::move(normalized));
        }
        out->raw.push_back(std::move(map));
    }
    return out;
}

BatchMapsPtr Pass1Graph::statistic(const BatchMapsPtr& batch) {
    const auto start = Clock::now();
    std::vector<torch::Tensor> maps;
    if (batch->forward.output.defined()) {
        maps = std::move(batch->maps);  // computed in infer()
    }
    batch->forward = ForwardResult{};  // release the tap tensors
    int64_t live = 0;
    for (const TileJobPtr& job : batch->jobs) {
        const bool in_batch = !job->empty && !job->resumed;
        batch->tiles.push_back(tile_maps(*job, maps, live));
        if (in_batch && !batch->method.empty()) {
            Map& method = batch->method[static_cast<std::size_t>(live)];
            if (!job->valid.empty()) mask_layer(method, job->valid, grid_.input_size(), setup_.method->stride());
            batch->tiles.back()->method = std::move(method);
        }
        if (in_batch) ++live;
    }
    batch->jobs.clear();
    statistic_time_.add(start);
    return batch;
}

/// A tile done by an earlier attempt: its layer cores are read back from the grids and enter the
/// moments exactly as they did when they were written (same values, same order).
void Pass1Graph::replay(const TileMaps& maps) {
    if (!maps.empty) {
        for (std::size_t k = 0; k < setup_.layers(); ++k) {
            const Window target = grid_.layer_crop(maps.tile, setup_.strides[k]).target;
            replay_buffer_.resize(static_cast<std::size_t>(target.area()));
            layers_.raw[k].read(target, replay_buffer_.data());
            for (int64_t y = 0; y < target.height; ++y) {
                result_.moments[k].add_values(replay_buffer_.data() + y * target.width, target.width);
            }
        }
    }
    (maps.empty ? result_.skipped : result_.processed) += 1;
    result_.resumed += 1;
}

void Pass1Graph::stitch(const TileMaps& maps) {
    const auto start = Clock::now();
    if (maps.elsewhere) {
        ++elsewhere_;
        return;
    }
    if (maps.resumed) {
        replay(maps);
        stitch_time_.add(start);
        if (events_.tiles) events_.tiles(scene_, result_.processed + result_.skipped, grid_.tile_count());
        return;
    }
    for (std::size_t k = 0; k < setup_.layers(); ++k) {
        const LayerCrop crop = grid_.layer_crop(maps.tile, setup_.strides[k]);
        if (maps.empty) {
            nan_buffer_.assign(static_cast<std::size_t>(crop.target.area()), std::nanf(""));
            layers_.raw[k].write(crop.target, nan_buffer_.data(), crop.target.width);
            if (layers_.tile_normalized()) layers_.normalized[k].write(crop.target, nan_buffer_.data(), crop.target.width);
            continue;
        }
        const Map& map = maps.raw[k];
        const float* origin = map.data() + crop.source.y * map.width + crop.source.x;
        layers_.raw[k].write(crop.target, origin, map.width);
        for (int64_t y = 0; y < crop.source.height; ++y) {
            result_.moments[k].add_values(origin + y * map.width, crop.source.width);
        }
        if (layers_.tile_normalized()) {
            const Map& normalized = maps.normalized[k];
            layers_.normalized[k].write(crop.target,
                                        normalized.data() + crop.source.y * normalized.width + crop.source.x,
                                        normalized.width);
        }
    }
    if (layers_.method) layers_.method->stitch(maps.tile, maps.empty ? nullptr : &maps.method);
    (maps.empty ? result_.skipped : result_.processed) += 1;
    // Durable before it counts as done: the grids first, then the journal line.
    layers_.sync();
    resume_.record(maps.tile.index, DoneTile{maps.empty, -1});
    stitch_time_.add(start);
    if (events_.tiles) events_.tiles(scene_, result_.processed + result_.skipped, grid_.tile_count());
}

Pass1Result Pass1Graph::run() {
    const int64_t tiles = grid_.tile_count();
    flow::graph graph;
    int64_t next_tile = 0;
    flow::input_node<int64_t> source(graph, [&](tbb::flow_control& control) -> int64_t {
        if (next_tile < tiles && stop_requested()) stopped_ = true;
        if (next_tile >= tiles || stopped_) {
            control.stop();
            return 0;
        }
        return next_tile++;
    });
    // Tiles in flight: enough to fill a batch while the previous one runs and is written.
    flow::limiter_node<int64_t> limiter(graph, static_cast<std::size_t>(3 * batch_size_));
    flow::function_node<int64_t, TileJobPtr> read(graph, flow::unlimited, [this](int64_t i) { return this->read(i); });
    flow::sequencer_node<TileJobPtr> order_in(graph, [](const TileJobPtr& job) {
        return static_cast<std::size_t>(job->tile.index);
    });
    using BatchPort = flow::multifunction_node<TileJobPtr, std::tuple<TileBatchPtr>>;
    auto pending = std::make_shared<TileBatch>();
    BatchPort batcher(graph, flow::serial, [&](const TileJobPtr& job, BatchPort::output_ports_type& ports) {
        pending->jobs.push_back(job);
        if (static_cast<int>(pending->jobs.size()) == batch_size_ || job->tile.index == tiles - 1) {
            std::get<0>(ports).try_put(pending);
            pending = std::make_shared<TileBatch>();
        }
    });
    // One inference worker: LibTorch's intra-op threads already use the cores.
    flow::function_node<TileBatchPtr, BatchMapsPtr> infer(graph, flow::serial,
                                                          [this](const TileBatchPtr& b) { return this->infer(b); });
    flow::function_node<BatchMapsPtr, BatchMapsPtr> statistic(
        graph, flow::serial, [this](const BatchMapsPtr& b) { return this->statistic(b); });
    using UnbatchPort = flow::multifunction_node<BatchMapsPtr, std::tuple<TileMapsPtr>>;
    UnbatchPort unbatch(graph, flow::unlimited, [](const BatchMapsPtr& batch, UnbatchPort::output_ports_type& ports) {
        for (const auto& tile : batch->tiles) std::get<0>(ports).try_put(tile);
    });
    flow::sequencer_node<TileMapsPtr> order_out(graph, [](const TileMapsPtr& maps) {
        return static_cast<std::size_t>(maps->tile.index);
    });
    flow::function_node<TileMapsPtr, flow::continue_msg> stitch(graph, flow::serial, [this](const TileMapsPtr& maps) {
        this->stitch(*maps);
        return flow::continue_msg();
    });

    flow::make_edge(source, limiter);
    flow::make_edge(limiter, read);
    flow::make_edge(read, order_in);
    flow::make_edge(order_in, batcher);
    flow::make_edge(flow::output_port<0>(batcher), infer);
    flow::make_edge(infer, statistic);
    flow::make_edge(statistic, unbatch);
    flow::make_edge(flow::output_port<0>(unbatch), order_out);
    flow::make_edge(order_out, stitch);
    flow::make_edge(stitch, limiter.decrementer());

    const auto wall = Clock::now();
    source.activate();
    graph.wait_for_all();  // rethrows the first exception of any node, after cancelling the graph
    result_.wall_seconds = seconds_since(wall);
    if (stopped_) {
        throw RunInterrupted(scene_ + ": stopped after " + std::to_string(result_.processed + result_.skipped) + " of " +
                             std::to_string(tiles) + " tiles; they are kept in " + resume_.folder() +
                             ": resume with the same command");
    }
    if (result_.processed + result_.skipped + elsewhere_ != tiles) {
        throw std::logic_error(scene_ + ": pass 1 wrote " + std::to_string(result_.processed + result_.skipped) +
                               " of " + std::to_string(tiles) + " tiles");
    }
    result_.read_seconds = read_time_.seconds();
    result_.forward_seconds = forward_time_.seconds();
    result_.statistic_seconds = statistic_time_.seconds();
    result_.stitch_seconds = stitch_time_.seconds();
    result_.method_seconds = method_time_.seconds();
    return std::move(result_);
}

/// The gamma fit's second pass: ln(x - min + 2e-7) of a raw layer grid once the scene minimum
/// is known (MapMoments::add_shifted_logs), read in row bands of about 1M floats.
void add_shifted_logs(const ScratchGrid& grid, MapMoments& moments) {
    const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(1, grid.width()));
    std::vector<float> band;
    for (int64_t y = 0; y < grid.height(); y += rows) {
        const Window window{0, y, grid.width(), std::min(rows, grid.height() - y)};
        band.resize(static_cast<std::size_t>(window.width * window.height));
        grid.read(window, band.data());
        moments.add_shifted_logs(band.data(), window.width * window.height);
    }
}

}  // namespace

Pass1Result run_pass1_share(const RunSetup& setup, const std::string& scene, const TileGrid& grid,
                            const BandScaling& scaling, SceneLayers& layers, Quicklook& quicklook,
                            SceneResume& share, const RunEvents& events) {
    return Pass1Graph(setup, scene, grid, scaling, layers, quicklook, share, events).run();
}

Pass1Result run_pass1(const RunSetup& setup, const std::string& scene, const TileGrid& grid,
                      const BandScaling& scaling, SceneLayers& layers, Quicklook& quicklook,
                      SceneResume& resume, const RunEvents& events) {
    Pass1Result result = Pass1Graph(setup, scene, grid, scaling, layers, quicklook, resume, events).run();
    for (const MapMoments& moments : result.moments) {
        if (moments.count == 0) throw std::runtime_error(scene + ": every pixel is nodata; nothing to explain");
    }
    if (!layers.tile_normalized() && normalization_needs_shifted_logs(setup.normalization)) {
        for (std::size_t k = 0; k < result.moments.size(); ++k) add_shifted_logs(layers.raw[k], result.moments[k]);
    }
    return result;
}

}  // namespace satsal
