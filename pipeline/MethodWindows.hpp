#pragma once
// Stage: the gradient method (config `method`) of a `task = count` run, scored per counting window
// as the counting network was trained.
//
// The counting network was trained on 192 px of scene pasted into a 224 px canvas of the mean
// colour (cowc/CountingLayout.hpp), and its classes are counts of that window. Scored on pass 1's
// 512 px context tiles, "the predicted class" is a count the network predicts for an input it was
// never trained on, and Grad-CAM/FastCAM on the demo scene came out darker on cars than elsewhere
// (saliency on cars 0.18 / 0.35). Here each window is seen in the COWC layout and its score is the
// logit of its own predicted count (or of `class`), the method's map of the window (at canvas
// resolution: Grad-CAM's ReLU(sum w_k A_k) upsampled bilinearly to the canvas as explain does,
// input attributions reduced over channels) is cut to the window's 192 px core and placed back in
// the scene. SMOE keeps the seam-free maps of pass 1's context tiles; FastCAM multiplies them.
//
// Windows at the counting grid alone would put every window's own score and canvas frame on the
// 192 px grid, so the map would step there. The windows therefore come in four phases, offset by
// (0 | 96, 0 | 96) px: within a phase the 192 px cores partition the scene from the offset on, and
// the phases overlap by half a window. Pass 2 blends the phases with tent weights that peak at a
// window's centre and fall to 0.5 / 96 at its edges (MethodWindowLayout::weight), so at each
// window's edge the map is the other phases' (whose windows are centred there). Phase 0 is the
// counting windows themselves (same cores, same canvas). Cost: about 4x the counting windows'
// pixels, with a backward pass each.
//
//   batch index (serial) -> read the batch's windows (parallel, TileSource, COWC layout) ->
//   method (serial: forward for the class, backward) -> cores into the phase grids, journal
//
// Each phase's map is a full-resolution scratch grid in the resume folder (MethodScene). Windows
// are journaled as units `journal_offset + index`; a batch is recomputed unless every window of it
// was done, and rewriting a window is idempotent (each pixel of a phase grid belongs to one window).
//
// Thread rules: run on the run's thread; one method pass at a time on the runner's model.
#include "pipeline/BandScaling.hpp"
#include "pipeline/RunSetup.hpp"
#include "tiling/TileGrid.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

class MethodScene;
class SceneResume;

/// The method windows of a counting run over a W x H scene.
class MethodWindowLayout {
public:
    static constexpr int64_t kCore = 192;   // counting window core (counting::kContentSize)
    static constexpr int64_t kStep = 96;    // phase offset: half a window
    static constexpr int kPhases = 4;       // (0, 0), (96, 0), (0, 96), (96, 96)

    MethodWindowLayout(int64_t scene_width, int64_t scene_height);

    int64_t scene_width() const { return width_; }
    int64_t scene_height() const { return height_; }
    int64_t phase_offset_x(int phase) const { return (phase & 1) ? kStep : 0; }
    int64_t phase_offset_y(int phase) const { return (phase & 2) ? kStep : 0; }
    int64_t columns(int phase) const;
    int64_t rows(int phase) const;
    /// Windows of every phase, phase 0 first (row-major within a phase).
    int64_t count() const { return first_[kPhases]; }

    struct Entry {
        int phase = 0;
        Tile tile;  // core clipped to the scene; input = the 224 px canvas (core origin - 16)
    };
    Entry window(int64_t index) const;

    /// Blend weight of `phase` at scene pixel (x, y): t(x - ox) * t(y - oy) with
    /// t(u) = min(u mod 192 + 0.5, 191.5 - u mod 192), 0 where x < ox or y < oy (no window).
    double weight(int phase, int64_t x, int64_t y) const;

private:
    int64_t width_, height_;
    int64_t first_[kPhases + 1];
};

struct MethodWindowsResult {
    int64_t windows = 0, processed = 0, skipped = 0, resumed = 0;
    double read_seconds = 0, method_seconds = 0, wall_seconds = 0;
    // The counting windows (phase 0) whose scored class is the count the counting pass gave them
    // (they differ only if `class` is set, or a bf16 count run rounds a near tie otherwise).
    int64_t counting_windows = 0, class_is_count = 0;

    /// run.json's method.windows section.
    nlohmann::ordered_json to_json() const;
    /// run.json's `seconds.method_windows` (timings stay under `seconds`, which comparisons skip).
    nlohmann::ordered_json seconds_json() const;
};

/// Scores every method window of `layout`, writing each core into `maps` (windows mode); `counts`
/// are the counting pass's counts per counting window (-1 for nodata). Throws naming the scene and
/// window when one fails, RunInterrupted when a stop was requested.
MethodWindowsResult run_method_windows(const RunSetup& setup, const std::string& scene,
                                       const MethodWindowLayout& layout, const BandScaling& scaling,
                                       const std::vector<int>& counts, MethodScene& maps, SceneResume& resume,
                                       int64_t journal_offset);

}  // namespace satsal
