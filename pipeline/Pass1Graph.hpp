#pragma once
// Stage: pass 1 of a scene run, a oneTBB flow graph over the tiles.
//
//   source -> limiter -> read (parallel, TileSource) -> order -> batch -> infer (serial, one
//   model) -> statistic (TapStatistics, masks, optional per-tile normalization) -> unbatch ->
//   order -> stitch (serial)
//
// The stitch stage writes each tile's core of every layer map to the scene's layer grids on disk
// (SceneLayers) and accumulates each layer's moments over the scene, nodata excluded (norm = gamma
// with scene normalization reads the raw grids once more afterwards: the fit's mean log needs the
// scene minimum). Counting runs count their windows in a pass of their own (CountWindows); their
// saliency comes from these tiles, as in saliency runs. The limiter bounds the tiles in flight (3 batches), so
// memory does not grow with the scene; an exception in any node cancels the graph and is
// rethrown, with the scene and tile in its message, by run().
//
// Thread rules: run() is called once, on the run's thread; the graph owns its worker threads.
// LibTorch's intra-op threads serve the single inference worker.
#include "pipeline/BandScaling.hpp"
#include "pipeline/Quicklook.hpp"
#include "pipeline/RunEvents.hpp"
#include "pipeline/RunSetup.hpp"
#include "pipeline/ScratchGrid.hpp"
#include "saliency/Normalize.hpp"
#include "tiling/TileGrid.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

class SceneResume;
class MethodScene;

/// The scene-level layer maps between the passes, as scratch files in the scene's resume folder
/// (pipeline/SceneResume.hpp), kept there across attempts.
struct SceneLayers {
    std::vector<ScratchGrid> raw;         // the statistic, per layer
    std::vector<ScratchGrid> normalized;  // normalize = tile only: each tile normalized on its own
    MethodScene* method = nullptr;        // config `method` (not smoe): its map's grid (MethodPass.hpp)

    SceneLayers(const SceneResume& resume, const TileGrid& grid, const std::vector<int64_t>& strides,
                bool tile_normalized);
    /// Makes every grid write so far durable.
    void sync();
    bool tile_normalized() const { return !normalized.empty(); }
    /// What pass 2 upsamples and combines: the tile-normalized maps, or the raw maps (normalized
    /// there with the scene's moments).
    const std::vector<ScratchGrid>& to_combine() const { return tile_normalized() ? normalized : raw; }
};

struct Pass1Result {
    std::vector<MapMoments> moments;  // per layer, over the scene's valid layer pixels
    int64_t processed = 0;
    int64_t skipped = 0;
    int64_t resumed = 0;              // of processed + skipped: done by an earlier attempt
    double read_seconds = 0, forward_seconds = 0, statistic_seconds = 0, stitch_seconds = 0;  // busy
    double wall_seconds = 0;
    double method_seconds = 0;        // busy: the gradient method's passes (config `method`)
};

/// Runs pass 1 over every tile of `grid` not done by an earlier attempt (`resume`), recording
/// each finished tile there; throws when a tile fails (naming scene, tile, core), when every
/// layer pixel of the scene is nodata, and RunInterrupted when a stop was requested.
Pass1Result run_pass1(const RunSetup& setup, const std::string& scene, const TileGrid& grid,
                      const BandScaling& scaling, SceneLayers& layers, Quicklook& quicklook,
                      SceneResume& resume, const RunEvents& events);

/// One rank's share of pass 1 when MPI ranks share the scene (`share` made with a SceneShare):
/// the tiles of its batch groups go to the layer grids and its journal; the moments are rank 0's,
/// which replays every tile afterwards (run_pass1 with all tiles done). No check that the scene
/// has valid pixels: a share may hold none.
Pass1Result run_pass1_share(const RunSetup& setup, const std::string& scene, const TileGrid& grid,
                            const BandScaling& scaling, SceneLayers& layers, Quicklook& quicklook,
                            SceneResume& share, const RunEvents& events);

}  // namespace satsal
