#pragma once
// `satsal run CONFIG`: whole scenes, larger than memory, streamed as tiles through a oneTBB flow
// graph into seamless, georeferenced saliency rasters.
//
// A scene run is a list of stages, each in the file named after it (docs/ARCHITECTURE.md):
//   BandScaling      how stored values become network input
//   AutoMargin       margin = auto, on the first scene
//   Pass1Graph       tiles -> TileSource -> model -> TapStatistics -> scene layer grids + moments
//   SaliencyProduct  saliency.tif, lovi.tif, layer_L<k>.tif, saliency.h5
//   Pass2Blocks      output blocks: normalize, upsample, combine, LOVI; then the layer maps
//   Quicklook        quicklook.png
//   CountOutputs     annotations, saliency on cars, counts.tif / counts.csv, count summary
//   RunReport        run.json
// Outputs are staged (OutputStaging) and renamed into place only when the scene is complete.
//
// Thread rules: run_scenes runs one scene at a time; inside a scene the stages own the threads.
// LibTorch's intra-op threads (config.threads) serve the single inference worker; TBB's
// parallelism is capped at the core count, and reading/preprocessing is light next to the forward
// pass, so the two do not oversubscribe the cores.
#include "io/RunConfig.hpp"
#include "pipeline/RunEvents.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

struct SceneOutcome {
    std::string scene;           // input path
    std::string name;            // output folder name
    std::string output_folder;
    bool ok = false;
    std::string error;           // when !ok
    int64_t tiles_total = 0;
    int64_t tiles_processed = 0;
    int64_t tiles_skipped = 0;   // all-nodata tiles (no forward pass)
    int64_t margin = 0;
    double seconds = 0;
    double megapixels_per_second = 0;
    nlohmann::ordered_json report;  // what run.json holds
    // Counting runs (task = count).
    int64_t count_predicted = -1;
    int64_t count_true = -1;     // -1 without annotations
};

struct RunOutcome {
    std::vector<SceneOutcome> scenes;
    bool all_ok() const;
};

/// Runs every scene of the config; a failing scene is reported (events.scene_done and its
/// outcome) and the others still run. Throws only for problems that stop every scene (the model
/// cannot load, a weight count that does not match the taps, a tile size that is not a multiple
/// of the stride).
RunOutcome run_scenes(const RunConfig& config, const RunEvents& events = {});

}  // namespace satsal
