#include "pipeline/SceneRun.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/RasterReader.hpp"
#include "io/RemoteInput.hpp"
#include "pipeline/AutoMargin.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/CountOutputs.hpp"
#include "pipeline/MethodPass.hpp"
#include "pipeline/MethodWindows.hpp"
#include "pipeline/CountWindows.hpp"
#include "io/OutputLock.hpp"
#include "pipeline/OutputStaging.hpp"
#include "pipeline/RunGuards.hpp"
#include "pipeline/Pass1Graph.hpp"
#include "pipeline/Pass2Blocks.hpp"
#include "pipeline/Quicklook.hpp"
#include "pipeline/RunReport.hpp"
#include "pipeline/RunSetup.hpp"
#include "pipeline/SaliencyProduct.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/Stac.hpp"

#include <gdal.h>
#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace satsal {
namespace {

/// The product's files and grids for a scene: ZSTD level 1 GeoTIFFs with a predictor (about twice
/// as fast as DEFLATE here, and the writes count against throughput; read by GDAL >= 2.3 and
/// QGIS), and saliency.h5 chunked but not compressed (deflate there took half of pass 2;
/// h5repack -f GZIP=4 compresses a copy when wanted).
SaliencyProductOptions scene_product(const RunSetup& setup, const SceneLayers& layers, const GeoReference& geo,
                                     int64_t width, int64_t height) {
    const RunConfig& config = setup.config;
    const int64_t o = config.output_scale;
    SaliencyProductOptions product;
    product.width = ceil_div(width, o);
    product.height = ceil_div(height, o);
    product.geo = geo.scaled(static_cast<double>(o));
    for (std::size_t k = 0; k < setup.layers(); ++k) {
        product.layers.push_back({setup.tap_names[k], setup.strides[k], layers.raw[k].width(), layers.raw[k].height(),
                                  geo.scaled(static_cast<double>(setup.strides[k])), setup.tap_strides[k]});
    }
    GeoTiffOptions& floats = product.combined_tiff;
    floats.compression = "ZSTD";
    floats.compression_level = 1;
    floats.nodata = std::nan("");
    floats.cog = config.cog;
    floats.band_descriptions = {"SMOE combined saliency (" + statistic_name(config.statistic) + ", " +
                                normalization_name(config.norm) + ")"};
    GeoTiffOptions lovi;
    lovi.compression = "ZSTD";
    lovi.compression_level = 1;
    lovi.rgb = true;
    lovi.cog = config.cog;
    lovi.overview_resampling = "AVERAGE";
    lovi.band_descriptions = {"LOVI red", "LOVI green", "LOVI blue"};
    product.lovi_tiff = lovi;
    if (config.write_layers) product.layer_tiffs = floats;
    product.h5_deflate_level = 0;
    product.qgis_styles = true;
    return product;
}

SaliencyAttributes scene_attributes(const RunSetup& setup, const std::string& scene) {
    const RunConfig& config = setup.config;
    SaliencyAttributes attributes;
    attributes.statistic = statistic_name(config.statistic);
    attributes.normalization = normalization_name(config.norm);
    attributes.normalize = normalize_scope_name(config.normalize);
    attributes.weights = setup.weights;
    attributes.taps = setup.tap_names;
    attributes.strides = setup.strides;
    if (setup.tap_strides != setup.strides) attributes.tap_strides = setup.tap_strides;
    attributes.model_sha256 = setup.model_sha256;
    attributes.input = scrub_credentials(scene);
    attributes.output_scale = config.output_scale;
    return attributes;
}

SceneOutcome named_outcome(const RunConfig& config, const std::string& scene) {
    SceneOutcome outcome;
    outcome.scene = scrub_credentials(scene);
    outcome.name = scene_name(scene);
    outcome.output_folder = (fs::path(config.output_dir) / outcome.name).string();
    return outcome;
}

SceneOutcome produce_scene(RunSetup& setup, const std::string& scene, const RunEvents& events, const RasterInfo& info,
                           const BandScaling& scaling, const TileGrid& grid, const std::string& margin_note,
                           OutputStaging& staging, SceneResume& resume, PhaseTimes& phases, SceneOutcome outcome);

SceneOutcome run_one_scene(RunSetup& setup, const std::string& scene, const RunEvents& events, bool restart) {
    const RunConfig& config = setup.config;
    SceneOutcome outcome = named_outcome(config, scene);
    PhaseTimes phases;
    reset_network_statistics();  // run.json input_read: what this scene fetched

    RasterReader reader(scene);
    const RasterInfo& info = reader.info();
    const BandScaling scaling = plan_band_scaling(config, reader);
    for (const std::string& warning : scaling.warnings) events.say_warning(warning);
    if (!info.georeference.georeferenced()) events.say_warning(scene + " has no georeferencing; outputs use pixel coordinates");
    if (!setup.margin) setup.margin = choose_auto_margin(setup, scene, scaling, events);
    TileGridOptions grid_options;
    grid_options.tile_size = setup.tile_size;
    std::string margin_note;
    grid_options.margin = capped_margin(*setup.margin, info.width, info.height, setup.deepest_stride, margin_note);
    if (!margin_note.empty()) events.say_warning(scene + ": " + margin_note);
    grid_options.deepest_stride = setup.deepest_stride;
    const TileGrid grid(info.width, info.height, grid_options);
    OutputStaging staging(outcome.output_folder, {scene, config.model, config.annotations});
    SceneResume resume(outcome.output_folder, scene_fingerprint(config, setup.model_sha256, scene, grid_options.margin),
                       restart);
    try {
        outcome = produce_scene(setup, scene, events, info, scaling, grid, margin_note, staging, resume, phases,
                                std::move(outcome));
    } catch (const RunInterrupted&) {
        throw;
    } catch (const std::exception& error) {
        if (!resume.keep_for_next_attempt()) throw;
        throw std::runtime_error(std::string(error.what()) + " (the tiles finished so far are kept in " +
                                 resume.folder() + ": the same command resumes from them)");
    }
    resume.finish();
    return outcome;
}

/// Pass 1 (resumed where an earlier attempt stopped), pass 2 and every output of one scene.
SceneOutcome produce_scene(RunSetup& setup, const std::string& scene, const RunEvents& events, const RasterInfo& info,
                           const BandScaling& scaling, const TileGrid& grid, const std::string& margin_note,
                           OutputStaging& staging, SceneResume& resume, PhaseTimes& phases, SceneOutcome outcome) {
    const RunConfig& config = setup.config;
    const GeoReference& geo = info.georeference;
    PassSeconds seconds;
    SceneLayers layers(resume, grid, setup.strides, config.normalize == NormalizeScope::Tile);
    std::optional<MethodScene> method;
    std::optional<MethodWindowLayout> method_windows;  // counting runs score the method per window
    if (setup.method && setup.counting) {
        method_windows.emplace(info.width, info.height);
        method.emplace(*setup.method, resume, grid, *method_windows);
    } else if (setup.method) {
        method.emplace(*setup.method, resume, grid);
        layers.method = &*method;
    }
    if (resume.resumed_tiles() > 0) {
        events.say_note(scene + ": resuming: " + std::to_string(resume.resumed_tiles()) + " of " +
                        std::to_string(grid.tile_count()) + " tiles were finished by an earlier run");
    }
    phases.end("setup");

    const int64_t o = config.output_scale;
    Quicklook quicklook(ceil_div(info.width, o), ceil_div(info.height, o), o);
    const Pass1Result pass1 = run_pass1(setup, scene, grid, scaling, layers, quicklook, resume, events);
    if (method && !method_windows) method->measure_range();
    phases.end("pass1");
    std::optional<TileGrid> windows;
    CountWindowsResult window_counts;
    if (setup.counting) {
        windows.emplace(count_window_grid(info.width, info.height));
        window_counts = run_count_windows(setup, scene, *windows, scaling, resume, grid.tile_count());
        phases.end("count_windows");
    }
    MethodWindowsResult method_window_result;
    if (method_windows) {
        method_window_result = run_method_windows(setup, scene, *method_windows, scaling, window_counts.counts,
                                                  *method, resume, grid.tile_count() + windows->tile_count());
        method->measure_range();
        phases.end("method_windows");
    }

    SaliencyProductOptions product_options = scene_product(setup, layers, geo, info.width, info.height);
    if (method) product_options.combined_tiff.band_descriptions = {method_band_description(*setup.method)};
    SaliencyProduct product(staging, product_options);
    if (method) method->prepare(product);
    phases.end("output_setup");
    const std::optional<CarAnnotations> annotations = load_car_annotations(config, scene, info.width, info.height);
    phases.end("annotations");

    auto start = Clock::now();
    const CarSaliency cars = run_pass2(
        setup,
        {scene, grid, scaling.bands, layers, pass1.moments, o, annotations ? &annotations->cars : nullptr,
         method ? &*method : nullptr},
        product, quicklook);
    seconds.pass2 = seconds_since(start);
    // The quicklook is complete once pass 2 has sampled it: its PNG (one zlib stream, about a
    // second here) is encoded on a thread of its own while the layer maps are written and the
    // files close. Its paths are taken here (OutputStaging is used from this thread only).
    const std::string quicklook_png = staging.path("quicklook.png");
    const std::string quicklook_pgw = geo.has_transform ? staging.path("quicklook.pgw") : "";
    const std::string quicklook_aux = geo.georeferenced() ? staging.path("quicklook.png.aux.xml") : "";
    std::future<void> quicklook_written = std::async(std::launch::async, [&] {
        quicklook.write_png(quicklook_png, geo, quicklook_pgw, quicklook_aux);
    });
    start = Clock::now();
    write_layer_maps(setup, layers, pass1.moments, product);
    seconds.layer_outputs = seconds_since(start);
    phases.end("pass2_and_layers");

    std::optional<nlohmann::ordered_json> counting;
    if (setup.counting) {
        const CountReport counts = write_count_outputs(staging, *windows, geo, window_counts.counts,
                                                       annotations ? &*annotations : nullptr);
        outcome.count_predicted = counts.predicted_total;
        outcome.count_true = counts.true_total;
        counting = counts.json;
    }
    start = Clock::now();
    SaliencyAttributes attributes = scene_attributes(setup, scene);
    if (method) {
        attributes.method = setup.method->description();
        product.h5().set_attribute("/", "method", setup.method->description());
        if (setup.method->options().target_class) {
            product.h5().set_attribute("/", "target_class", std::vector<int64_t>{*setup.method->options().target_class});
        }
    }
    product.finish(attributes);
    seconds.finish = seconds_since(start);
    phases.end("counts_attributes_finish");
    quicklook_written.get();
    phases.end("quicklook");  // what was left of it once the files had closed

    seconds.total = phases.total_seconds();
    std::optional<nlohmann::ordered_json> on_cars;
    if (annotations && o == 1) on_cars = cars.to_json(annotations->cars.size(), setup.layers());
    outcome.report = run_report(setup, {scene, info.width, info.height, geo, grid.tile_count()}, scaling, pass1,
                                phases, seconds, on_cars, counting);
    outcome.report["tiling"]["margin"] = grid.margin();
    if (method) {
        outcome.report["method"] =
            method->report(method_windows ? std::nullopt : std::optional<double>(pass1.method_seconds),
                           annotations && o == 1 ? annotations->cars.size() : 0);
        if (method_windows) {
            outcome.report["method"]["windows"] = method_window_result.to_json();
            outcome.report["seconds"]["method_windows"] = method_window_result.seconds_json();
        }
    }
    if (windows) {
        outcome.report["count_windows"] = window_counts.to_json(*windows);
        outcome.report["seconds"]["count_windows"] = window_counts.seconds_json();
    }
    if (!margin_note.empty()) outcome.report["tiling"]["margin_cap"] = margin_note;
    write_text_file(staging.path("run.json"), json_file_text(outcome.report));
    nlohmann::ordered_json stac{{"satsal:model_sha256", setup.model_sha256}, {"satsal:taps", setup.tap_names},
                                {"satsal:statistic", statistic_name(config.statistic)}};
    if (setup.counting) stac["satsal:counted"] = outcome.count_predicted;
    if (setup.counting && outcome.count_true >= 0) stac["satsal:annotated"] = outcome.count_true;
    write_stac_item(fs::path(staging.path("item.json")).parent_path().string(), outcome.name, config.cog, stac,
                    stac_source_item(scene));
    staging.commit();

    outcome.ok = true;
    outcome.margin = grid.margin();
    outcome.tiles_total = grid.tile_count();
    outcome.tiles_processed = pass1.processed;
    outcome.tiles_skipped = pass1.skipped;
    outcome.seconds = seconds.total;
    outcome.megapixels_per_second = static_cast<double>(info.width) * static_cast<double>(info.height) / 1e6 / seconds.total;
    return outcome;
}

}  // namespace

