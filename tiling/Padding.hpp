#pragma once
// Filling a requested window (e.g. a tile's network input) that may hang over the scene edge.
//
// Rules (per band, per axis, scene of n pixels along that axis):
//   reflect  mirror about the edge pixel without repeating it, like numpy.pad(mode='reflect'):
//            ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...  Windows that overhang by n or more pixels keep
//            reflecting back and forth (the extension is periodic with period 2(n-1)), which is
//            what numpy gives too. A scene 1 pixel wide repeats that pixel.
//   mean     the band's value from `fill_values` (the caller passes per-band means).
//   zero     0.
// Reflection is applied to both axes independently, so corners mirror diagonally.
//
// Nodata (the masked functions): invalid in-scene pixels are replaced by the band's fill value
// BEFORE reflecting, so a reflected nodata pixel is filled too. The fill value is:
//   zero     0;   mean  fill_values[b];
//   reflect  fill_values[b] when given (pass scene-level means of valid pixels: the same value in
//            every tile, so no seam), otherwise the mean of the valid pixels of band b in the source
//            data (0 when there is none).
//
// Thread rules: every function here is pure and may run concurrently on different data.
#include <cstdint>
#include <string>
#include <vector>

#include "tiling/Window.hpp"

namespace satsal {

enum class PadRule { reflect, mean, zero };

/// "reflect" | "mean" | "zero" (exact, lower case). Throws std::invalid_argument naming the value
/// and the accepted ones.
PadRule parse_pad(const std::string& text);
std::string to_string(PadRule rule);

/// Scene coordinate that reflect padding uses for coordinate `i` on an axis of n >= 1 pixels.
int64_t reflect_index(int64_t i, int64_t n);

/// What to read from the scene to fill `requested`.
struct PadPlan {
    Window requested;
    Window scene;
    /// requested clipped to the scene (may be empty if the window lies outside the scene).
    Window clipped;
    /// The one in-scene rectangle whose pixels the padded window uses. Equals `clipped` for mean
    /// and zero; for reflect it can be larger (a window overhanging by more than its in-scene part
    /// mirrors pixels beyond it), and is never empty. The mirror images of a contiguous range are
    /// contiguous, so one rectangle is always enough.
    Window source;
    PadRule rule = PadRule::reflect;
};

PadPlan plan_padded_window(const Window& requested, const Window& scene, PadRule rule);

/// Planar float data [bands][height][width] covering `window`, row-major.
struct PlanarView {
    const float* data = nullptr;
    int64_t bands = 0;
    Window window;
};

/// A padded window: values [bands][height][width], and how many valid in-scene pixels it held.
struct PaddedWindow {
    Window window;
    int64_t bands = 0;
    std::vector<float> values;
    /// Valid pixels inside plan.clipped (all of them for the unmasked function).
    int64_t valid_pixels = 0;
    /// No valid pixel inside the requested window: the pipeline skips the tile (no forward pass).
    bool empty() const { return valid_pixels == 0; }
};

/// Fills plan.requested from `source` (which must cover plan.source exactly). `fill_values` has
/// one value per band for PadRule::mean and is ignored otherwise. Throws std::invalid_argument on a
/// window mismatch or a wrong number of fill values.
PaddedWindow pad_window(const PadPlan& plan, const PlanarView& source,
                        const std::vector<float>& fill_values = {});

/// As pad_window, with a validity mask [height][width] over plan.source (non-zero = valid, like a
/// GDAL mask band). For PadRule::reflect `fill_values` may be empty (see the header comment).
PaddedWindow pad_window_masked(const PadPlan& plan, const PlanarView& source, const uint8_t* valid_mask,
                               const std::vector<float>& fill_values = {});

/// The same two, writing [bands][requested.height][requested.width] floats into `out` (caller
/// memory, e.g. one sample's slot in a preallocated batch tensor, so no per-tile allocation) and
/// returning the number of valid in-scene pixels.
int64_t pad_window_into(const PadPlan& plan, const PlanarView& source,
                        const std::vector<float>& fill_values, float* out);
int64_t pad_window_masked_into(const PadPlan& plan, const PlanarView& source, const uint8_t* valid_mask,
                               const std::vector<float>& fill_values, float* out);

/// Valid pixels of `mask` (covering `mask_window`) inside `region` (clipped to mask_window), e.g.
/// to ask whether a tile's core holds any data.
int64_t count_valid(const uint8_t* mask, const Window& mask_window, const Window& region);

}  // namespace satsal
