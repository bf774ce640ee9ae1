#include "pipeline/SceneRun.hpp"

#include "io/GeoTiffWriter.hpp"
#include "io/Hdf5Writer.hpp"
#include "io/PngWriter.hpp"
#include "io/RasterReader.hpp"
#include "io/CowcAnnotations.hpp"
#include "model/CountingLayout.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/OutputStaging.hpp"
#include "pipeline/Progress.hpp"
#include "pipeline/ScratchGrid.hpp"
#include "pipeline/Seams.hpp"
#include "pipeline/Version.hpp"
#include "pipeline/Timing.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Lovi.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/TensorStatistics.hpp"
#include "tiling/Padding.hpp"
#include "tiling/Seams.hpp"
#include "tiling/TileGrid.hpp"

#include <gdal_priv.h>
#include <hdf5.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/version.h>
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <numeric>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;
namespace flow = tbb::flow;

namespace satsal {
namespace {

/// Busy time of a stage, summed over the threads that ran it.
struct StageTimer {
    std::atomic<int64_t> nanoseconds{0};
    void add(Clock::time_point start) {
        nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    }
    double seconds() const { return static_cast<double>(nanoseconds.load()) * 1e-9; }
};

PadRule pad_rule(PadMode mode) {
    switch (mode) {
        case PadMode::Reflect: return PadRule::reflect;
        case PadMode::Mean: return PadRule::mean;
        case PadMode::Zero: return PadRule::zero;
    }
    return PadRule::reflect;
}

std::string window_text(const Window& w) {
    return "[x " + std::to_string(w.x) + ".." + std::to_string(w.x_end()) + ", y " +
           std::to_string(w.y) + ".." + std::to_string(w.y_end()) + ")";
}

// ------------------------------------------------------------------------------------------
// Everything fixed for a whole run: the model, its taps, weights, statistic settings.

struct RunSetup {
    const RunConfig& config;
    TappedModel model;
    Statistic statistic;
    StatisticOptions statistic_options;
    Normalization normalization;
    std::vector<double> weights;
    // Strides of the scene-level layer grids. In saliency runs these are the taps' strides. In
    // counting runs the 16 px frame of the COWC canvas is not a multiple of a stride-32 tap, so such
    // a tap is resampled (bilinear, half-pixel centres) onto the stride-16 grid: gcd(stride, 16).
    std::vector<int64_t> strides;
    std::vector<int64_t> tap_strides;  // the model's own
    int64_t deepest_stride = 0;        // the tile grid's alignment
    bool counting = false;
    std::optional<int64_t> margin;     // decided on the first scene when `auto`
    Json margin_report;

    explicit RunSetup(const RunConfig& c)
        : config(c),
          model(c.model, c.taps, statistic_uses_pre_activation(parse_statistic(c.statistic)),
                make_inference_options(c.precision, c.device)),
          statistic(parse_statistic(c.statistic)),
          normalization(parse_normalization(c.norm)),
          weights(parse_weights(c.weights, model.taps().size())),
          margin(c.margin) {
        counting = c.task == RunTask::Count;
        for (const auto& tap : model.taps()) {
            tap_strides.push_back(tap.stride);
            strides.push_back(counting ? std::gcd(tap.stride, int64_t{counting::kCanvasOffset}) : tap.stride);
        }
        deepest_stride = counting ? *std::max_element(strides.begin(), strides.end()) : model.deepest_stride();
        if (counting) {
            // The COWC counting layout: each window's core is 192 px of scene pasted into a 224 px
            // canvas of the mean colour; windows are ownership cores, so counts add up to the total.
            tile_size = counting::kContentSize;
            margin = counting::kCanvasOffset;
            return;
        }
        for (int64_t s : strides) {
            if (deepest_stride % s != 0) {
                throw std::invalid_argument(c.model + ": tap stride " + std::to_string(s) +
                                            " does not divide the deepest stride " +
                                            std::to_string(deepest_stride) +
                                            "; tiles cannot line up every layer");
            }
        }
        tile_size = c.tile_size;
        if (c.tile_size % deepest_stride != 0) {
            throw std::invalid_argument("tile_size " + std::to_string(c.tile_size) +
                                        " is not a multiple of the model's deepest stride " +
                                        std::to_string(deepest_stride));
        }
        if (margin && *margin % deepest_stride != 0) {
            throw std::invalid_argument("margin " + std::to_string(*margin) +
                                        " is not a multiple of the model's deepest stride " +
                                        std::to_string(deepest_stride));
        }
    }

    int64_t tile_size = 0;

    const std::vector<torch::Tensor>& tap_tensors(const ForwardResult& result) const {
        return statistic_uses_pre_activation(statistic) ? result.pre_activation : result.taps;
    }
};

// ------------------------------------------------------------------------------------------
// Reading one tile: window (with padding and nodata), scaling, standardization.

/// The quicklook: point samples of the combined map (pass 2) over point samples of the scene's
/// scaled input, taken from the tiles as pass 1 reads them so the scene is never read twice.
struct Quicklook {
    int64_t factor = 1;        // output pixels per quicklook pixel
    int64_t scene_factor = 1;  // scene pixels per quicklook pixel (factor * output_scale)
    Map combined;
    std::vector<uint8_t> rgb;  // [h][w][3]; tiles write disjoint pixels, so no lock is needed

    /// Samples the quicklook pixels whose scene position lies in `core` from planar [0, 1] data
    /// covering `window` (bands in model order; the first three, or the one repeated).
    void sample(const Window& core, const Window& window, const float* unit, int64_t bands) {
        const int64_t w = combined.width, h = combined.height;
        for (int64_t qy = ceil_div(core.y, scene_factor); qy < h && qy * scene_factor < core.y_end(); ++qy) {
            for (int64_t qx = ceil_div(core.x, scene_factor); qx < w && qx * scene_factor < core.x_end(); ++qx) {
                const int64_t at = (qy * scene_factor - window.y) * window.width + (qx * scene_factor - window.x);
                for (int64_t b = 0; b < 3; ++b) {
                    const float v = unit[std::min(b, bands - 1) * window.area() + at];
                    rgb[static_cast<std::size_t>((qy * w + qx) * 3 + b)] = static_cast<uint8_t>(std::lround(255.0f * v));
                }
            }
        }
    }
};

struct TileJob {
    Tile tile;
    bool empty = false;
    std::vector<float> input;    // standardized [bands][side][side]; empty when skipped
    std::vector<uint8_t> valid;  // [side][side] validity of the input window; empty: all valid
};
using TileJobPtr = std::shared_ptr<TileJob>;

struct TileBatch {
    std::vector<TileJobPtr> jobs;
};
using TileBatchPtr = std::shared_ptr<TileBatch>;

struct TileMaps {
    Tile tile;
    bool empty = false;
    std::vector<Map> raw;         // per tap, the tile's whole layer map
    std::vector<Map> normalized;  // normalize = tile only
    int count = -1;               // counting runs: arg-max count class of the window
};
using TileMapsPtr = std::shared_ptr<TileMaps>;

struct BatchMaps {
    std::vector<TileMapsPtr> tiles;
    std::vector<TileJobPtr> jobs;  // kept for the masks until the statistic is applied
    ForwardResult forward;
};
using BatchMapsPtr = std::shared_ptr<BatchMaps>;

class TileReader {
public:
    TileReader(const std::string& path, const TileGrid& grid, const BandScaling& scaling, PadRule pad,
               bool counting, Quicklook& quicklook)
        : path_(path), grid_(grid), scaling_(scaling), pad_(pad), counting_(counting), quicklook_(quicklook) {}

