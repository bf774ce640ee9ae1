#pragma once
// Stage: run.json, what a scene run did. Keys, in this order: scene, input_read, size, georeferenced, config,
// model, model_sha256, taps, strides, weights, versions, band_scaling, tiling, tiles, seconds,
// throughput, layers (per-layer statistics), normalize, [saliency_on_cars], task,
// [counting, tap_strides].
//
// Thread rules: plain values; runs on the run's thread.
#include "io/GeoReference.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/Pass1Graph.hpp"
#include "pipeline/RunSetup.hpp"
#include "pipeline/Timing.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace satsal {

/// Wall time of a scene's phases, in order (run.json seconds.phases).
class PhaseTimes {
public:
    PhaseTimes() : start_(Clock::now()), phase_start_(start_) {}
    /// Ends the current phase under `name`; the next one starts now.
    void end(const std::string& name);
    double total_seconds() const { return seconds_since(start_); }
    const std::vector<std::pair<std::string, double>>& phases() const { return phases_; }

private:
    Clock::time_point start_, phase_start_;
    std::vector<std::pair<std::string, double>> phases_;
};

struct SceneFacts {
    std::string scene;
    int64_t width = 0, height = 0;
    GeoReference geo;
    int64_t tiles_total = 0;
};

struct PassSeconds {
    double pass2 = 0;          // combine, LOVI and writing of the output blocks
    double layer_outputs = 0;  // layer maps at native resolution
    double finish = 0;         // overviews and closing
    double total = 0;
};

/// run.json's text; `car_saliency` and `counting` are the optional sections.
nlohmann::ordered_json run_report(const RunSetup& setup, const SceneFacts& scene, const BandScaling& scaling,
                                  const Pass1Result& pass1, const PhaseTimes& phases, const PassSeconds& seconds,
                                  const std::optional<nlohmann::ordered_json>& car_saliency,
                                  const std::optional<nlohmann::ordered_json>& counting);

/// A JSON file's text: indented by 2, a final newline; bytes of paths that are not UTF-8 become
/// U+FFFD instead of failing the run.
std::string json_file_text(const nlohmann::ordered_json& json);

/// "satsal x, LibTorch y, GDAL z, oneTBB w, HDF5 v".
std::string versions_text();

}  // namespace satsal
