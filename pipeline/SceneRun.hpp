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
#include <functional>
#include <memory>
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
    double setup_seconds = 0;  // before the first scene: loading and probing the model (RunSetup)
    bool all_ok() const;
};

/// Runs every scene of the config; a failing scene is reported (events.scene_done and its
/// outcome) and the others still run. Throws only for problems that stop every scene (the model
/// cannot load, a weight count that does not match the taps, a tile size that is not a multiple
/// of the stride).
/// Runs every scene of the config; a failing scene is reported (events.scene_done and its
/// outcome) and the others still run. A scene an earlier run left unfinished resumes where it
/// stopped (pipeline/SceneResume.hpp); `restart` discards such progress instead. Throws for
/// problems that stop every scene (the model cannot load, ...), and RunInterrupted when a stop
/// was requested (request_stop): finished tiles are kept, the batch stops.
RunOutcome run_scenes(const RunConfig& config, const RunEvents& events = {}, bool restart = false);

struct RunSetup;
struct Pass2Split;

/// One scene at a time with the model loaded once: what run_scenes does, for callers that hand
/// out scenes themselves (MPI ranks take scenes on demand). Construction sets the process-wide
/// GDAL cache, TBB parallelism and LibTorch threads, and loads the model (throws for problems
/// that stop every scene, as run_scenes does).
class SceneRunner {
public:
    explicit SceneRunner(const RunConfig& config, bool restart = false);
    ~SceneRunner();
    SceneRunner(const SceneRunner&) = delete;
    SceneRunner& operator=(const SceneRunner&) = delete;

    /// Runs one scene; a failure is returned in the outcome (ok = false, error), not thrown,
    /// except RunInterrupted. Calls events.scene_done before returning.
    SceneOutcome run(const std::string& scene, const RunEvents& events);
    /// Batch outputs over every scene of the run (counting runs: <output_dir>/counts.csv and
    /// count-summary.json); nothing for saliency runs.
    void write_batch_outputs(const std::vector<SceneOutcome>& outcomes) const;

    /// MPI ranks sharing one scene (pipeline/SceneShare.cpp): rank 0 calls prepare_share (the
    /// resume folder and its layer grids; `restart` discards an earlier attempt there) before the
    /// other ranks start; then every rank calls compute_share (pass 1 over its batch groups,
    /// SceneShare; returns its stage times as JSON); then rank 0 calls run_shared: run() on the
    /// scene with every tile done, which replays the tiles into the moments in tile order (as a
    /// resumed run does), runs pass 2 and writes every output. All throw on failure.
    /// With `split`, the other ranks compute pass 2's blocks (Pass2Blocks.hpp): split->start is
    /// called once pass 2 begins (not at all when the scene fails before it, or runs a `method`),
    /// and each of those ranks then calls help_pass2 with what start was given.
    void prepare_share(const std::string& scene);
    nlohmann::ordered_json compute_share(const std::string& scene, int part, int parts, const RunEvents& events);
    SceneOutcome run_shared(const std::string& scene, const RunEvents& events, Pass2Split* split = nullptr);
    /// Rank `part` of a shared scene's pass 2: computes its blocks with the scene's `moments`
    /// (what split->start was given) and sends each to rank 0; returns its block count and
    /// seconds as JSON, with an "error" when it failed (rank 0 received the error in place of
    /// each of the rank's blocks). Does not throw.
    nlohmann::ordered_json help_pass2(const std::string& scene, int64_t blocks, const std::string& moments, int part,
                                      int parts,
                                      const std::function<void(int64_t index, const std::string& block)>& send);

private:
    struct Process;
    std::unique_ptr<Process> process_;
    std::unique_ptr<RunSetup> setup_;
    bool restart_ = false;
};

/// A scene's outcome without its run report (run.json is on disk), as JSON and back: MPI ranks
/// send outcomes to rank 0, shards leave them for `satsal summarize`.
nlohmann::ordered_json outcome_to_json(const SceneOutcome& outcome);
/// Throws std::invalid_argument naming the missing or mistyped field.
SceneOutcome outcome_from_json(const nlohmann::ordered_json& json);

}  // namespace satsal