    TileJobPtr read(int64_t index) {
        auto& reader = readers_.local();
        if (!reader) reader = std::make_unique<RasterReader>(path_);
        auto job = std::make_shared<TileJob>();
        job->tile = grid_.tile(index);
        if (counting_) return read_count_window(*reader, job);
        const Tile& tile = job->tile;
        const PadPlan plan = plan_padded_window(tile.input, grid_.scene(), pad_);
        const Window& source = plan.source;
        const int64_t bands = static_cast<int64_t>(scaling_.bands.size());
        std::vector<float> raw(static_cast<std::size_t>(bands * source.area()));
        reader->read_window_into(scaling_.bands, static_cast<int>(source.x), static_cast<int>(source.y),
                                 static_cast<int>(source.width), static_cast<int>(source.height),
                                 raw.data());
        scaling_.to_unit(raw.data(), source.area());
        quicklook_.sample(tile.core, source, raw.data(), bands);
        // Padding happens on [0, 1] values; `mean` and nodata fill with the model's mean colour,
        // the same value in every tile so that nodata borders cannot make seams.
        std::vector<float> fill(scaling_.mean.begin(), scaling_.mean.end());
        const int64_t side = tile.input.width;
        job->input.resize(static_cast<std::size_t>(bands * side * side));
        const PlanarView view{raw.data(), bands, source};
        if (reader->all_valid(scaling_.bands)) {
            pad_window_into(plan, view, fill, job->input.data());
        } else {
            const std::vector<uint8_t> source_mask = reader->read_valid_mask(
                scaling_.bands, static_cast<int>(source.x), static_cast<int>(source.y),
                static_cast<int>(source.width), static_cast<int>(source.height));
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

private:
    /// COWC counting layout: the core's scene pixels at their place in a canvas of the model's
    /// mean colour (no context from neighbouring windows, as in training).
    TileJobPtr read_count_window(RasterReader& reader, const TileJobPtr& job) {
        const Tile& tile = job->tile;
        const Window& core = tile.core;
        const int64_t bands = static_cast<int64_t>(scaling_.bands.size());
        const int64_t side = tile.input.width;
        std::vector<float> raw(static_cast<std::size_t>(bands * core.area()));
        reader.read_window_into(scaling_.bands, static_cast<int>(core.x), static_cast<int>(core.y),
                                static_cast<int>(core.width), static_cast<int>(core.height), raw.data());
        scaling_.to_unit(raw.data(), core.area());
        quicklook_.sample(core, core, raw.data(), bands);
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
                    const std::size_t to = static_cast<std::size_t>((y + core.y - tile.input.y) * side +
                                                                    (x + core.x - tile.input.x));
                    if (mask.empty() || mask[at]) plane[to] = raw[static_cast<std::size_t>(b) * core.area() + at];
                    if (b == 0 && !mask.empty()) job->valid[to] = mask[at];
                }
            }
        }
        scaling_.standardize(job->input.data(), side * side);
        return job;
    }

    std::string path_;
    const TileGrid& grid_;
    const BandScaling& scaling_;
    PadRule pad_;
    bool counting_;
    Quicklook& quicklook_;
    tbb::enumerable_thread_specific<std::unique_ptr<RasterReader>> readers_;
};

/// Layer pixels whose stride x stride footprint holds no valid input pixel become NaN.
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

// ------------------------------------------------------------------------------------------
// Pass 1: the flow graph.

struct Pass1Result {
    std::vector<MapMoments> moments;  // per layer, over the scene's valid layer pixels
    std::vector<int> counts;          // counting runs: per window (tile index), -1 for nodata windows
    int64_t processed = 0;
    int64_t skipped = 0;
    double read_seconds = 0, forward_seconds = 0, statistic_seconds = 0, stitch_seconds = 0;
    double wall_seconds = 0;
};

Pass1Result run_pass1(const RunSetup& setup, const std::string& scene, const TileGrid& grid,
                      const BandScaling& scaling, std::vector<ScratchGrid>& raw_layers,
                      std::vector<ScratchGrid>* normalized_layers, Quicklook& quicklook, bool quiet) {
    const RunConfig& config = setup.config;
    const std::size_t layers = setup.strides.size();
    const int64_t tiles = grid.tile_count();
    const int64_t side = grid.input_size();
    const int64_t bands = static_cast<int64_t>(scaling.bands.size());
    const int batch_size = std::max(1, config.batch_size);

    TileReader reader(scene, grid, scaling, pad_rule(config.pad), setup.counting, quicklook);
    Pass1Result result;
    result.moments.resize(layers);
    if (setup.counting) result.counts.assign(static_cast<std::size_t>(tiles), -1);
    StageTimer read_time, forward_time, statistic_time, stitch_time;
    Progress progress(fs::path(scene).filename().string(), tiles, quiet);

    auto context = [&](const Tile& tile) {
        return scene + ": tile " + std::to_string(tile.index) + " (column " + std::to_string(tile.column) +
               ", row " + std::to_string(tile.row) + ", core " + window_text(tile.core) + ")";
    };

    flow::graph graph;
    int64_t next_tile = 0;
    flow::input_node<int64_t> source(graph, [&](tbb::flow_control& control) -> int64_t {
        if (next_tile >= tiles) {
            control.stop();
            return 0;
        }
        return next_tile++;
    });
    // Tiles in flight: enough to fill a batch while the previous one runs and is written.
    flow::limiter_node<int64_t> limiter(graph, static_cast<std::size_t>(3 * batch_size));

    flow::function_node<int64_t, TileJobPtr> read(graph, flow::unlimited, [&](int64_t index) {
        const auto start = Clock::now();
        try {
            TileJobPtr job = reader.read(index);
            read_time.add(start);
            return job;
        } catch (const std::exception& error) {
            throw std::runtime_error(context(grid.tile(index)) + ": reading failed: " + error.what());
        }
    });
    flow::sequencer_node<TileJobPtr> order_in(graph, [](const TileJobPtr& job) {
        return static_cast<std::size_t>(job->tile.index);
    });

    using BatchPort = flow::multifunction_node<TileJobPtr, std::tuple<TileBatchPtr>>;
    auto pending = std::make_shared<TileBatch>();
    BatchPort batcher(graph, flow::serial, [&](const TileJobPtr& job, BatchPort::output_ports_type& ports) {
        pending->jobs.push_back(job);
        if (static_cast<int>(pending->jobs.size()) == batch_size || job->tile.index == tiles - 1) {
            std::get<0>(ports).try_put(pending);
            pending = std::make_shared<TileBatch>();
        }
    });

    // One inference worker: LibTorch's intra-op threads already use the cores.
    flow::function_node<TileBatchPtr, BatchMapsPtr> infer(graph, flow::serial, [&](const TileBatchPtr& batch) {
        auto out = std::make_shared<BatchMaps>();
        out->jobs = batch->jobs;
        std::vector<int64_t> live;
        for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
            if (!batch->jobs[i]->empty) live.push_back(static_cast<int64_t>(i));
        }
        if (live.empty()) return out;
        const auto start = Clock::now();
        torch::Tensor input = torch::empty({static_cast<int64_t>(live.size()), bands, side, side});
        for (std::size_t i = 0; i < live.size(); ++i) {
            const auto& data = batch->jobs[static_cast<std::size_t>(live[i])]->input;
            std::copy(data.begin(), data.end(), input[static_cast<int64_t>(i)].data_ptr<float>());
        }
        for (auto index : live) batch->jobs[static_cast<std::size_t>(index)]->input = {};
        try {
            out->forward = setup.model.forward(input);
        } catch (const std::exception& error) {
            throw std::runtime_error(context(batch->jobs[static_cast<std::size_t>(live[0])]->tile) +
                                     " and the rest of its batch: the forward pass failed: " + error.what());
        }
        forward_time.add(start);
        return out;
    });