bool RunOutcome::all_ok() const {
    return std::all_of(scenes.begin(), scenes.end(), [](const SceneOutcome& s) { return s.ok; });
}

struct SceneRunner::Process {
    // GDAL's block cache would otherwise grow to 5% of RAM (1.2 GB here) with the blocks of large
    // inputs and outputs. A small fixed cache keeps memory flat as scenes grow: small scenes never
    // fill a large one while large scenes (overview building above all) always do. Writes are
    // whole blocks flushed row by row, so 16 MB costs only some re-decoding of input blocks that
    // neighbouring tiles share.
    explicit Process(const RunConfig& config)
        : parallelism(tbb::global_control::max_allowed_parallelism, prepare(config)) {}
    static std::size_t prepare(const RunConfig& config) {
        ensure_gdal_registered();
        GDALSetCacheMax64(16LL * 1024 * 1024);
        return static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency()));
    }
    tbb::global_control parallelism;
};

SceneRunner::SceneRunner(const RunConfig& config, bool restart)
    : process_(std::make_unique<Process>(config)), setup_(std::make_unique<RunSetup>(config)), restart_(restart) {}

SceneRunner::~SceneRunner() = default;

SceneOutcome SceneRunner::run(const std::string& scene, const RunEvents& events) {
    SceneOutcome outcome;
    try {
        const std::string problem = scene_folder_problems({scene}).front();
        if (!problem.empty()) throw std::invalid_argument(problem);
        outcome = run_one_scene(*setup_, scene, events, restart_);
    } catch (const RunInterrupted&) {
        throw;
    } catch (const std::exception& error) {
        outcome = named_outcome(setup_->config, scene);
        outcome.error = scrub_credentials(error.what());
    }
    if (events.scene_done) events.scene_done(outcome);
    return outcome;
}

