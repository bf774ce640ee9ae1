#include "pipeline/RunReport.hpp"

#include "io/RemoteInput.hpp"
#include "pipeline/Version.hpp"

#include <gdal.h>
#include <hdf5.h>
#include <oneapi/tbb/version.h>
#include <torch/version.h>

#include <cmath>

namespace satsal {
namespace {

using Json = nlohmann::ordered_json;

Json moments_json(const MapMoments& m) {
    Json json;
    json["valid_pixels"] = static_cast<int64_t>(m.count);
    json["mean"] = m.mean();
    json["std"] = m.stddev();
    json["min"] = m.count ? m.min : NAN;
    json["max"] = m.count ? m.max : NAN;
    return json;
}

Json tiling_json(const RunSetup& setup) {
    Json json;
    json["tile_size"] = setup.tile_size;
    json["margin"] = *setup.margin;
    json["margin_auto"] = !setup.config.margin;
    if (!setup.config.margin) json["margin_choice"] = setup.margin_report;
    json["pad"] = pad_mode_name(setup.config.pad);
    return json;
}

Json seconds_json(const Pass1Result& pass1, const PhaseTimes& phases, const PassSeconds& seconds) {
    Json json;
    json["total"] = seconds.total;
    json["pass1_wall"] = pass1.wall_seconds;
    json["read_preprocess_busy"] = pass1.read_seconds;
    json["forward_busy"] = pass1.forward_seconds;
    json["statistic_busy"] = pass1.statistic_seconds;
    json["stitch_busy"] = pass1.stitch_seconds;
    json["pass2_combine_lovi_write"] = seconds.pass2;
    json["layer_outputs"] = seconds.layer_outputs;
    json["overviews_and_close"] = seconds.finish;
    for (const auto& [name, value] : phases.phases()) json["phases"][name] = value;
    return json;
}

Json layers_json(const RunSetup& setup, const Pass1Result& pass1) {
    Json layers = Json::array();
    for (std::size_t k = 0; k < setup.layers(); ++k) {
        Json entry = moments_json(pass1.moments[k]);
        entry["name"] = "L" + std::to_string(k + 1);
        entry["tap"] = setup.tap_names[k];
        entry["stride"] = setup.strides[k];
        layers.push_back(entry);
    }
    return layers;
}

// What reading the scene cost: GDAL's network statistics since the scene started (SceneRun resets
// them), 0 for local files. GDAL counts bytes downloaded by its network file systems only.
Json input_read_json(const std::string& scene) {
    const NetworkStatistics stats = network_statistics();
    Json json;
    json["remote"] = is_remote_name(gdal_open_name(scene));
    json["network_bytes"] = stats.downloaded_bytes;
    json["network_requests"] = stats.requests;
    return json;
}

}  // namespace

void PhaseTimes::end(const std::string& name) {
    phases_.emplace_back(name, seconds_since(phase_start_));
    phase_start_ = Clock::now();
}

std::string json_file_text(const nlohmann::ordered_json& json) {
    return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string versions_text() {
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    return "satsal " + satsal_version() + ", LibTorch " + TORCH_VERSION + ", GDAL " +
           GDALVersionInfo("RELEASE_NAME") + ", oneTBB " + TBB_VERSION_STRING + ", HDF5 " + std::to_string(major) +
           "." + std::to_string(minor) + "." + std::to_string(release);
}

nlohmann::ordered_json run_report(const RunSetup& setup, const SceneFacts& scene, const BandScaling& scaling,
                                  const Pass1Result& pass1, const PhaseTimes& phases, const PassSeconds& seconds,
                                  const std::optional<nlohmann::ordered_json>& car_saliency,
                                  const std::optional<nlohmann::ordered_json>& counting) {
    const RunConfig& config = setup.config;
    Json report;
    report["scene"] = scrub_credentials(scene.scene);
    report["input_read"] = input_read_json(scene.scene);
    report["size"] = std::vector<int64_t>{scene.width, scene.height};
    report["georeferenced"] = scene.geo.georeferenced();
    report["config"] = scrub_credentials(to_ini(config));
    report["model"] = config.model;
    report["model_sha256"] = setup.model_sha256;
    report["precision"] = setup.precision;
    report["precision_reason"] = setup.precision_reason;
    report["graph_optimization"] = setup.graph_optimization;
    report["taps"] = setup.tap_names;
    report["strides"] = setup.strides;
    report["weights"] = setup.weights;
    report["versions"] = versions_text();
    report["band_scaling"]["bands"] = scaling.bands;
    report["band_scaling"]["rule"] = scaling.rule;
    report["band_scaling"]["low"] = scaling.low;
    report["band_scaling"]["high"] = scaling.high;
    report["tiling"] = tiling_json(setup);
    report["tiles"]["total"] = scene.tiles_total;
    report["tiles"]["processed"] = pass1.processed;
    report["tiles"]["skipped_nodata"] = pass1.skipped;
    report["tiles"]["resumed"] = pass1.resumed;
    report["seconds"] = seconds_json(pass1, phases, seconds);
    const double megapixels = static_cast<double>(scene.width) * static_cast<double>(scene.height) / 1e6;
    report["throughput"]["megapixels_per_second"] = megapixels / seconds.total;
    if (const auto area = scene.geo.pixel_area_m2(); area && scene.geo.georeferenced()) {
        const double km2 = *area * static_cast<double>(scene.width) * static_cast<double>(scene.height) / 1e6;
        report["throughput"]["km2_per_hour"] = km2 / (seconds.total / 3600.0);
    }
    report["layers"] = layers_json(setup, pass1);
    report["normalize"] = normalize_scope_name(config.normalize);
    if (car_saliency) report["saliency_on_cars"] = *car_saliency;
    report["task"] = run_task_name(config.task);
    if (counting) {
        report["counting"] = *counting;
        report["tap_strides"] = setup.tap_strides;
    }
    return report;
}

}  // namespace satsal
