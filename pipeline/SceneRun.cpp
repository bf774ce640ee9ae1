#include "pipeline/SceneRun.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/RasterReader.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/AutoMargin.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/CountOutputs.hpp"
#include "pipeline/OutputStaging.hpp"
#include "pipeline/Pass1Graph.hpp"
#include "pipeline/Pass2Blocks.hpp"
#include "pipeline/Quicklook.hpp"
#include "pipeline/RunReport.hpp"
#include "pipeline/RunSetup.hpp"
#include "pipeline/SaliencyProduct.hpp"

#include <gdal.h>
#include <oneapi/tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
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
                                  geo.scaled(static_cast<double>(setup.strides[k]))});
    }
    GeoTiffOptions& floats = product.combined_tiff;
    floats.compression = "ZSTD";
    floats.compression_level = 1;
    floats.nodata = std::nan("");
    floats.cog = config.cog;
    floats.band_descriptions = {"SMOE combined saliency (" + config.statistic + ", " + config.norm + ")"};
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
    return product;
}

SaliencyAttributes scene_attributes(const RunSetup& setup, const std::string& scene) {
    const RunConfig& config = setup.config;
    SaliencyAttributes attributes;
    attributes.statistic = config.statistic;
    attributes.normalization = config.norm;
    attributes.normalize = normalize_scope_name(config.normalize);
    attributes.weights = setup.weights;
    attributes.taps = setup.tap_names;
    attributes.strides = setup.strides;
    attributes.model_sha256 = setup.model_sha256;
    attributes.input = scene;
    attributes.output_scale = config.output_scale;
    return attributes;
}

SceneOutcome named_outcome(const RunConfig& config, const std::string& scene) {
    SceneOutcome outcome;
    outcome.scene = scene;
    outcome.name = scene_name(scene);
    outcome.output_folder = (fs::path(config.output_dir) / outcome.name).string();
    return outcome;
}

SceneOutcome run_one_scene(RunSetup& setup, const std::string& scene, const RunEvents& events) {
    const RunConfig& config = setup.config;
    SceneOutcome outcome = named_outcome(config, scene);
    PhaseTimes phases;
    PassSeconds seconds;

    RasterReader reader(scene);
    const RasterInfo& info = reader.info();
    const BandScaling scaling = plan_band_scaling(config, reader);
    for (const std::string& warning : scaling.warnings) events.say_warning(warning);
    const GeoReference& geo = info.georeference;
    if (!geo.georeferenced()) events.say_warning(scene + " has no georeferencing; outputs use pixel coordinates");
    if (!setup.margin) setup.margin = choose_auto_margin(setup, scene, scaling, events);
    TileGridOptions grid_options;
    grid_options.tile_size = setup.tile_size;
    grid_options.margin = *setup.margin;
    grid_options.deepest_stride = setup.deepest_stride;
    const TileGrid grid(info.width, info.height, grid_options);
    OutputStaging staging(outcome.output_folder);
    SceneLayers layers(staging, grid, setup.strides, config.normalize == NormalizeScope::Tile);
    phases.end("setup");

    const int64_t o = config.output_scale;
    Quicklook quicklook(ceil_div(info.width, o), ceil_div(info.height, o), o);
    const Pass1Result pass1 = run_pass1(setup, scene, grid, scaling, layers, quicklook, events);
    phases.end("pass1");

    SaliencyProduct product(staging, scene_product(setup, layers, geo, info.width, info.height));
    phases.end("output_setup");
    const std::optional<CarAnnotations> annotations = load_car_annotations(config, scene, info.width, info.height);
    phases.end("annotations");

    auto start = Clock::now();
    const CarSaliency cars = run_pass2(
        setup, {scene, grid, scaling.bands, layers, pass1.moments, o, annotations ? &annotations->cars : nullptr},
        product, quicklook);
    seconds.pass2 = seconds_since(start);
    start = Clock::now();
    write_layer_maps(setup, layers, pass1.moments, product);
    seconds.layer_outputs = seconds_since(start);
    phases.end("pass2_and_layers");
    quicklook.write_png(staging.path("quicklook.png"));
    phases.end("quicklook");

    std::optional<nlohmann::ordered_json> counting;
    if (setup.counting) {
        const CountReport counts = write_count_outputs(staging, grid, geo, pass1.counts,
                                                       annotations ? &*annotations : nullptr);
        outcome.count_predicted = counts.predicted_total;
        outcome.count_true = counts.true_total;
        counting = counts.json;
    }
    start = Clock::now();
    product.finish(scene_attributes(setup, scene));
    seconds.finish = seconds_since(start);
    phases.end("counts_attributes_finish");

    seconds.total = phases.total_seconds();
    std::optional<nlohmann::ordered_json> on_cars;
    if (annotations && o == 1) on_cars = cars.to_json(annotations->cars.size(), setup.layers());
    outcome.report = run_report(setup, {scene, info.width, info.height, geo, grid.tile_count()}, scaling, pass1,
                                phases, seconds, on_cars, counting);
    write_text_file(staging.path("run.json"), json_file_text(outcome.report));
    staging.commit();

    outcome.ok = true;
    outcome.margin = *setup.margin;
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

RunOutcome run_scenes(const RunConfig& config, const RunEvents& events) {
    // GDAL's block cache would otherwise grow to 5% of RAM (1.2 GB here) with the blocks of large
    // inputs and outputs. A small fixed cache keeps memory flat as scenes grow: small scenes never
    // fill a large one while large scenes (overview building above all) always do. Writes are
    // whole blocks flushed row by row, so 16 MB costs only some re-decoding of input blocks that
    // neighbouring tiles share.
    ensure_gdal_registered();
    GDALSetCacheMax64(16LL * 1024 * 1024);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(cores));
    set_torch_threads(config.threads);
    RunSetup setup(config);

    RunOutcome outcome;
    for (const std::string& scene : config.scenes) {
        try {
            outcome.scenes.push_back(run_one_scene(setup, scene, events));
        } catch (const std::exception& error) {
            SceneOutcome failed = named_outcome(config, scene);
            failed.error = error.what();
            outcome.scenes.push_back(std::move(failed));
        }
        if (events.scene_done) events.scene_done(outcome.scenes.back());
    }
    if (setup.counting) write_count_summary(config, outcome.scenes);
    return outcome;
}

}  // namespace satsal