    flow::function_node<BatchMapsPtr, BatchMapsPtr> statistic(graph, flow::serial, [&](const BatchMapsPtr& batch) {
        const auto start = Clock::now();
        std::vector<torch::Tensor> maps;
        if (batch->forward.output.defined()) {
            for (const auto& tap : setup.tap_tensors(batch->forward)) {
                try {
                    maps.push_back(channel_statistic(setup.statistic, tap, setup.statistic_options));
                } catch (const std::exception& error) {
                    throw std::runtime_error(context(batch->jobs.front()->tile) + " (batch of " +
                                             std::to_string(batch->jobs.size()) + " tiles): " + error.what());
                }
            }
        }
        std::vector<int64_t> counts;
        if (setup.counting && batch->forward.output.defined()) {
            const torch::Tensor classes = batch->forward.output.argmax(1).to(torch::kInt64).contiguous();
            counts.assign(classes.data_ptr<int64_t>(), classes.data_ptr<int64_t>() + classes.numel());
        }
        batch->forward = ForwardResult{};  // release the tap tensors
        int64_t live = 0;
        for (const TileJobPtr& job : batch->jobs) {
            auto maps_out = std::make_shared<TileMaps>();
            maps_out->tile = job->tile;
            maps_out->empty = job->empty;
            if (!job->empty) {
                if (!counts.empty()) maps_out->count = static_cast<int>(counts[static_cast<std::size_t>(live)]);
                for (std::size_t k = 0; k < layers; ++k) {
                    Map map = map_from_tensor(maps[k][live]);
                    if (setup.strides[k] != setup.tap_strides[k]) {
                        const int64_t factor = setup.tap_strides[k] / setup.strides[k];
                        map = upsample_bilinear(map, map.width * factor, map.height * factor);
                    }
                    if (!job->valid.empty()) mask_layer(map, job->valid, side, setup.strides[k]);
                    if (normalized_layers) {
                        Map normalized = map;
                        normalize(setup.normalization, normalized);
                        maps_out->normalized.push_back(std::move(normalized));
                    }
                    maps_out->raw.push_back(std::move(map));
                }
                ++live;
            }
            batch->tiles.push_back(maps_out);
        }
        batch->jobs.clear();
        statistic_time.add(start);
        return batch;
    });

    using UnbatchPort = flow::multifunction_node<BatchMapsPtr, std::tuple<TileMapsPtr>>;
    UnbatchPort unbatch(graph, flow::unlimited, [](const BatchMapsPtr& batch, UnbatchPort::output_ports_type& ports) {
        for (const auto& tile : batch->tiles) std::get<0>(ports).try_put(tile);
    });
    flow::sequencer_node<TileMapsPtr> order_out(graph, [](const TileMapsPtr& maps) {
        return static_cast<std::size_t>(maps->tile.index);
    });

