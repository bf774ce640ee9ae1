#pragma once
// How a scene's stored values become network input: band selection, scaling to [0, 1]
// (input_range, stretch percentiles, or the data type's natural range), then the model's
// mean/std. Decided once per scene; applied per tile.
//
// Thread rules: a BandScaling is immutable after plan_band_scaling; apply() may run on many
// threads at once.
#include "io/RasterReader.hpp"
#include "io/RunConfig.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

struct BandScaling {
    std::vector<int> bands;     // 1-based GDAL band numbers, in model channel order
    std::vector<double> low;    // per band: value that maps to 0
    std::vector<double> high;   // per band: value that maps to 1
    std::vector<double> mean;   // per band, on [0, 1] pixels
    std::vector<double> std;
    std::string rule;           // "input_range", "stretch 2-98", "Byte 0..255", ...
    std::vector<std::string> warnings;  // for the user (a constant band under stretch, ...)
    std::string scene;          // for messages
    // Per band slot: the band's nodata value, and whether GDAL masks it by other means (alpha,
    // per-dataset mask), in which case masked pixels may hold anything.
    std::vector<std::optional<double>> nodata;
    std::vector<bool> masked_otherwise;
    // Float32/Float64 without input_range or stretch are taken as is, as `satsal explain` does:
    // values outside [0, 1] are refused (naming the value and the keys that set a rule), never
    // clamped silently.
    bool values_must_be_unit = false;

    /// [0, 1] value of a stored value of band slot b (clamped).
    float unit(int b, float stored) const;
    /// Scales planar [bands][pixels] stored values in place to [0, 1] (clamped). Throws
    /// std::invalid_argument for NaN pixels that are not nodata, and, when values_must_be_unit, for
    /// valid values outside [0, 1].
    void to_unit(float* planar, int64_t pixels) const;
    /// In place: (v - mean) / std on planar [bands][pixels] values already in [0, 1].
    void standardize(float* planar, int64_t pixels) const;
};

/// Validates the band selection and mean/std counts against the raster, computes percentiles
/// for `stretch` (from overviews or a decimated read). Throws std::invalid_argument naming the
/// scene, the key and what was expected.
BandScaling plan_band_scaling(const RunConfig& config, const RasterReader& reader);

}  // namespace satsal
