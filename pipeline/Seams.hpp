#pragma once
// Seam error of tiled against whole-window computation (`satsal seams`, margin = auto).
//
// On a crop of the input, the whole crop goes through the network once; then the central region
// (the crop minus `max_margin` on each side) is cut into tile cores of `tile_size`, each tile sees
// its core plus `margin` of real context (never padding, because margin <= max_margin), and the
// stitched cores of every layer map are compared with the whole pass on the same region:
// max |tiled - whole| / max |whole| per layer.
//
// Thread rules: uses the given model from the calling thread only.
#include "pipeline/TapStatistics.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

class TappedModel;
struct BandScaling;

struct SeamProbe {
    std::vector<float> planar;  // standardized network input [channels][height][width]
    int64_t channels = 3;
    int64_t width = 0;
    int64_t height = 0;
    int64_t x0 = 0, y0 = 0;     // where the crop lies in the scene
};

struct SeamMeasurement {
    int64_t tile_size = 0;
    int64_t margin = 0;
    int64_t tiles = 0;              // tiles compared
    std::vector<double> errors;     // per tap
};

/// Crop size that seam_errors needs: two cores and max_margin on each side, per axis.
int64_t seam_probe_side(int64_t tile_size, int64_t max_margin);

/// The centre crop of `scene`, at most side x side pixels rounded down to multiples of `stride`,
/// scaled and standardized like the tiles of a run.
SeamProbe read_seam_probe(const std::string& scene, const BandScaling& scaling, int64_t side, int64_t stride);

/// Measures per-layer seam errors; throws std::invalid_argument when the probe is smaller than
/// one tile core plus 2 * max_margin or the sizes are not multiples of the deepest stride.
SeamMeasurement seam_errors(const TappedModel& model, const SeamProbe& probe, int64_t tile_size,
                            int64_t margin, int64_t max_margin, const TapStatistic& statistic,
                            int batch_size);

}  // namespace satsal