void SceneRunner::write_batch_outputs(const std::vector<SceneOutcome>& outcomes) const {
    // A batch in which every scene failed has no results: no counts.csv that looks like one.
    const bool any_ok = std::any_of(outcomes.begin(), outcomes.end(), [](const SceneOutcome& s) { return s.ok; });
    if (setup_->counting && any_ok) write_count_summary(setup_->config, outcomes);
    std::vector<std::string> folders;
    for (const SceneOutcome& scene : outcomes) {
        if (scene.ok) folders.push_back(scene.output_folder);
    }
    if (any_ok) write_stac_collection(setup_->config.output_dir, folders);
}

RunOutcome run_scenes(const RunConfig& config, const RunEvents& events, bool restart) {
    const auto setup_start = Clock::now();
    SceneRunner runner(config, restart);
    const double setup_seconds = seconds_since(setup_start);
    // One single-process run at a time per output_dir (its batch files and scene folders). MPI
    // ranks and shards of one run share output_dir and rely on the per-scene-folder locks of
    // OutputStaging instead.
    std::error_code made;
    fs::create_directories(config.output_dir, made);
    if (made) throw std::runtime_error(config.output_dir + ": cannot create output_dir: " + made.message());
    const OutputLock run_lock(config.output_dir, ".satsal-lock", "satsal run");
    const std::vector<std::string> folder_problems = scene_folder_problems(config.scenes);
    RunOutcome outcome;
    outcome.setup_seconds = setup_seconds;
    for (std::size_t i = 0; i < config.scenes.size(); ++i) {
        if (folder_problems[i].empty()) {
            outcome.scenes.push_back(runner.run(config.scenes[i], events));
            continue;
        }
        SceneOutcome failed = named_outcome(config, config.scenes[i]);
        failed.error = folder_problems[i];
        if (events.scene_done) events.scene_done(failed);
        outcome.scenes.push_back(std::move(failed));
    }
    runner.write_batch_outputs(outcome.scenes);
    return outcome;
}

