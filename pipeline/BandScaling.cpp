#include "pipeline/BandScaling.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace satsal {
namespace {

/// The natural [0, 1] range of a GDAL data type when neither input_range nor stretch is given.
std::pair<double, double> natural_range(const BandInfo& band, const std::string& scene) {
    switch (band.data_type) {
        case GDT_Byte: return {0.0, 255.0};
        case GDT_UInt16: return {0.0, 65535.0};
        case GDT_Int16: return {0.0, 32767.0};
        case GDT_Float32:
        case GDT_Float64: return {0.0, 1.0};
        default:
            throw std::invalid_argument(scene + ": band data type " + band.data_type_name +
                                        " has no natural range; set input_range = min,max or "
                                        "stretch = low,high in the config");
    }
}

}  // namespace

float BandScaling::unit(int b, float stored) const {
    const auto i = static_cast<std::size_t>(b);
    const double v = (static_cast<double>(stored) - low[i]) / (high[i] - low[i]);
    return static_cast<float>(std::clamp(v, 0.0, 1.0));
}

void BandScaling::to_unit(float* planar, int64_t pixels) const {
    for (std::size_t b = 0; b < bands.size(); ++b) {
        const float offset = static_cast<float>(low[b]);
        const float scale = static_cast<float>(1.0 / (high[b] - low[b]));
        float* values = planar + static_cast<int64_t>(b) * pixels;
        const bool has_nodata = b < nodata.size() && nodata[b].has_value();
        const float nodata_value = has_nodata ? static_cast<float>(*nodata[b]) : 0.0f;
        const bool other_mask = b < masked_otherwise.size() && masked_otherwise[b];
        const bool nan_is_nodata = other_mask || (has_nodata && std::isnan(nodata_value));
        for (int64_t i = 0; i < pixels; ++i) {
            const float v = values[i];
            if (std::isnan(v)) {
                if (!nan_is_nodata) {
                    throw std::invalid_argument(
                        scene + ": band " + std::to_string(bands[b]) +
                        " holds NaN pixels but declares no NaN nodata; mark them as nodata "
                        "(gdal_edit.py -a_nodata nan) or fill them");
                }
                continue;  // masked later
            }
            if (values_must_be_unit && (v < 0.0f || v > 1.0f) && !other_mask &&
                !(has_nodata && nodata_value == v)) {
                throw std::invalid_argument(
                    scene + ": band " + std::to_string(bands[b]) + " holds the value " + std::to_string(v) +
                    "; Float32/Float64 scenes are taken as is and must lie in [0, 1] (as in satsal explain); "
                    "set input_range = min,max or stretch = low,high in the config to scale them");
            }
            values[i] = std::clamp((v - offset) * scale, 0.0f, 1.0f);
        }
    }
}

void BandScaling::standardize(float* planar, int64_t pixels) const {
    for (std::size_t b = 0; b < bands.size(); ++b) {
        const float m = static_cast<float>(mean[b]);
        const float inv = static_cast<float>(1.0 / std[b]);
        float* values = planar + static_cast<int64_t>(b) * pixels;
        for (int64_t i = 0; i < pixels; ++i) values[i] = (values[i] - m) * inv;
    }
}

BandScaling plan_band_scaling(const RunConfig& config, const RasterReader& reader) {
    const RasterInfo& info = reader.info();
    const std::string& scene = info.path;
    BandScaling scaling;
    scaling.bands = config.bands;
    if (scaling.bands.empty()) {
        if (info.band_count() == 1) {
            scaling.bands = {1, 1, 1};
        } else if (info.band_count() >= 3) {
            scaling.bands = {1, 2, 3};
        } else {
            throw std::invalid_argument(scene + ": has " + std::to_string(info.band_count()) +
                                        " bands; set bands = ... in the config to choose three");
        }
    }
    for (int band : scaling.bands) {
        if (band < 1 || band > info.band_count()) {
            throw std::invalid_argument(scene + ": bands names band " + std::to_string(band) +
                                        " but the scene has " + std::to_string(info.band_count()) +
                                        " bands");
        }
    }
    const std::size_t n = scaling.bands.size();
    scaling.scene = scene;
    for (int band : scaling.bands) {
        const BandInfo& info_b = info.bands[static_cast<std::size_t>(band - 1)];
        scaling.nodata.push_back(info_b.nodata);
        scaling.masked_otherwise.push_back((info_b.mask_flags & (GMF_ALPHA | GMF_PER_DATASET)) != 0 &&
                                           !info_b.nodata);
    }
    auto per_band = [&](const std::vector<double>& values, const char* key) {
        if (values.size() == n) return values;
        if (values.size() == 3 && n == 3) return values;
        throw std::invalid_argument(scene + ": " + key + " has " + std::to_string(values.size()) +
                                    " values but " + std::to_string(n) +
                                    " bands are selected; give one per band");
    };
    scaling.mean = per_band(config.mean, "mean");
    scaling.std = per_band(config.std, "std");
    for (std::size_t b = 0; b < n; ++b) {
        const BandInfo& band = info.bands[static_cast<std::size_t>(scaling.bands[b] - 1)];
        double low = 0, high = 1;
        if (config.input_range) {
            low = config.input_range->low;
            high = config.input_range->high;
            scaling.rule = "input_range";
        } else if (config.stretch) {
            std::tie(low, high) = reader.approximate_percentiles(scaling.bands[b], config.stretch->low,
                                                                 config.stretch->high);
            if (!(high > low)) {
                // A constant band (at these percentiles) has no range to stretch: say so, and map
                // it to 0 rather than divide by zero.
                char numbers[128];
                std::snprintf(numbers, sizeof numbers, "(%g) between the stretch percentiles %g and %g", low,
                              config.stretch->low, config.stretch->high);
                scaling.warnings.push_back(scene + " band " + std::to_string(scaling.bands[b]) + " is constant " +
                                           numbers + "; it becomes 0");
                high = low + 1;
            }
            scaling.rule = "stretch";
        } else {
            std::tie(low, high) = natural_range(band, scene);
            const bool floating = band.data_type == GDT_Float32 || band.data_type == GDT_Float64;
            scaling.values_must_be_unit = scaling.values_must_be_unit || floating;
            scaling.rule = floating ? band.data_type_name + " taken as is (values must lie in [0, 1])"
                                    : "natural range of " + band.data_type_name;
        }
        scaling.low.push_back(low);
        scaling.high.push_back(high);
    }
    return scaling;
}

}  // namespace satsal
