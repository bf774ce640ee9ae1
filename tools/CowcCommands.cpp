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
namespace {

/// --angles: comma-separated whole degrees in [0, 360) (the COWC code checks multiples of 15).
std::vector<int> parse_angles(const std::string& text) {
    std::vector<int> out;
    for (const auto& item : parse_name_list(text)) {
        const bool digits = !item.empty() && item.size() <= 3 && item.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoi(item) >= 360) {
            throw std::invalid_argument("--angles: '" + printable(item) +
                                        "' is not a whole number of degrees in [0, 360); expected e.g. 0,15,30");
        }
        out.push_back(std::stoi(item));
    }
    if (out.empty()) throw std::invalid_argument("--angles: no angle given; expected e.g. 0,15,30");
    return out;
}

}  // namespace

int make_scene(int argc, char** argv) {
    SyntheticSceneOptions options;
    std::string type = "byte", compression = "zstd", size = "4096x4096", nodata;
    po::options_description described("make-scene options");
    described.add_options()
        ("out", po::value(&options.path)->required(), "output GeoTIFF (or .vrt with --vrt)")
        ("size", po::value(&size)->default_value("4096x4096"), "WIDTHxHEIGHT in pixels")
        ("bands", po::value(&options.bands)->default_value(3), "3 (RGB) or 4 (blue, green, red, NIR)")
        ("type", po::value(&type)->default_value("byte"), "byte | uint16")
        ("seed", po::value(&options.seed)->default_value(1), "random seed (same seed, same pixels)")
        ("epsg", po::value(&options.epsg)->default_value(32633), "projected CRS in metres")
        ("pixel-size", po::value(&options.pixel_size)->default_value(0.15), "metres")
        ("nodata", po::value(&nodata), "nodata areas: corner, swath or corner,swath")
        ("nodata-value", po::value(&options.nodata_value)->default_value(0), "value of nodata pixels")
        ("compress", po::value(&compression)->default_value("zstd"), "zstd | deflate")
        ("block", po::value(&options.block_size)->default_value(512), "GeoTIFF tile size")
        ("vrt", po::bool_switch(&options.vrt), "write one tile and a VRT mosaic repeating it (any size in seconds)")
        ("vrt-tile", po::value(&options.vrt_tile_size)->default_value(2048), "side of the repeated tile");
    po::positional_options_description positional;
    positional.add("out", 1);
    po::variables_map variables;
    if (!parse("usage: satsal make-scene OUT.tif [--size 4096x4096] [--bands 3|4] [--type byte|uint16] [options]",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    const auto dimensions = parse_size("--size", size);
    options.width = dimensions[0];
    options.height = dimensions[1];
    for (const auto& area : parse_name_list(nodata)) {
        if (area == "corner") {
            options.nodata_corner = true;
        } else if (area == "swath") {
            options.nodata_swath = true;
        } else {
            throw std::invalid_argument("--nodata '" + nodata + "': expected corner, swath or corner,swath");
        }
    }
    options.data_type = parse_scene_data_type(type);
    options.compression = parse_scene_compression(compression);
    const SyntheticSceneReport report = write_synthetic_scene(options);
    std::fprintf(stderr, "satsal make-scene: wrote %s (%lldx%lld, %.1f MB, %.1f s)\n", options.path.c_str(),
                 static_cast<long long>(options.width), static_cast<long long>(options.height),
                 static_cast<double>(report.bytes) / 1e6, report.seconds);
    return 0;
}

int make_cowc(int argc, char** argv) {
    cowc::SyntheticCowcOptions options;
    std::string angles = "0", palettes;
    bool once = false;
    po::options_description described("make-cowc options");
    described.add_options()
        ("root", po::value(&options.root)->required(), "output folder")
        ("site", po::value(&options.site)->default_value("Synthetic_SATSAL"), "site folder name")
        ("scene-size", po::value(&options.scene_width)->default_value(2000), "scene side in pixels (0.15 m)")
        ("train-scenes", po::value(&options.train_scenes)->default_value(4), "scenes for the training patches")
        ("test-scenes", po::value(&options.test_scenes)->default_value(1), "held-out scenes")
        ("seed", po::value(&options.seed)->default_value(1), "random seed (same seed, same bytes)")
        ("patch-stride", po::value(&options.patch_stride)->default_value(96), "stride of patch centres")
        ("style", po::value(&options.style)->default_value("v1"),
         "scene generator: v1 (flat-colour town) | v2 (like real 15 cm imagery: lots, sun, shadows, sensor)")
        ("palettes", po::value(&palettes),
         "v2: comma-separated palettes to draw from (summer, arid, overcast, fresh-asphalt, autumn-dusk; "
         "default: all but the held-out autumn-dusk)")
        ("angles", po::value(&angles)->default_value("0"), "patch rotations in degrees, multiples of 15")
        ("no-patches", "scenes and annotations only")
        ("no-geotiffs", "no georeferenced GeoTIFF copies of the scenes")
        ("bz2", po::bool_switch(&options.bz2_lists), "also write .bz2 list files")
        ("once", po::bool_switch(&once), "do nothing when ROOT/synthetic_scenes.csv already exists");
    po::positional_options_description positional;
    positional.add("root", 1);
    po::variables_map variables;
    if (!parse("usage: satsal make-cowc ROOT [--scene-size 2000] [--train-scenes 4] [--test-scenes 1] [options]",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    if (once && std::filesystem::exists(std::filesystem::path(options.root) / "synthetic_scenes.csv")) {
        std::fprintf(stderr, "satsal make-cowc: %s already holds a synthetic COWC set (--once)\n", options.root.c_str());
        return 0;
    }
    options.scene_height = options.scene_width;
    options.write_patches = variables.count("no-patches") == 0;
    options.write_geotiffs = variables.count("no-geotiffs") == 0;
    options.patch_angles.clear();
    options.patch_angles = parse_angles(angles);
    options.palettes = parse_name_list(palettes);
    options.on_scene = [](const cowc::SyntheticCowcSceneInfo& scene, int index, int total) {
        std::fprintf(stderr, "satsal make-cowc: scene %d/%d %s (%s): %zu cars, %zu negatives, %zu patches\n",
                     index + 1, total, scene.name.c_str(), scene.split.c_str(), scene.cars, scene.negatives,
                     scene.patches);
    };
    const cowc::SyntheticCowcResult result = cowc::generate_synthetic_cowc(options);
    std::fprintf(stderr, "satsal make-cowc: wrote %zu scenes under %s\n", result.scenes.size(), options.root.c_str());
    return 0;
}

int cowc_patches(int argc, char** argv) {
    std::vector<std::string> scenes;
    std::string out_root, angles = "0";
    cowc::CountingPatchOptions options;
    bool bz2 = false;
    po::options_description described("cowc-patches options");
    described.add_options()
        ("scene", po::value(&scenes)->composing()->required(), "scene PNG with <scene>_Annotated_Cars.png beside it (repeatable)")
        ("out", po::value(&out_root)->required(), "patch set root")
        ("site", po::value(&options.site)->required(), "site name (folder and list prefix)")
        ("split", po::value(&options.split)->default_value("train"), "train | test | ...")
        ("stride", po::value(&options.stride)->default_value(96), "stride of patch centres in pixels")
        ("angles", po::value(&angles)->default_value("0"), "rotations in degrees, multiples of 15")
        ("bz2", po::bool_switch(&bz2), "write the list file bz2-compressed");
    po::variables_map variables;
    if (!parse("usage: satsal cowc-patches --scene S.png [--scene ...] --out DIR --site NAME [--split train]",
               described, argc, argv, variables)) {
        return 0;
    }
    options.angles.clear();
    options.angles = parse_angles(angles);
    const cowc::CountingPatchSetResult result = cowc::cut_counting_patch_set(scenes, out_root, options, bz2);
    std::fprintf(stderr, "satsal cowc-patches: %zu patches, list %s\n", result.entries.size(), result.list_path.c_str());
    return 0;
}

int train_count(int argc, char** argv) {
    std::string config_path;
    std::vector<std::string> overrides;
    bool print_config = false;
    po::options_description described("train-count options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "training config (see configs/cowc-train.ini)")
        ("set", po::value(&overrides)->composing(), "override a key: --set key=value (repeatable)")
        ("print-config", po::bool_switch(&print_config), "print the resolved config and exit");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal train-count CONFIG [--set key=value ...] [--print-config]\n\nconfig keys:\n" +
                   counting::count_train_config_reference(),
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    counting::CountTrainOptions options = counting::load_count_train_config(config_path, overrides);
    if (print_config) {
        std::cout << counting::count_train_config_ini(options);
        return 0;
    }
    options.on_log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const counting::CountTrainResult result = counting::train_counting_model(options);
    std::cout << counting::count_train_report_json(options, result) << "\n";
    return result.finished ? 0 : 1;
}

int eval_count(int argc, char** argv) {
    counting::CountingEvalOptions options;
    bool json = false;
    po::options_description described("eval-count options");
    described.add_options()
        ("list", po::value(&options.list)->required(), "COWC counting list (plain or .bz2)")
        ("root", po::value(&options.root)->required(), "patch set root (list paths are relative to it)")
        ("model", po::value(&options.model)->required(), "TorchScript counting model")
        ("batch", po::value(&options.batch_size)->default_value(32), "patches per forward pass")
        ("threads", po::value(&options.threads)->default_value(0), "threads (0: all cores)")
        ("views", po::value(&options.views)->default_value(1),
         "test-time augmentation: mean softmax over 1, 2 (mirror), 4 (rotations) or 8 (both) views")
        ("predictions", po::value(&options.predictions), "write per-patch counts and distributions to this CSV")
        ("json", po::bool_switch(&json), "print JSON");
    PrecisionArguments precision;
    precision.add_to(described);
    po::variables_map variables;
    if (!parse("usage: satsal eval-count --list LIST --root DIR --model M.pt [--json]", described, argc, argv,
               variables)) {
        return 0;
    }
    checked_threads(options.threads);
    if (options.batch_size < 1 || options.batch_size > 4096)
        throw std::invalid_argument("--batch " + std::to_string(options.batch_size) + ": expected an integer in 1..4096");
    if (options.views != 1 && options.views != 2 && options.views != 4 && options.views != 8)
        throw std::invalid_argument("--views " + std::to_string(options.views) + ": expected 1, 2, 4 or 8");
    options.precision = precision.inference().precision;
    options.device = precision.device;
    options.on_progress = [](std::size_t done, std::size_t total) {
        std::fprintf(stderr, "eval-count: %zu of %zu patches\n", done, total);
    };
    const counting::CountingEvaluation evaluation = counting::evaluate_counting(options);
    if (json) {
        std::cout << json_file_text(counting::counting_evaluation_json(evaluation, options));
    } else {
        std::cout << counting::counting_metrics_text(evaluation.metrics);
    }
    return 0;
}

}  // namespace satsal::cli
