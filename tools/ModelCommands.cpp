#include "tools/Commands.hpp"
#include "tools/PrecisionArguments.hpp"

#include "model/TappedModel.hpp"
#include "pipeline/Bench.hpp"
#include "pipeline/PipelineBench.hpp"
#include "hpc/Mpi.hpp"
#include "hpc/Shard.hpp"
#include "io/PathPolicy.hpp"
#include "io/RasterReader.hpp"
#include "io/RunConfig.hpp"
#include "io/SyntheticScene.hpp"
#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/Synthetic.hpp"
#include "cowc/CountingConfig.hpp"
#include "cowc/CountingEval.hpp"
#include "cowc/CountingMetrics.hpp"
#include "cowc/CountingTrainer.hpp"
#include "pipeline/BandScaling.hpp"
#include "methods/MethodOptions.hpp"
#include "pipeline/Explain.hpp"
#include "pipeline/MethodsBench.hpp"
#include "pipeline/RunReport.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/SceneRun.hpp"
#include "pipeline/RasterSeams.hpp"
#include "pipeline/Seams.hpp"
#include "pipeline/Version.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/Statistics.hpp"
#include "tools/Progress.hpp"

#include <boost/program_options.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>


namespace po = boost::program_options;

namespace satsal::cli {

int explain(int argc, char** argv) {
    ExplainOptions options;
    std::string taps, statistic = "smoe", norm = "gauss", resize, mean, std_dev, method = "smoe", reduce = "abs-max";
    int64_t target_class = -1;
    bool json = false;
    po::options_description described("explain options");
    described.add_options()
        ("model", po::value(&options.model_path)->required(), "TorchScript model (.pt)")
        ("image", po::value(&options.image_path)->required(), "input image (any GDAL raster: GeoTIFF, PNG, JPEG)")
        ("out", po::value(&options.out_dir)->required(), "output folder")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("statistic", po::value(&statistic)->default_value("smoe"), statistic_choices().c_str())
        ("eps", po::value(&options.statistic_options.eps)->default_value(1e-6), "added to activations before logarithms")
        ("norm", po::value(&norm)->default_value("gauss"), "gauss|gamma|gamma-moments|range")
        ("weights", po::value(&options.weights)->default_value("equal"), "equal|ramp|prior|w1,w2,...")
        ("resize", po::value(&resize), "feed the network WxH instead of the native size")
        ("mean", po::value(&mean), "per-channel mean on [0,1] pixels (default ImageNet 0.485,0.456,0.406)")
        ("std", po::value(&std_dev), "per-channel std (default ImageNet 0.229,0.224,0.225)")
        ("threads", po::value(&options.threads)->default_value(0), "LibTorch intra-op threads (0: all cores)")
        ("json", po::bool_switch(&json), "print a JSON summary on stdout");
    add_method_options(described, options.method, method, reduce, target_class);
    PrecisionArguments precision;
    precision.add_to(described);
    po::variables_map variables;
    if (!parse("usage: satsal explain --model M.pt --image IMG --out DIR [options]", described, argc,
               argv, variables)) {
        return 0;
    }
    checked_threads(options.threads);
    options.taps = parse_name_list(taps);
    options.statistic = parse_statistic(statistic);
    options.normalization = parse_normalization(norm);
    options.precision = precision.inference().precision;
    options.device = precision.device;
    if (!resize.empty()) options.resize = parse_size("--resize", resize);
    if (!mean.empty()) options.mean = parse_triplet("--mean", mean);
    if (!std_dev.empty()) options.std = parse_triplet("--std", std_dev);
    finish_method_options(options.method, method, reduce, target_class);

    const ExplainResult result = explain(options);
    if (json) {
        std::cout << result.to_json().dump(2) << "\n";
    } else {
        std::fprintf(stderr, "satsal explain: %lldx%lld, %zu taps, wrote %s, %s, %s, %s\n",
                     static_cast<long long>(result.width), static_cast<long long>(result.height),
                     result.taps.size(), result.saliency_tif.c_str(), result.lovi_png.c_str(),
                     result.overlay_png.c_str(), result.saliency_h5.c_str());
    }
    return 0;
}

int info(int argc, char** argv) {
    std::string model_path, taps;
    int threads = 0;
    bool build = false;
    po::options_description described("info options");
    described.add_options()
        ("model", po::value(&model_path), "TorchScript model (.pt)")
        ("build", po::bool_switch(&build), "what this satsal was built with (library versions, MPI)")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("threads", po::value(&threads)->default_value(0), "LibTorch intra-op threads (0: all cores)");
    po::positional_options_description positional;
    positional.add("model", 1);
    po::variables_map variables;
    if (!parse("usage: satsal info MODEL [--taps a,b,c]\n       satsal info --build", described, argc, argv, variables,
               &positional)) {
        return 0;
    }
    if (build) {
        std::cout << versions_text() << "\nMPI: " << (hpc::mpi_built() ? "yes, " : "no, ") << hpc::mpi_library_version()
                  << "\n";
        if (model_path.empty()) return 0;
    }
    if (model_path.empty()) throw std::invalid_argument("satsal info: name a MODEL, or ask for --build (see --help)");
    set_torch_threads(checked_threads(threads));
    TappedModel model(model_path, parse_name_list(taps));
    std::cout << model.describe();
    return 0;
}
namespace {

/// `seams --raster R --grid G`: the boundary/elsewhere step ratio of a finished raster.
int raster_seams(const std::string& raster, int64_t grid, int band, bool json) {
    if (grid < 2 || grid > kMaxTileSize)
        throw std::invalid_argument("--grid " + std::to_string(grid) + ": expected an integer in 2.." +
                                    std::to_string(kMaxTileSize) + " (pixels of the raster)");
    const RasterGridSteps steps = measure_grid_steps(raster, band, grid);
    auto finite = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); };
    if (json) {
        nlohmann::ordered_json out;
        out["raster"] = raster;
        out["band"] = band;
        out["grid"] = grid;
        out["size"] = std::vector<int64_t>{steps.width, steps.height};
        for (const auto& [name, axis] : {std::pair<const char*, const AxisSteps&>{"x", steps.x}, {"y", steps.y}}) {
            nlohmann::ordered_json& a = out[name];
            a["boundary_mean_step"] = finite(axis.boundary_mean());
            a["elsewhere_mean_step"] = finite(axis.elsewhere_mean());
            a["ratio"] = finite(axis.ratio());
            a["boundary_steps"] = axis.boundary_steps;
            a["elsewhere_steps"] = axis.elsewhere_steps;
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::printf("seams: %s band %d (%lldx%lld), grid %lld px: mean |step| across grid lines / elsewhere\n",
                raster.c_str(), band, static_cast<long long>(steps.width), static_cast<long long>(steps.height),
                static_cast<long long>(grid));
    for (const auto& [name, axis] : {std::pair<const char*, const AxisSteps&>{"x", steps.x}, {"y", steps.y}}) {
        std::printf("  %s: ratio %.3f (boundary %.4e over %lld steps, elsewhere %.4e over %lld)\n", name, axis.ratio(),
                    axis.boundary_mean(), static_cast<long long>(axis.boundary_steps), axis.elsewhere_mean(),
                    static_cast<long long>(axis.elsewhere_steps));
    }
    return 0;
}

}  // namespace

int seams(int argc, char** argv) {
    std::string model_path, image, taps, statistic = "smoe", raster;
    int64_t tile_size = 256, margin = 64, grid = 0;
    int threads = 0, batch = 4, band = 1;
    bool json = false;
    po::options_description described("seams options");
    described.add_options()
        ("model", po::value(&model_path), "TorchScript model (.pt)")
        ("image", po::value(&image), "input image or scene (any GDAL raster, first 3 bands)")
        ("raster", po::value(&raster), "instead of --model/--image: a finished raster (e.g. saliency.tif) whose "
                                       "mean |step| across the lines of --grid is compared with the step elsewhere")
        ("grid", po::value(&grid), "with --raster: grid spacing in the raster's pixels (192 for a counting run's windows)")
        ("band", po::value(&band)->default_value(1), "with --raster: band number (1-based)")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("tile-size", po::value(&tile_size)->default_value(256), "tile core size (multiple of the deepest stride)")
        ("margin", po::value(&margin)->default_value(64), "context on each side (multiple of the deepest stride)")
        ("statistic", po::value(&statistic)->default_value("smoe"), statistic_choices().c_str())
        ("batch", po::value(&batch)->default_value(4), "tiles per forward pass")
        ("threads", po::value(&threads)->default_value(0), "LibTorch intra-op threads (0: all cores)")
        ("json", po::bool_switch(&json), "print JSON");
    PrecisionArguments precision;
    precision.add_to(described);
    po::variables_map variables;
    if (!parse("usage: satsal seams --model M.pt --image IMG [--tile-size 256] [--margin 64]\n"
               "       satsal seams --raster R.tif --grid G [--band 1]",
               described, argc, argv, variables)) {
        return 0;
    }
    if (!raster.empty()) {
        if (!model_path.empty() || !image.empty())
            throw std::invalid_argument("--raster measures a finished raster: give it without --model and --image");
        if (!variables.count("grid")) throw std::invalid_argument("--raster needs --grid (the grid spacing in pixels)");
        return raster_seams(raster, grid, band, json);
    }
    if (model_path.empty() || image.empty())
        throw std::invalid_argument("seams needs --model and --image (or --raster and --grid)");
    // The run config's limits: a tile of 0 or a negative margin has no meaning (and divided by zero).
    if (tile_size < kMinTileSize || tile_size > kMaxTileSize)
        throw std::invalid_argument("--tile-size " + std::to_string(tile_size) + ": expected an integer in " +
                                    std::to_string(kMinTileSize) + ".." + std::to_string(kMaxTileSize) + " (pixels)");
    if (margin < 0 || margin > std::min<int64_t>(tile_size, kMaxMargin))
        throw std::invalid_argument("--margin " + std::to_string(margin) + ": expected an integer in 0.." +
                                    std::to_string(std::min<int64_t>(tile_size, kMaxMargin)) +
                                    " (pixels, at most --tile-size)");
    if (batch < 1 || batch > kMaxBatchSize)
        throw std::invalid_argument("--batch " + std::to_string(batch) + ": expected an integer in 1.." +
                                    std::to_string(kMaxBatchSize));
    set_torch_threads(checked_threads(threads));
    const TapStatistic parsed{parse_statistic(statistic), {}};
    TappedModel model(model_path, parse_name_list(taps), parsed.needs_pre_activation(), precision.inference());
    RunConfig defaults;  // ImageNet mean/std, natural range of the data type
    const BandScaling scaling = plan_band_scaling(defaults, RasterReader(image));
    // Probe: the centre crop holding a 2 x 2 block of cores with `margin` of real context.
    const SeamProbe probe = read_seam_probe(image, scaling, seam_probe_side(tile_size, margin), model.deepest_stride());
    const SeamMeasurement result = seam_errors(model, probe, tile_size, margin, margin, parsed, batch);
    if (json) {
        nlohmann::ordered_json out;
        out["image"] = image;
        out["tile_size"] = tile_size;
        out["margin"] = margin;
        out["tiles_compared"] = result.tiles;
        out["probe"] = std::vector<int64_t>{probe.x0, probe.y0, probe.width, probe.height};
        nlohmann::ordered_json& layers = out["layers"] = nlohmann::ordered_json::array();
        for (std::size_t k = 0; k < result.errors.size(); ++k) {
            nlohmann::ordered_json entry;
            entry["layer"] = "L" + std::to_string(k + 1);
            entry["tap"] = model.taps()[k].name;
            entry["stride"] = model.taps()[k].stride;
            entry["max_seam_error"] = result.errors[k];
            layers.push_back(entry);
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::printf("seams: tile %lld, margin %lld, %lld tiles against one whole pass on a %lldx%lld crop of %s\n",
                    static_cast<long long>(tile_size), static_cast<long long>(margin),
                    static_cast<long long>(result.tiles), static_cast<long long>(probe.width),
                    static_cast<long long>(probe.height), image.c_str());
        for (std::size_t k = 0; k < result.errors.size(); ++k) {
            std::printf("  L%zu %-12s stride %3lld  max seam error %.3e\n", k + 1, model.taps()[k].name.c_str(),
                        static_cast<long long>(model.taps()[k].stride), result.errors[k]);
        }
    }
    return 0;
}
}  // namespace satsal::cli
