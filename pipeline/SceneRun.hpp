#pragma once
// `satsal run CONFIG`: whole scenes, larger than memory, streamed as tiles through a oneTBB flow
// graph into seamless, georeferenced saliency rasters.
//
// Per scene, in <output_dir>/<scene name>/:
//   pass 1  read -> preprocess (parallel, one GDAL handle per thread) -> order -> batch ->
//           infer (one model per worker) -> statistic (fused SMOE) -> unbatch -> order ->
//           stitch (serial): each tile's layer-map cores go to per-layer scratch grids on disk, and
//           each layer's moments (mean, std, min, max) accumulate over the scene, nodata excluded.
//           A limiter bounds the tiles in flight, so memory does not grow with the scene.
//   pass 2  blocks of the output grid: each block reads the layer rows and columns its bilinear
//           samples touch (so block edges have no seam), normalizes with the scene statistics
//           (normalize = scene) or uses the per-tile normalized maps (normalize = tile), upsamples,
//           combines, renders LOVI and writes saliency.tif, lovi.tif, saliency.h5; then the layer
//           maps at native resolution (saliency.h5 /layers, /layers_normalized, optional
//           layer_L<k>.tif), quicklook.png and run.json.
// Outputs are staged and renamed into place only when the scene is complete.
//
// Thread rules: run_scenes runs one scene at a time; inside a scene the flow graph owns the
// threads. LibTorch's intra-op threads (config.threads) serve the single inference worker; TBB's
// parallelism is capped at the core count, and reading/preprocessing is light next to the forward
// pass, so the two do not oversubscribe the cores.
#include "io/RunConfig.hpp"
#include "pipeline/Json.hpp"

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
    Json report;                 // what run.json holds
    // Counting runs (task = count).
    int64_t count_predicted = -1;
    int64_t count_true = -1;     // -1 without annotations
};

struct RunOutcome {
    std::vector<SceneOutcome> scenes;
    bool all_ok() const;
};

/// Runs every scene of the config; a failing scene is reported (stderr and its outcome) and the
/// others still run. Throws only for problems that stop every scene (the model cannot load, a
/// weight count that does not match the taps, a tile size that is not a multiple of the stride).
RunOutcome run_scenes(const RunConfig& config);

}  // namespace satsal