    std::vector<float> nan_buffer;
    flow::function_node<TileMapsPtr, flow::continue_msg> stitch(graph, flow::serial, [&](const TileMapsPtr& maps) {
        const auto start = Clock::now();
        for (std::size_t k = 0; k < layers; ++k) {
            const LayerCrop crop = grid.layer_crop(maps->tile, setup.strides[k]);
            if (maps->empty) {
                nan_buffer.assign(static_cast<std::size_t>(crop.target.area()), std::nanf(""));
                raw_layers[k].write(crop.target, nan_buffer.data(), crop.target.width);
                if (normalized_layers) (*normalized_layers)[k].write(crop.target, nan_buffer.data(), crop.target.width);
                continue;
            }
            const Map& map = maps->raw[k];
            const float* origin = map.data() + crop.source.y * map.width + crop.source.x;
            raw_layers[k].write(crop.target, origin, map.width);
            for (int64_t y = 0; y < crop.source.height; ++y) {
                result.moments[k].add_values(origin + y * map.width, crop.source.width);
            }
            if (normalized_layers) {
                const Map& normalized = maps->normalized[k];
                (*normalized_layers)[k].write(
                    crop.target, normalized.data() + crop.source.y * normalized.width + crop.source.x,
                    normalized.width);
            }
        }
        if (setup.counting) result.counts[static_cast<std::size_t>(maps->tile.index)] = maps->count;
        (maps->empty ? result.skipped : result.processed) += 1;
        stitch_time.add(start);
        progress.tick();
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
    result.wall_seconds = seconds_since(wall);
    progress.finish();
    if (result.processed + result.skipped != tiles) {
        throw std::logic_error(scene + ": pass 1 wrote " + std::to_string(result.processed + result.skipped) +
                               " of " + std::to_string(tiles) + " tiles");
    }
    result.read_seconds = read_time.seconds();
    result.forward_seconds = forward_time.seconds();
    result.statistic_seconds = statistic_time.seconds();
    result.stitch_seconds = stitch_time.seconds();
    return result;
}

// ------------------------------------------------------------------------------------------
// Pass 2: blocks of the output grid.

constexpr int64_t kBlock = 512;  // output block side; equal to the GeoTIFF block so writes are whole blocks

/// A window of a layer map read from its scratch grid, normalized (scene) or as stored (tile), with
/// nodata replaced by 0 so that bilinear samples next to nodata stay finite (the final mask
/// restores nodata where the input has none).
Map read_layer_window(const ScratchGrid& grid, const Window& window, const MapMoments* scene_moments,
                      Normalization normalization) {
    Map map(window.width, window.height);
    grid.read(window, map.data());
    if (scene_moments) normalize_values(normalization, *scene_moments, map.data(), map.size());
    for (float& value : map.values) {
        if (std::isnan(value)) value = 0.0f;
    }
    return map;
}

/// Does the saliency look at cars? Mean saliency within kCarCoreRadius px of an annotated car
/// centre (inside a car of any orientation: COWC cars are about 12 px wide at 15 cm) against the
/// mean farther than kCarClearRadius px from every car centre (the pixels between are neither).
constexpr int64_t kCarCoreRadius = 6;
constexpr int64_t kCarClearRadius = 20;

struct CarSaliency {
    std::vector<double> inside_sum, elsewhere_sum;  // [0] combined, [k + 1] layer k (upsampled, normalized)
    int64_t inside_pixels = 0, elsewhere_pixels = 0;
    void resize(std::size_t layers) {
        inside_sum.assign(layers + 1, 0.0);
        elsewhere_sum.assign(layers + 1, 0.0);
    }
    void merge(const CarSaliency& other) {
        for (std::size_t i = 0; i < inside_sum.size(); ++i) {
            inside_sum[i] += other.inside_sum[i];
            elsewhere_sum[i] += other.elsewhere_sum[i];
        }
        inside_pixels += other.inside_pixels;
        elsewhere_pixels += other.elsewhere_pixels;
    }
};

struct Pass2Outputs {
    GeoTiffWriter& saliency;
    GeoTiffWriter& lovi;
    Hdf5Writer& h5;
    Quicklook& quicklook;
    const cowc::ObjectPositions* cars = nullptr;  // measured only at output_scale 1
    CarSaliency car_saliency;
};

struct OutputBlock {
    int64_t x = 0, y = 0, width = 0, height = 0;
    Map combined;
    std::vector<uint8_t> lovi;
    CarSaliency cars;
};

/// Adds a block's pixels to the inside-car / away-from-cars sums (see CarSaliency).
void measure_car_saliency(const cowc::ObjectPositions& cars, const std::vector<Map>& upsampled, OutputBlock& block) {
    const int64_t bx = block.x, by = block.y, bw = block.width, bh = block.height;
    // 0 = away from cars, 1 = between, 2 = car core.
    std::vector<uint8_t> label(static_cast<std::size_t>(bw * bh), 0);
    const auto dots = cars.positions_in_window(bx - kCarClearRadius, by - kCarClearRadius,
                                               bx + bw + kCarClearRadius, by + bh + kCarClearRadius);
    for (int pass = 1; pass <= 2; ++pass) {
        const int64_t radius = pass == 1 ? kCarClearRadius : kCarCoreRadius;
        for (const auto& dot : dots) {
            for (int64_t y = std::max<int64_t>(by, dot.y - radius); y <= std::min(by + bh - 1, dot.y + radius); ++y) {
                for (int64_t x = std::max<int64_t>(bx, dot.x - radius); x <= std::min(bx + bw - 1, dot.x + radius); ++x) {
                    const int64_t dx = x - dot.x, dy = y - dot.y;
                    if (dx * dx + dy * dy <= radius * radius) {
                        label[static_cast<std::size_t>((y - by) * bw + (x - bx))] = static_cast<uint8_t>(pass);
                    }
                }
            }
        }
    }
    block.cars.resize(upsampled.size());
    for (int64_t i = 0; i < bw * bh; ++i) {
        const float combined = block.combined.values[static_cast<std::size_t>(i)];
        const uint8_t where = label[static_cast<std::size_t>(i)];
        if (std::isnan(combined) || where == 1) continue;
        auto& sums = where == 2 ? block.cars.inside_sum : block.cars.elsewhere_sum;
        sums[0] += combined;
        for (std::size_t k = 0; k < upsampled.size(); ++k) sums[k + 1] += upsampled[k].values[static_cast<std::size_t>(i)];
        (where == 2 ? block.cars.inside_pixels : block.cars.elsewhere_pixels) += 1;
    }
}

/// Pass 2: output blocks computed in parallel (scratch reads are pread, one GDAL handle per thread
/// for masks) and written in raster order by one thread (GDAL and HDF5 handles are not shared).
double pass2_blocks(const RunSetup& setup, const std::string& scene, const TileGrid& grid,
                    const std::vector<ScratchGrid>& layer_grids, const std::vector<MapMoments>* scene_moments,
                    int64_t output_scale, const RasterReader& reader, const std::vector<int>& bands,
                    Pass2Outputs& out) {
    const auto start = Clock::now();
    const int64_t out_w = ceil_div(grid.scene_width(), output_scale);
    const int64_t out_h = ceil_div(grid.scene_height(), output_scale);
    const int64_t columns = ceil_div(out_w, kBlock);
    const int64_t blocks = columns * ceil_div(out_h, kBlock);
    const std::size_t layers = layer_grids.size();
    const bool all_valid = reader.all_valid(bands);
    tbb::enumerable_thread_specific<std::unique_ptr<RasterReader>> mask_readers;
    int64_t next = 0;

    auto compute = [&](int64_t index) {
        auto block = std::make_shared<OutputBlock>();
        const int64_t bx = (index % columns) * kBlock, by = (index / columns) * kBlock;
        const int64_t bw = std::min(kBlock, out_w - bx), bh = std::min(kBlock, out_h - by);
        block->x = bx;
        block->y = by;
        block->width = bw;
        block->height = bh;
        std::vector<Map> upsampled;
        upsampled.reserve(layers);
        for (std::size_t k = 0; k < layers; ++k) {
            const double scale = static_cast<double>(setup.strides[k]) / static_cast<double>(output_scale);
            const ScratchGrid& layer = layer_grids[k];
            const LayerSpan xs = bilinear_source_span(bx, bw, scale, layer.width());
            const LayerSpan ys = bilinear_source_span(by, bh, scale, layer.height());
            const Window window{xs.first, ys.first, xs.last - xs.first + 1, ys.last - ys.first + 1};
            const Map source = read_layer_window(layer, window, scene_moments ? &(*scene_moments)[k] : nullptr,
                                                 setup.normalization);
            upsampled.push_back(upsample_bilinear_window(source, window.x, window.y, layer.width(),
                                                         layer.height(), scale, scale, bx, by, bw, bh));
        }
        block->combined = combine(upsampled, setup.weights);
        block->lovi = lovi_rgb(upsampled);
        if (!all_valid) {
            auto& mask_reader = mask_readers.local();
            if (!mask_reader) mask_reader = std::make_unique<RasterReader>(scene);
            // An output pixel is nodata when its whole footprint in the input is.
            const Window footprint =
                Window{bx * output_scale, by * output_scale, bw * output_scale, bh * output_scale}.intersect(
                    grid.scene());
            const std::vector<uint8_t> mask = mask_reader->read_valid_mask(
                bands, static_cast<int>(footprint.x), static_cast<int>(footprint.y),
                static_cast<int>(footprint.width), static_cast<int>(footprint.height));
            for (int64_t y = 0; y < bh; ++y) {
                for (int64_t x = 0; x < bw; ++x) {
                    const Window pixel =
                        Window{(bx + x) * output_scale, (by + y) * output_scale, output_scale, output_scale}
                            .intersect(footprint);
                    if (count_valid(mask.data(), footprint, pixel) > 0) continue;
                    block->combined.at(x, y) = std::nanf("");
                    std::fill_n(block->lovi.begin() + (y * bw + x) * 3, 3, uint8_t{0});
                }
            }
        }
        if (out.cars && output_scale == 1) measure_car_saliency(*out.cars, upsampled, *block);
        return block;
    };

    auto write = [&](const std::shared_ptr<OutputBlock>& block) {
        const int bx = static_cast<int>(block->x), by = static_cast<int>(block->y);
        const int bw = static_cast<int>(block->width), bh = static_cast<int>(block->height);
        out.saliency.write_window(1, bx, by, bw, bh, block->combined.data());
        out.lovi.write_window_interleaved(bx, by, bw, bh, block->lovi.data());
        out.h5.write_window("/combined", bx, by, bw, bh, block->combined.data());
        out.h5.write_window("/lovi", bx, by, bw, bh, block->lovi.data());
        if (!block->cars.inside_sum.empty()) {
            if (out.car_saliency.inside_sum.empty()) out.car_saliency.resize(layers);
            out.car_saliency.merge(block->cars);
        }
        // Quicklook: point samples of the combined map.
        Quicklook& q = out.quicklook;
        for (int64_t qy = ceil_div(by, q.factor); qy * q.factor < by + bh && qy < q.combined.height; ++qy) {
            for (int64_t qx = ceil_div(bx, q.factor); qx * q.factor < bx + bw && qx < q.combined.width; ++qx) {
                q.combined.at(qx, qy) = block->combined.at(qx * q.factor - bx, qy * q.factor - by);
            }
        }
    };

    const std::size_t tokens = 2 * static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::parallel_pipeline(
        tokens,
        tbb::make_filter<void, int64_t>(tbb::filter_mode::serial_in_order,
                                        [&](tbb::flow_control& control) -> int64_t {
                                            if (next >= blocks) {
                                                control.stop();
                                                return 0;
                                            }
                                            return next++;
                                        }) &
            tbb::make_filter<int64_t, std::shared_ptr<OutputBlock>>(tbb::filter_mode::parallel, compute) &
            tbb::make_filter<std::shared_ptr<OutputBlock>, void>(tbb::filter_mode::serial_in_order, write));
    return seconds_since(start);
}

/// Layer maps at native resolution: saliency.h5 /layers and /layers_normalized, and
/// layer_L<k>.tif (normalized) when asked.
double write_layer_outputs(const RunSetup& setup, const std::vector<ScratchGrid>& raw_layers,
                           const std::vector<ScratchGrid>* normalized_layers,
                           const std::vector<MapMoments>& moments, Hdf5Writer& h5,
                           std::vector<std::unique_ptr<GeoTiffWriter>>& layer_tiffs) {
    const auto start = Clock::now();
    for (std::size_t k = 0; k < raw_layers.size(); ++k) {
        const std::string name = "L" + std::to_string(k + 1);
        const ScratchGrid& raw = raw_layers[k];
        for (int64_t y = 0; y < raw.height(); y += kBlock) {
            for (int64_t x = 0; x < raw.width(); x += kBlock) {
                const Window window{x, y, std::min(kBlock, raw.width() - x), std::min(kBlock, raw.height() - y)};
                Map block(window.width, window.height);
                raw.read(window, block.data());
                h5.write_window("/layers/" + name, x, y, window.width, window.height, block.data());
                if (normalized_layers) {
                    (*normalized_layers)[k].read(window, block.data());
                } else {
                    normalize_values(setup.normalization, moments[k], block.data(), block.size());
                }
                h5.write_window("/layers_normalized/" + name, x, y, window.width, window.height, block.data());
                if (!layer_tiffs.empty()) {
                    layer_tiffs[k]->write_window(1, static_cast<int>(x), static_cast<int>(y),
                                                 static_cast<int>(window.width), static_cast<int>(window.height),
                                                 block.data());
                }
            }
        }
    }
    return seconds_since(start);
}

/// The quicklook: the combined map over a gray version of the scene's samples.
void write_quicklook(const std::string& path, const Quicklook& quicklook) {
    // Nodata (NaN) pixels show the gray input only.
    const std::vector<uint8_t> overlay = overlay_rgb(quicklook.combined, quicklook.rgb);
    write_png(path, static_cast<int>(quicklook.combined.width), static_cast<int>(quicklook.combined.height), 3,
              overlay.data());
}

// ------------------------------------------------------------------------------------------
// margin = auto

int64_t choose_auto_margin(RunSetup& setup, const std::string& scene, const BandScaling& scaling, bool quiet) {
    const RunConfig& config = setup.config;
    const int64_t s = setup.deepest_stride;
    std::vector<int64_t> candidates;
    // Up to 8 strides (256 px for stride 32): FACTS.md measured ResNet-50 below 1% at 128.
    for (int64_t m = s; m <= std::min<int64_t>(config.tile_size, 8 * s); m += s) candidates.push_back(m);
    const int64_t max_margin = candidates.back();
    RasterReader reader(scene);
    const int64_t want = seam_probe_side(config.tile_size, max_margin);
    const int64_t probe_w = std::min<int64_t>(want, reader.width()) / s * s;
    const int64_t probe_h = std::min<int64_t>(want, reader.height()) / s * s;
    if (probe_w < config.tile_size + 2 * max_margin || probe_h < config.tile_size + 2 * max_margin) {
        // Too small a scene to measure seams between tiles at every candidate margin; a scene this
        // small has at most a few tiles, so take the largest candidate.
        setup.margin_report["chosen"] = max_margin;
        setup.margin_report["reason"] = "scene too small for a seam probe; the largest candidate margin was used";
        if (!quiet) {
            std::fprintf(stderr, "satsal: margin = auto: %s is too small for a seam probe; using margin %lld\n",
                         scene.c_str(), static_cast<long long>(max_margin));
        }
        return max_margin;
    }
    SeamProbe probe;
    probe.width = probe_w;
    probe.height = probe_h;
    const int64_t x0 = (reader.width() - probe_w) / 2, y0 = (reader.height() - probe_h) / 2;
    probe.planar = reader.read_window(scaling.bands, static_cast<int>(x0), static_cast<int>(y0),
                                      static_cast<int>(probe_w), static_cast<int>(probe_h));
    scaling.to_unit(probe.planar.data(), probe_w * probe_h);
    scaling.standardize(probe.planar.data(), probe_w * probe_h);
    const MarginChoice choice = choose_margin(
        candidates,
        [&](int64_t margin) {
            return seam_errors(setup.model, probe, config.tile_size, margin, max_margin, setup.statistic,
                               setup.statistic_options, std::max(1, config.batch_size))
                .errors;
        },
        config.seam_tolerance);
    Json measured = Json::array();
    for (const auto& m : choice.measured) {
        Json entry = Json::object();
        entry["margin"] = m.margin;
        entry["errors"] = m.errors;
        measured.push_back(entry);
    }
    setup.margin_report["chosen"] = choice.margin;
    setup.margin_report["tolerance"] = config.seam_tolerance;
    setup.margin_report["probe"] = scene + " centre crop " + std::to_string(probe_w) + "x" + std::to_string(probe_h);
    setup.margin_report["measured"] = measured;
    if (!quiet) {
        std::fprintf(stderr, "satsal: margin = auto chose %lld px (worst layer seam error %.2e <= %.2e, probe %lldx%lld of %s)\n",
                     static_cast<long long>(choice.margin), choice.measured.back().worst(), config.seam_tolerance,
                     static_cast<long long>(probe_w), static_cast<long long>(probe_h), scene.c_str());
    }
    return choice.margin;
}

// ------------------------------------------------------------------------------------------

std::string versions_text() {
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    return "satsal " + satsal_version() + ", LibTorch " + TORCH_VERSION + ", GDAL " +
           GDALVersionInfo("RELEASE_NAME") + ", oneTBB " + TBB_VERSION_STRING + ", HDF5 " +
           std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

Json moments_json(const MapMoments& m) {
    Json json = Json::object();
    json["valid_pixels"] = static_cast<int64_t>(m.count);
    json["mean"] = m.mean();
    json["std"] = m.stddev();
    json["min"] = m.count ? m.min : NAN;
    json["max"] = m.count ? m.max : NAN;
    return json;
}

/// Writes text to `path` through a temporary name, so a failure leaves no final-named file.
void write_text_file(const std::string& path, const std::string& text) {
    const std::string temp = path + ".partial";
    {
        std::ofstream out(temp, std::ios::binary);
        out << text;
        out.flush();
        if (!out) {
            std::remove(temp.c_str());
            throw std::runtime_error(path + ": cannot write (disk full or no permission?)");
        }
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        std::remove(temp.c_str());
        throw std::runtime_error(path + ": cannot move the finished file into place");
    }
}

/// The COWC car annotation of a scene: `annotations` names the PNG itself or a folder holding
/// `<scene name>_Annotated_Cars.png`; without it, a PNG scene's own annotation beside it is used
/// when present. Empty when there is none.
std::string find_car_annotations(const RunConfig& config, const std::string& scene) {
    const std::string file = scene_name(scene) + "_Annotated_Cars.png";
    if (!config.annotations.empty()) {
        if (fs::is_directory(config.annotations)) {
            const fs::path candidate = fs::path(config.annotations) / file;
            if (!fs::exists(candidate)) {
                throw std::runtime_error("annotations: " + candidate.string() + " does not exist (the folder " +
                                         config.annotations + " has no annotation for scene " + scene + ")");
            }
            return candidate.string();
        }
        return config.annotations;
    }
    const fs::path beside = fs::path(scene).parent_path() / file;
    return fs::exists(beside) ? beside.string() : std::string();
}

/// counts.tif (one pixel per window), counts.csv (one row per window) and the run.json section.
Json write_count_outputs(OutputStaging& staging, const TileGrid& grid, const GeoReference& geo,
                         const std::vector<int>& counts, const cowc::ObjectPositions* cars,
                         const std::string& annotation_path, SceneOutcome& outcome) {
    Map count_map(grid.columns(), grid.rows(), std::nanf(""));
    std::string csv = "window,column,row,x0,y0,x1,y1,predicted" + std::string(cars ? ",true\n" : "\n");
    int64_t predicted_total = 0, true_total = 0, windows = 0, exact = 0;
    double absolute_error = 0;
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile tile = grid.tile(i);
        const int predicted = counts[static_cast<std::size_t>(i)];
        const int64_t truth = cars ? cars->count_in_window(tile.core.x, tile.core.y, tile.core.x_end(),
                                                           tile.core.y_end())
                                   : -1;
        if (predicted >= 0) {
            count_map.at(tile.column, tile.row) = static_cast<float>(predicted);
            predicted_total += predicted;
        }
        if (cars) {
            true_total += truth;
            absolute_error += std::abs(static_cast<double>(std::max(predicted, 0)) - static_cast<double>(truth));
            exact += std::max(predicted, 0) == truth ? 1 : 0;
        }
        ++windows;
        csv += std::to_string(i) + "," + std::to_string(tile.column) + "," + std::to_string(tile.row) + "," +
               std::to_string(tile.core.x) + "," + std::to_string(tile.core.y) + "," +
               std::to_string(tile.core.x_end()) + "," + std::to_string(tile.core.y_end()) + "," +
               (predicted >= 0 ? std::to_string(predicted) : std::string("nodata")) +
               (cars ? "," + std::to_string(truth) : std::string()) + "\n";
    }
    GeoTiffOptions options;
    options.nodata = std::nan("");
    options.overviews = false;
    options.band_descriptions = {"cars per window (" + std::to_string(grid.tile_size()) + " px ownership cores)"};
    GeoTiffWriter tiff(staging.path("counts.tif"), static_cast<int>(grid.columns()), static_cast<int>(grid.rows()), 1,
                       SampleType::Float32, geo.scaled(static_cast<double>(grid.tile_size())), options);
    tiff.write_window(1, 0, 0, static_cast<int>(grid.columns()), static_cast<int>(grid.rows()), count_map.data());
    tiff.finish();
    write_text_file(staging.path("counts.csv"), csv);

    outcome.count_predicted = predicted_total;
    Json json = Json::object();
    json["windows"] = "ownership cores: each window counts the cars whose centre lies in its own " +
                      std::to_string(grid.tile_size()) + " px core (pasted into the " +
                      std::to_string(counting::kInputSize) +
                      " px mean-colour canvas of the COWC counting layout); cores partition the scene, so "
                      "the scene total is the sum of the window counts";
    json["window_count"] = windows;
    json["predicted_total"] = predicted_total;
    if (cars) {
        outcome.count_true = true_total;
        json["annotations"] = annotation_path;
        json["true_total"] = true_total;
        json["error"] = predicted_total - true_total;
        json["percent_error"] = true_total > 0 ? 100.0 * std::abs(static_cast<double>(predicted_total - true_total)) /
                                                     static_cast<double>(true_total)
                                               : NAN;
        json["window_mean_absolute_error"] = absolute_error / static_cast<double>(windows);
        json["window_exact_fraction"] = static_cast<double>(exact) / static_cast<double>(windows);
    }
    return json;
}

SceneOutcome run_one_scene(RunSetup& setup, const std::string& scene) {
    const RunConfig& config = setup.config;
    SceneOutcome outcome;
    outcome.scene = scene;
    outcome.name = scene_name(scene);
    outcome.output_folder = (fs::path(config.output_dir) / outcome.name).string();
    const auto start = Clock::now();
    // Wall time of each phase, in order, for run.json.
    std::vector<std::pair<std::string, double>> phases;
    auto phase_start = start;
    auto mark = [&](const char* name) {
        phases.emplace_back(name, seconds_since(phase_start));
        phase_start = Clock::now();
    };

    RasterReader reader(scene);
    const RasterInfo& info = reader.info();
    const BandScaling scaling = plan_band_scaling(config, reader);
    GeoReference geo = info.georeference;
    if (!geo.georeferenced() && !config.quiet) {
        std::fprintf(stderr, "satsal: warning: %s has no georeferencing; outputs use pixel coordinates\n",
                     scene.c_str());
    }
    if (!setup.margin) setup.margin = choose_auto_margin(setup, scene, scaling, config.quiet);
    outcome.margin = *setup.margin;

    TileGridOptions grid_options;
    grid_options.tile_size = setup.tile_size;
    grid_options.margin = *setup.margin;
    grid_options.deepest_stride = setup.deepest_stride;
    const TileGrid grid(info.width, info.height, grid_options);
    outcome.tiles_total = grid.tile_count();

    OutputStaging staging(outcome.output_folder);
    const std::size_t layers = setup.strides.size();
    std::vector<ScratchGrid> raw_layers, normalized_storage;
    const bool tile_norm = config.normalize == NormalizeScope::Tile;
    for (std::size_t k = 0; k < layers; ++k) {
        const int64_t s = setup.strides[k];
        raw_layers.emplace_back(staging.scratch_path("raw_L" + std::to_string(k + 1) + ".f32"),
                                grid.layer_width(s), grid.layer_height(s));
        if (tile_norm) {
            normalized_storage.emplace_back(staging.scratch_path("norm_L" + std::to_string(k + 1) + ".f32"),
                                            grid.layer_width(s), grid.layer_height(s));
        }
    }
    mark("setup");
    const int64_t o = config.output_scale;
    const int64_t out_w = ceil_div(info.width, o), out_h = ceil_div(info.height, o);
    Quicklook quicklook;
    quicklook.factor = std::max<int64_t>(1, ceil_div(std::max(out_w, out_h), 1024));
    quicklook.scene_factor = quicklook.factor * o;
    quicklook.combined = Map(ceil_div(out_w, quicklook.factor), ceil_div(out_h, quicklook.factor), std::nanf(""));
    quicklook.rgb.assign(static_cast<std::size_t>(quicklook.combined.size() * 3), 0);
    Pass1Result pass1 = run_pass1(setup, scene, grid, scaling, raw_layers,
                                  tile_norm ? &normalized_storage : nullptr, quicklook, config.quiet);
    mark("pass1");
    outcome.tiles_processed = pass1.processed;
    outcome.tiles_skipped = pass1.skipped;
    for (std::size_t k = 0; k < layers; ++k) {
        if (pass1.moments[k].count == 0) {
            throw std::runtime_error(scene + ": every pixel is nodata; nothing to explain");
        }
    }

    // Pass 2 and the layer outputs.
    const GeoReference out_geo = geo.scaled(static_cast<double>(o));
    // ZSTD level 1 with a predictor: about twice as fast as DEFLATE here (the writes run after the
    // forward passes, so they count against throughput) and read by GDAL >= 2.3 and QGIS.
    GeoTiffOptions float_options;
    float_options.compression = "ZSTD";
    float_options.compression_level = 1;
    float_options.nodata = std::nan("");
    float_options.cog = config.cog;
    float_options.band_descriptions = {"SMOE combined saliency (" + config.statistic + ", " + config.norm + ")"};
    GeoTiffWriter saliency_tif(staging.path("saliency.tif"), static_cast<int>(out_w), static_cast<int>(out_h), 1,
                               SampleType::Float32, out_geo, float_options);
    GeoTiffOptions lovi_options;
    lovi_options.compression = "ZSTD";
    lovi_options.compression_level = 1;
    lovi_options.rgb = true;
    lovi_options.cog = config.cog;
    lovi_options.overview_resampling = "AVERAGE";
    lovi_options.band_descriptions = {"LOVI red", "LOVI green", "LOVI blue"};
    GeoTiffWriter lovi_tif(staging.path("lovi.tif"), static_cast<int>(out_w), static_cast<int>(out_h), 3,
                           SampleType::Byte, out_geo, lovi_options);
    std::vector<std::unique_ptr<GeoTiffWriter>> layer_tiffs;
    if (config.write_layers) {
        for (std::size_t k = 0; k < layers; ++k) {
            GeoTiffOptions options = float_options;
            options.band_descriptions = {"layer L" + std::to_string(k + 1) + " (" + setup.model.taps()[k].name +
                                         ", stride " + std::to_string(setup.strides[k]) + "), normalized"};
            layer_tiffs.push_back(std::make_unique<GeoTiffWriter>(
                staging.path("layer_L" + std::to_string(k + 1) + ".tif"), static_cast<int>(raw_layers[k].width()),
                static_cast<int>(raw_layers[k].height()), 1, SampleType::Float32,
                geo.scaled(static_cast<double>(setup.strides[k])), options));
        }
    }
    // saliency.h5 is chunked but not compressed: deflate there took half of pass 2 (the GeoTIFFs
    // are the compressed products; h5repack -f GZIP=4 compresses a copy when wanted).
    Hdf5Writer h5(staging.path("saliency.h5"), /*deflate_level=*/0);
    h5.define_grid("", out_w, out_h, out_geo);
    h5.create_group("/layers");
    h5.create_group("/layers_normalized");
    h5.create_float_map("/combined", "");
    h5.create_byte_image("/lovi", "", 3);
    std::vector<std::string> tap_names;
    for (std::size_t k = 0; k < layers; ++k) {
        const std::string name = "L" + std::to_string(k + 1);
        h5.define_grid(name, raw_layers[k].width(), raw_layers[k].height(),
                       geo.scaled(static_cast<double>(setup.strides[k])));
        h5.create_float_map("/layers/" + name, name);
        h5.create_float_map("/layers_normalized/" + name, name);
        tap_names.push_back(setup.model.taps()[k].name);
    }

    mark("output_setup");
    Pass2Outputs outputs{saliency_tif, lovi_tif, h5, quicklook, nullptr, {}};
    std::optional<cowc::ObjectPositions> cars;
    const std::string annotation = find_car_annotations(config, scene);
    if (!annotation.empty()) {
        const cowc::RasterSize size = cowc::raster_size(annotation, "car annotation");
        if (size.width != info.width || size.height != info.height) {
            throw std::runtime_error(annotation + " is " + std::to_string(size.width) + "x" +
                                     std::to_string(size.height) + " but the scene " + scene + " is " +
                                     std::to_string(info.width) + "x" + std::to_string(info.height));
        }
        cars = cowc::read_annotation_positions(annotation);
        outputs.cars = &*cars;
    }
    mark("annotations");
    const double pass2_seconds = pass2_blocks(setup, scene, grid, tile_norm ? normalized_storage : raw_layers,
                                              tile_norm ? nullptr : &pass1.moments, o, reader, scaling.bands,
                                              outputs);
    const double layer_seconds = write_layer_outputs(setup, raw_layers, tile_norm ? &normalized_storage : nullptr,
                                                     pass1.moments, h5, layer_tiffs);
    mark("pass2_and_layers");
    write_quicklook(staging.path("quicklook.png"), quicklook);
    mark("quicklook");
    Json counting_report;
    if (setup.counting) {
        counting_report = write_count_outputs(staging, grid, geo, pass1.counts, cars ? &*cars : nullptr,
                                              annotation, outcome);
    }

    std::string taps_joined;
    for (const auto& name : tap_names) taps_joined += (taps_joined.empty() ? "" : ",") + name;
    h5.set_attribute("/", "statistic", config.statistic);
    h5.set_attribute("/", "normalization", config.norm);
    h5.set_attribute("/", "normalize", normalize_scope_name(config.normalize));
    h5.set_attribute("/", "weights", setup.weights);
    h5.set_attribute("/", "taps", taps_joined);
    h5.set_attribute("/", "strides", setup.strides);
    h5.set_attribute("/", "model_sha256", setup.model.sha256());
    h5.set_attribute("/", "satsal_version", satsal_version());
    h5.set_attribute("/", "input", scene);
    h5.set_attribute("/", "output_scale", std::vector<int64_t>{o});

    const auto finish_start = Clock::now();
    saliency_tif.finish();
    lovi_tif.finish();
    for (auto& tiff : layer_tiffs) tiff->finish();
    h5.finish();
    const double finish_seconds = seconds_since(finish_start);
    mark("counts_attributes_finish");

    outcome.seconds = seconds_since(start);
    const double megapixels = static_cast<double>(info.width) * static_cast<double>(info.height) / 1e6;
    outcome.megapixels_per_second = megapixels / outcome.seconds;

    Json& report = outcome.report = Json::object();
    report["scene"] = scene;
    report["size"] = std::vector<int64_t>{info.width, info.height};
    report["georeferenced"] = geo.georeferenced();
    report["config"] = to_ini(config);
    report["model"] = config.model;
    report["model_sha256"] = setup.model.sha256();
    report["precision"] = precision_name(setup.model.precision());
    report["precision_reason"] = setup.model.precision_reason();
    report["graph_optimization"] = setup.model.optimization();
    report["taps"] = tap_names;
    report["strides"] = setup.strides;
    report["weights"] = setup.weights;
    report["versions"] = versions_text();
    report["band_scaling"]["bands"] = scaling.bands;
    report["band_scaling"]["rule"] = scaling.rule;
    report["band_scaling"]["low"] = scaling.low;
    report["band_scaling"]["high"] = scaling.high;
    report["tiling"]["tile_size"] = setup.tile_size;
    report["tiling"]["margin"] = *setup.margin;
    report["tiling"]["margin_auto"] = config.margin ? Json(false) : Json(true);
    if (!config.margin) report["tiling"]["margin_choice"] = setup.margin_report;
    report["tiling"]["pad"] = pad_mode_name(config.pad);
    report["tiles"]["total"] = outcome.tiles_total;
    report["tiles"]["processed"] = outcome.tiles_processed;
    report["tiles"]["skipped_nodata"] = outcome.tiles_skipped;
    report["seconds"]["total"] = outcome.seconds;
    report["seconds"]["pass1_wall"] = pass1.wall_seconds;
    report["seconds"]["read_preprocess_busy"] = pass1.read_seconds;
    report["seconds"]["forward_busy"] = pass1.forward_seconds;
    report["seconds"]["statistic_busy"] = pass1.statistic_seconds;
    report["seconds"]["stitch_busy"] = pass1.stitch_seconds;
    report["seconds"]["pass2_combine_lovi_write"] = pass2_seconds;
    report["seconds"]["layer_outputs"] = layer_seconds;
    report["seconds"]["overviews_and_close"] = finish_seconds;
    for (const auto& [name, seconds] : phases) report["seconds"]["phases"][name] = seconds;
    report["throughput"]["megapixels_per_second"] = outcome.megapixels_per_second;
    if (const auto area = geo.pixel_area_m2(); area && geo.georeferenced()) {
        const double km2 = *area * static_cast<double>(info.width) * static_cast<double>(info.height) / 1e6;
        report["throughput"]["km2_per_hour"] = km2 / (outcome.seconds / 3600.0);
    }
    Json& layer_stats = report["layers"] = Json::array();
    for (std::size_t k = 0; k < layers; ++k) {
        Json entry = moments_json(pass1.moments[k]);
        entry["name"] = "L" + std::to_string(k + 1);
        entry["tap"] = tap_names[k];
        entry["stride"] = setup.strides[k];
        layer_stats.push_back(entry);
    }
    report["normalize"] = normalize_scope_name(config.normalize);
    if (cars && o == 1) {
        const CarSaliency& m = outputs.car_saliency;
        Json& json = report["saliency_on_cars"];
        json["definition"] = "mean saliency within " + std::to_string(kCarCoreRadius) +
                             " px of an annotated car centre divided by the mean farther than " +
                             std::to_string(kCarClearRadius) + " px from every car centre";
        json["cars"] = static_cast<int64_t>(cars->size());
        json["inside_pixels"] = m.inside_pixels;
        json["elsewhere_pixels"] = m.elsewhere_pixels;
        if (m.inside_pixels > 0 && m.elsewhere_pixels > 0) {
            auto ratio = [&](std::size_t i) {
                return (m.inside_sum[i] / static_cast<double>(m.inside_pixels)) /
                       (m.elsewhere_sum[i] / static_cast<double>(m.elsewhere_pixels));
            };
            json["combined_ratio"] = ratio(0);
            Json layer_ratios = Json::array();
            for (std::size_t k = 0; k < layers; ++k) layer_ratios.push_back(ratio(k + 1));
            json["layer_ratios"] = layer_ratios;
        }
    }
    report["task"] = run_task_name(config.task);
    if (setup.counting) {
        report["counting"] = counting_report;
        report["tap_strides"] = setup.tap_strides;
    }
    {
        const std::string path = staging.path("run.json");
        std::FILE* file = std::fopen(path.c_str(), "w");
        if (!file) throw std::runtime_error(path + ": cannot write");
        const std::string text = report.dump() + "\n";
        const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
        if (std::fclose(file) != 0 || !ok) throw std::runtime_error(path + ": write failed (disk full?)");
    }
    staging.commit();
    outcome.ok = true;
    return outcome;
}


/// <output_dir>/counts.csv (one row per scene, then the summary) and count-summary.json: per-scene
/// percent error |predicted - true| / true, its RMS over scenes, the max, and the total error
/// |sum true - sum predicted| / sum true (FACTS.md section 3).
void write_count_summary(const RunConfig& config, const RunOutcome& outcome) {
    std::string csv = "scene,predicted,true,error,percent_error\n";
    Json json = Json::object();
    Json& scenes = json["scenes"] = Json::array();
    double squares = 0, max_error = 0;
    int64_t scored = 0, predicted_sum = 0, true_sum = 0;
    for (const SceneOutcome& scene : outcome.scenes) {
        Json entry = Json::object();
        entry["scene"] = scene.scene;
        entry["ok"] = scene.ok;
        if (!scene.ok) {
            csv += scene.scene + ",failed,,,\n";
            scenes.push_back(entry);
            continue;
        }
        entry["predicted"] = scene.count_predicted;
        std::string row = scene.scene + "," + std::to_string(scene.count_predicted);
        if (scene.count_true >= 0) {
            const double error = static_cast<double>(scene.count_predicted - scene.count_true);
            const double percent = scene.count_true > 0 ? 100.0 * std::abs(error) / static_cast<double>(scene.count_true) : NAN;
            entry["true"] = scene.count_true;
            entry["percent_error"] = percent;
            char buffer[64];
            std::snprintf(buffer, sizeof buffer, "%.4f", percent);
            row += "," + std::to_string(scene.count_true) + "," + std::to_string(scene.count_predicted - scene.count_true) +
                   "," + buffer;
            if (std::isfinite(percent)) {
                squares += percent * percent;
                max_error = std::max(max_error, percent);
                ++scored;
            }
            predicted_sum += scene.count_predicted;
            true_sum += scene.count_true;
        } else {
            row += ",,,";
        }
        csv += row + "\n";
        scenes.push_back(entry);
    }
    if (scored > 0) {
        const double rms = std::sqrt(squares / static_cast<double>(scored));
        const double total = true_sum > 0 ? 100.0 * std::abs(static_cast<double>(true_sum - predicted_sum)) /
                                                static_cast<double>(true_sum)
                                          : NAN;
        json["rms_percent_error"] = rms;
        json["max_percent_error"] = max_error;
        json["total_percent_error"] = total;
        json["scenes_scored"] = scored;
        char buffer[256];
        std::snprintf(buffer, sizeof buffer, "# rms_percent_error,%.4f\n# max_percent_error,%.4f\n# total_percent_error,%.4f\n",
                      rms, max_error, total);
        csv += buffer;
    }
    fs::create_directories(config.output_dir);
    write_text_file((fs::path(config.output_dir) / "counts.csv").string(), csv);
    write_text_file((fs::path(config.output_dir) / "count-summary.json").string(), json.dump() + "\n");
}

}  // namespace

bool RunOutcome::all_ok() const {
    return std::all_of(scenes.begin(), scenes.end(), [](const SceneOutcome& s) { return s.ok; });
}

RunOutcome run_scenes(const RunConfig& config) {
    // GDAL's block cache would otherwise grow to 5% of RAM (1.2 GB here) with the blocks of large
    // inputs and outputs. A small fixed cache keeps memory flat as scenes grow: small scenes never
    // fill a large one while large scenes (overview building above all) always do. Writes are
    // whole blocks flushed row by row, so 16 MB costs only some re-decoding of input blocks that
    // neighbouring tiles share.
    GDALAllRegister();
    GDALSetCacheMax64(16LL * 1024 * 1024);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism,
                                    static_cast<std::size_t>(cores));
    set_torch_threads(config.threads);
    RunSetup setup(config);

    RunOutcome outcome;
    for (const std::string& scene : config.scenes) {
        try {
            outcome.scenes.push_back(run_one_scene(setup, scene));
            const SceneOutcome& done = outcome.scenes.back();
            if (!config.quiet) {
                std::fprintf(stderr, "satsal: %s: %lld tiles (%lld nodata skipped), %.1f s, %.2f MP/s -> %s\n",
                             scene.c_str(), static_cast<long long>(done.tiles_total),
                             static_cast<long long>(done.tiles_skipped), done.seconds, done.megapixels_per_second,
                             done.output_folder.c_str());
            }
        } catch (const std::exception& error) {
            SceneOutcome failed;
            failed.scene = scene;
            failed.name = scene_name(scene);
            failed.output_folder = (fs::path(config.output_dir) / failed.name).string();
            failed.error = error.what();
            std::fprintf(stderr, "satsal: scene failed: %s: %s\n", scene.c_str(), error.what());
            outcome.scenes.push_back(std::move(failed));
        }
    }
    if (setup.counting) write_count_summary(config, outcome);
    return outcome;
}

}  // namespace satsal
