#pragma once
// Stage: the counting windows of a `task = count` run, their own pass beside pass 1.
//
// The counting network counts a window as it was trained to: 192 px of scene (an ownership core:
// the cores partition the scene, so the window counts add up to the scene's count) pasted into
// the 224 px canvas of the mean colour (cowc/CountingLayout.hpp). The saliency of a counting run
// does not come from these windows: a window sees no context, so every layer map changes abruptly
// at the window edges and the 192 px grid shows in saliency.tif and lovi.tif (`satsal seams
// --raster saliency.tif --grid 192` measured 3.6x the step elsewhere across the window edges in x,
// 2.2x in y on the demo scene). Pass 1 computes the saliency from context-bearing tiles, as in a
// `task = saliency` run (tile_size, margin, pad), and this pass only counts: forward pass, arg-max
// of the logits, no statistic.
//
//   batch index (serial) -> read the batch's windows (parallel, TileSource) -> forward + arg-max +
//   journal (serial, in order)
//
// Windows are batched exactly as counting runs always batched them (batch_size consecutive
// windows in index order; all-nodata windows take a place in the batch but are not computed), so
// the counts are those of earlier versions bit for bit. Each finished window is journaled
// (SceneResume) as unit `journal_offset + window`, after pass 1's tiles; a resumed run recomputes
// a batch unless every window of it was done (as pass 1 does: the forward's numbers may depend on
// the batch's size).
//
// Thread rules: run on the run's thread; one forward at a time on the run's model.
#include "pipeline/BandScaling.hpp"
#include "pipeline/RunEvents.hpp"
#include "pipeline/RunSetup.hpp"
#include "tiling/TileGrid.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

class SceneResume;

/// The windows of a counting run: 192 px cores, each seen in a 224 px canvas (16 px frame).
TileGrid count_window_grid(int64_t scene_width, int64_t scene_height);

struct CountWindowsResult {
    std::vector<int> counts;  // per window (tile index of the window grid), -1 for nodata windows
    int64_t processed = 0, skipped = 0, resumed = 0;
    double read_seconds = 0, forward_seconds = 0, wall_seconds = 0;

    /// run.json's `count_windows` section.
    nlohmann::ordered_json to_json(const TileGrid& windows) const;
    /// run.json's `seconds.count_windows` (timings stay under `seconds`, which comparisons skip).
    nlohmann::ordered_json seconds_json() const;
};

/// Counts every window of `windows`; throws naming the scene and window when one fails, and
/// RunInterrupted when a stop was requested (the finished windows stay in the journal).
CountWindowsResult run_count_windows(const RunSetup& setup, const std::string& scene, const TileGrid& windows,
                                     const BandScaling& scaling, SceneResume& resume, int64_t journal_offset);

}  // namespace satsal
