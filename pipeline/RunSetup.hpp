#pragma once
// Everything fixed for a whole `satsal run`: the model and its taps, the statistic, the
// normalization and weights, the layer grids' strides, the tile size and the margin (decided on
// the first scene when margin = auto).
//
// Thread rules: built and changed (margin) on the run's thread; read-only while a scene's stages
// run (the pass-1 inference worker uses `model` alone).
//
// LibTorch stays out of this header: only the files that run the model include TappedModel.hpp.
#include "io/RunConfig.hpp"
#include "pipeline/TapStatistics.hpp"
#include "saliency/Normalize.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

class MethodRunner;
struct Pass2Split;

struct RunSetup {
    const RunConfig& config;
    TapStatistic statistic;
    std::unique_ptr<TappedModel> model;
    std::vector<std::string> tap_names;
    std::string model_sha256;
    std::string precision, precision_reason, graph_optimization;  // as the model resolved them (run.json)
    Normalization normalization;
    std::vector<double> weights;
    // Strides of the scene-level layer grids: the taps' strides (counting runs too; their windows
    // are counted apart, pipeline/CountWindows.hpp).
    std::vector<int64_t> strides;
    std::vector<int64_t> tap_strides;  // the model's own (equal to strides)
    int64_t deepest_stride = 0;        // the tile grid's alignment
    int64_t tile_size = 0;
    bool counting = false;
    std::optional<int64_t> margin;     // decided on the first scene when `auto`
    nlohmann::ordered_json margin_report;  // how margin = auto decided (run.json tiling.margin_choice)
    std::unique_ptr<MethodRunner> method;  // config `method` other than smoe (pipeline/MethodPass.hpp)
    Pass2Split* pass2_split = nullptr;     // MPI rank 0 of a shared scene: ranks compute pass 2 (Pass2Blocks.hpp)

    /// Sets LibTorch's threads (config.threads), loads the model and checks that tiles can line up
    /// every layer; throws std::invalid_argument naming the key (tile_size, margin) or the model
    /// and what was expected.
    explicit RunSetup(const RunConfig& config);
    ~RunSetup();
    RunSetup(const RunSetup&) = delete;
    RunSetup& operator=(const RunSetup&) = delete;

    std::size_t layers() const { return strides.size(); }
};

}  // namespace satsal