nlohmann::ordered_json outcome_to_json(const SceneOutcome& o) {
    nlohmann::ordered_json j;
    j["scene"] = o.scene;
    j["name"] = o.name;
    j["output_folder"] = o.output_folder;
    j["ok"] = o.ok;
    j["error"] = o.error;
    j["tiles_total"] = o.tiles_total;
    j["tiles_processed"] = o.tiles_processed;
    j["tiles_skipped"] = o.tiles_skipped;
    j["margin"] = o.margin;
    j["seconds"] = o.seconds;
    j["megapixels_per_second"] = std::isfinite(o.megapixels_per_second) ? o.megapixels_per_second : 0.0;
    j["count_predicted"] = o.count_predicted;
    j["count_true"] = o.count_true;
    return j;
}

SceneOutcome outcome_from_json(const nlohmann::ordered_json& j) {
    SceneOutcome o;
    auto field = [&](const char* name, auto& member) {
        if (!j.is_object() || !j.contains(name)) {
            throw std::invalid_argument(std::string("scene outcome has no '") + name + "' field");
        }
        try {
            j.at(name).get_to(member);
        } catch (const nlohmann::json::exception&) {
            throw std::invalid_argument(std::string("scene outcome field '") + name + "' has the wrong type: " +
                                        j.at(name).dump().substr(0, 60));
        }
    };
    field("scene", o.scene);
    field("name", o.name);
    field("output_folder", o.output_folder);
    field("ok", o.ok);
    field("error", o.error);
    field("tiles_total", o.tiles_total);
    field("tiles_processed", o.tiles_processed);
    field("tiles_skipped", o.tiles_skipped);
    field("margin", o.margin);
    field("seconds", o.seconds);
    field("megapixels_per_second", o.megapixels_per_second);
    field("count_predicted", o.count_predicted);
    field("count_true", o.count_true);
    return o;
}

}  // namespace satsal
