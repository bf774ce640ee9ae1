#include "io/RunConfig.hpp"
#include "io/RunConfigTypes.hpp"

#include "io/GdalSupport.hpp"
#include "io/RemoteInput.hpp"
#include "model/Precision.hpp"

#include <cpl_vsi.h>

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace satsal {
namespace {

namespace fs = std::filesystem;
using config::join;
using config::lower;
using config::Origin;
using config::trim;
using config::ValueType;

std::string shown_path(const std::string& path) { return config::shown(path, config::kShownPathLength); }

[[noreturn]] void fail(const Origin& origin, const std::string& message) {
    throw RunConfigError(origin.where + ": " + message);
}

using namespace run_config_types;

config::Schema<RunConfig> make_schema() {
    using config::boolean;
    using config::enumeration;
    using config::integer;
    using config::path;
    using config::real;
    config::Schema<RunConfig> s("run");
    using C = RunConfig;
    const config::Schema<RunConfig>::Options required{true, ""};
    s.add("model", &C::model, path(), "", "TorchScript model file (.pt)", required);
    s.add("taps", &C::taps, tap_names(), "auto",
          "tap module names, comma separated (e.g. relu,layer1,layer2,layer3,layer4); auto = find them");
    s.add("threads", &C::threads, config::thread_count(), "0",
          "LibTorch intra-op threads; 0 = all cores; at most 4 x the cores (and 256)");
    s.add("batch_size", &C::batch_size, integer(1, kMaxBatchSize), "4", "tiles per forward pass, 1..256");
    s.add("precision", &C::precision, config::word({"fp32", "bf16", "auto"}), "auto",
          "fp32 | bf16 | auto (bf16 where the CPU has AVX512-BF16 or AMX and it is faster, else fp32)");
    s.add("device", &C::device, device_type(), "cpu", "cpu | cuda | cuda:N (cuda needs satsal built against a CUDA LibTorch)");
    s.add_list("scene", &C::scenes, scene_spec(),
               "scene raster, directory of rasters (.tif .tiff .png .jp2 .vrt .img), glob, GDAL dataset name "
               "(/vsicurl/, /vsis3/, /vsizip/, NETCDF:\"f.nc\":var, https://...) or STAC item (.json); repeatable",
               {false, "(required unless scene_list)"});
    s.add("scene_list", &C::scene_list, path(), "",
          "file of scenes, one per line (as the scene key takes them; # comments), added after the scene keys");
    s.add("asset", &C::asset, asset_key(), "", "STAC item scenes: the asset to read (e.g. visual); empty = the item's only asset");
    s.add("output_dir", &C::output_dir, path(), "", "outputs go to <output_dir>/<scene name>/", required);
    s.add("bands", &C::bands, band_list(), "", "1-based band numbers in model channel order, e.g. 3,2,1",
          {false, "1,2,3"});
    s.add("input_range", &C::input_range, value_range(false), "",
          "min,max of raw values mapped to [0,1]; exclusive with stretch", {false, "(data type range)"});
    s.add("stretch", &C::stretch, value_range(true), "",
          "low,high percentiles (0..100) per band mapped to [0,1], e.g. 2,98 (from overviews or a sample)");
    s.add("mean", &C::mean, number_list(false), "0.485,0.456,0.406",
          "per-channel mean on [0,1] pixels (one per selected band)");
    s.add("std", &C::std, number_list(true), "0.229,0.224,0.225", "per-channel standard deviation on [0,1] pixels");
    s.add("tile_size", &C::tile_size, integer(kMinTileSize, kMaxTileSize, "pixels"), "512",
          "tile core size in pixels, 16..8192, a multiple of the model's deepest stride");
    s.add("margin", &C::margin, margin_type(), "auto",
          "context pixels on each side of a core (0..4096, at most tile_size, a multiple of the deepest stride), "
          "or auto: the smallest whose seam error on a probe is within seam_tolerance");
    s.add("seam_tolerance", &C::seam_tolerance, real(0, 1, true, false), "0.01",
          "margin = auto: largest allowed seam error relative to the map's max, in (0, 1]");
    s.add("pad", &C::pad,
          enumeration<PadMode>({{"reflect", PadMode::Reflect}, {"mean", PadMode::Mean}, {"zero", PadMode::Zero}}),
          "reflect", "scene edge padding: reflect | mean | zero");
    s.add("statistic", &C::statistic, statistic_type(), "smoe", join(statistic_names(), " | "));
    s.add("norm", &C::norm, normalization_type(), "gauss", "per-layer normalization: " + join(normalization_names(), " | "));
    s.add("weights", &C::weights, weights_type(), "equal",
          "layer weights: equal | ramp (1..n) | prior ([0.18,0.15,0.37,0.40,0.72]) | w1,w2,...");
    s.add("normalize", &C::normalize,
          enumeration<NormalizeScope>({{"scene", NormalizeScope::Scene}, {"tile", NormalizeScope::Tile}}), "scene",
          "normalization statistics over the whole scene (seamless) or per tile (as in the paper): scene | tile");
    s.add("output_scale", &C::output_scale, power_of_two(kMaxOutputScale), "1",
          "write saliency.tif and lovi.tif this much coarser: 1, 2, 4, ... 256");
    s.add("write_layers", &C::write_layers, boolean(), "false", "also write one GeoTIFF per layer");
    s.add("cog", &C::cog, boolean(), "false", "write Cloud Optimized GeoTIFFs");
    s.add("quiet", &C::quiet, boolean(), "false", "no progress on stderr");
    s.add("task", &C::task, enumeration<RunTask>({{"saliency", RunTask::Saliency}, {"count", RunTask::Count}}),
          "saliency", "saliency | count (COWC car counting)");
    s.add("annotations", &C::annotations, path(), "",
          "COWC car annotation PNG, or a folder with <scene>_Annotated_Cars.png, to score counts against");
    s.add("synthetic_cowc", &C::synthetic_cowc, path(), "",
          "folder of a synthetic COWC demo set; satsal run generates it there once if missing");
    s.add("method", &C::method, method_type(), "smoe",
          "saliency method: " + join(method_names(), " | ") + " (as satsal explain --method; the SMOE maps are always written)");
    s.add("smoothgrad_sq", &C::smoothgrad_sq, boolean(), "false",
          "SmoothGrad-Sq on method = gradient | guided-backprop | integrated-gradients");
    s.add("class", &C::target_class, class_type(), "predicted",
          "the class whose logit is the score: predicted (each tile's own) or a class index");
    s.add("steps", &C::steps, integer(1, 100000), "50", "method = integrated-gradients: path steps (midpoint rule)");
    s.add("baseline", &C::baseline, real(-1e6, 1e6), "0",
          "method = integrated-gradients: baseline value in network input units (0 = the mean colour)");
    s.add("samples", &C::samples, integer(1, 100000), "15", "smoothgrad_sq: noisy samples per tile");
    s.add("noise", &C::noise, real(0, 100), "0.15", "smoothgrad_sq: sigma / (max - min) of each tile's input");
    s.add("seed", &C::seed, integer(0, 2147483647), "0", "smoothgrad_sq: seed of the noise");
    s.add("reduce", &C::reduce,
          enumeration<ChannelReduction>({{"abs-max", ChannelReduction::AbsMax}, {"sum-abs", ChannelReduction::SumAbs}}),
          "abs-max", "input attributions: channels reduced by abs-max | sum-abs");
    s.add("cam_tap", &C::cam_tap, module_name(), "", "gradcam | gradcam++ | fastcam: the tap (one of taps)",
          {false, "(the last tap)"});
    s.add("method_batch", &C::method_batch, integer(1, kMaxBatchSize), "8",
          "images per forward/backward pass of a gradient method (IG steps, SmoothGrad samples), 1..256");
    return s;
}

// Checks across keys that need no file.
void check_across_keys(const ParsedRunConfig& parsed) {
    const RunConfig& c = parsed.config;
    if (c.scenes.empty() && c.scene_list.empty()) {
        for (const auto& key : run_config_schema().keys())
            if (key.name == "scene")
                throw RunConfigError(parsed.source + ": missing required key 'scene' (" + key.help + ")");
    }
    if (c.input_range && c.stretch)
        parsed.fail("stretch", "stretch and input_range (" + parsed.origin("input_range").where +
                                   ") are mutually exclusive; keep one (an empty value resets a key)");

    if (c.margin && *c.margin > c.tile_size)
        parsed.fail("margin", "margin: " + std::to_string(*c.margin) + " is more than tile_size " +
                                  std::to_string(c.tile_size) + " (" +
                                  (parsed.given("tile_size") ? parsed.origin("tile_size").where : std::string("default")) +
                                  "); the context on each side is at most one core wide");

    // Method parameters: a parameter the chosen method does not use, set away from its default, is
    // a mistake (to_ini writes every key at its value, so a default is never flagged).
    const RunConfig defaults;
    const std::string method = method_name(c.method);
    auto refuse = [&](const char* key, const std::string& applies_to) {
        parsed.fail(key, std::string(key) + ": applies to " + applies_to + ", not to method = " + method +
                             (parsed.given("method") ? " (" + parsed.origin("method").where + ")" : std::string(" (default)")));
    };
    if (c.smoothgrad_sq && !is_input_attribution(c.method))
        refuse("smoothgrad_sq", "method = gradient, guided-backprop or integrated-gradients");
    if (c.method != Method::IntegratedGradients) {
        if (c.steps != defaults.steps) refuse("steps", "method = integrated-gradients");
        if (c.baseline != defaults.baseline) refuse("baseline", "method = integrated-gradients");
    }
    if (!c.smoothgrad_sq) {
        if (c.samples != defaults.samples) refuse("samples", "smoothgrad_sq = true");
        if (c.noise != defaults.noise) refuse("noise", "smoothgrad_sq = true");
        if (c.seed != defaults.seed) refuse("seed", "smoothgrad_sq = true");
    }
    if (!is_input_attribution(c.method) && c.reduce != defaults.reduce)
        refuse("reduce", "method = gradient, guided-backprop or integrated-gradients");
    if (!is_cam(c.method) && !c.cam_tap.empty()) refuse("cam_tap", "method = gradcam, gradcam++ or fastcam");
    if (c.method == Method::Smoe) {
        if (c.target_class) refuse("class", "gradient methods");
        if (c.method_batch != defaults.method_batch) refuse("method_batch", "gradient methods");
    }

    // mean and std: one value per model input channel. With bands set that count is known here.
    const auto where_or_default = [&](const char* key) {
        return parsed.given(key) ? parsed.origin(key).where : std::string("default");
    };
    if (!c.bands.empty()) {
        const std::size_t count = c.bands.size();
        for (const char* key : {"mean", "std"}) {
            const auto& values = std::string(key) == "mean" ? c.mean : c.std;
            if (values.size() == count) continue;
            const Origin origin = parsed.given(key) ? parsed.origin(key) : parsed.origin("bands");
            fail(origin, std::string(key) + " has " + std::to_string(values.size()) + " values (" +
                             where_or_default(key) + ") but bands (" + parsed.origin("bands").where + ") selects " +
                             std::to_string(count) + "; give one " + key + " value per selected band");
        }
    } else if (c.mean.size() != c.std.size()) {
        const Origin origin = parsed.given("std") ? parsed.origin("std") : parsed.origin("mean");
        fail(origin, "mean (" + where_or_default("mean") + ") has " + std::to_string(c.mean.size()) +
                         " values but std (" + where_or_default("std") + ") has " + std::to_string(c.std.size()) +
                         "; give one value per channel in each");
    }
}

bool has_glob_characters(const std::string& text) { return text.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> expand_scene(const std::string& spec, const Origin& origin, const std::string& asset) {
    if (is_dataset_name(spec)) {
        try {
            return expand_dataset_name(spec, asset, scene_raster_extensions());
        } catch (const std::invalid_argument& error) {
            fail(origin, error.what());
        }
    }
    const fs::path path = spec;  // resolved by the schema
    std::error_code error;
    if (fs::is_regular_file(path, error) && is_stac_item_spec(spec)) {
        try {
            return {stac_item_scene(spec, asset)};
        } catch (const std::invalid_argument& problem) {
            fail(origin, problem.what());
        }
    }
    if (fs::is_regular_file(path, error)) return {path.string()};
    if (fs::is_directory(path, error)) {
        std::vector<std::string> files;
        const auto& extensions = scene_raster_extensions();
        for (const auto& entry : fs::directory_iterator(path, error)) {
            if (!entry.is_regular_file(error)) continue;
            const std::string extension = lower(entry.path().extension().string());
            if (std::find(extensions.begin(), extensions.end(), extension) != extensions.end())
                files.push_back(entry.path().lexically_normal().string());
        }
        if (error) fail(origin, "cannot list scene directory '" + shown_path(path.string()) + "': " + error.message());
        if (files.empty())
            fail(origin, "scene directory '" + shown_path(path.string()) + "' holds no raster (" +
                             join(extensions, " ") + ")");
        std::sort(files.begin(), files.end());
        return files;
    }
    if (has_glob_characters(spec)) {
        glob_t matches{};
        const int status = ::glob(path.c_str(), 0, nullptr, &matches);
        std::vector<std::string> files;
        if (status == 0)
            for (std::size_t i = 0; i < matches.gl_pathc; ++i)
                if (fs::is_regular_file(matches.gl_pathv[i], error)) files.emplace_back(matches.gl_pathv[i]);
        globfree(&matches);
        if (status != 0 && status != GLOB_NOMATCH)
            fail(origin, "cannot expand scene pattern '" + shown_path(path.string()) + "' (glob error " + std::to_string(status) + ")");
        if (files.empty()) fail(origin, "scene pattern '" + shown_path(path.string()) + "' matches no file");
        return files;  // glob(3) sorts them
    }
    fail(origin, "scene file '" + shown_path(path.string()) + "' does not exist");
}

// The specs of a scene_list file: one per line, blank lines and `#` comment lines skipped, each
// trimmed and resolved like a `scene` value against the list file's folder. Read through GDAL's
// file layer, so the list itself may be remote (/vsicurl/..., /vsis3/...).
std::vector<std::pair<std::string, Origin>> read_scene_list(const std::string& list, const Origin& origin) {
    ensure_gdal_registered();
    GByte* bytes = nullptr;
    vsi_l_offset size = 0;
    constexpr vsi_l_offset kMaxListBytes = 256LL * 1024 * 1024;
    std::error_code error;
    if (!is_dataset_name(list) && fs::is_directory(list, error))
        fail(origin, "scene_list '" + shown_path(list) + "' is a folder; expected a file with one scene per line");
    {
        GdalErrorCapture quiet;
        if (!VSIIngestFile(nullptr, list.c_str(), &bytes, &size, kMaxListBytes))
            fail(origin, "cannot read scene_list '" + scrub_credentials(shown_path(list)) +
                             "' (missing, unreadable or over 256 MiB)" + scrub_credentials(quiet.suffix()));
    }
    const std::string text(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
    VSIFree(bytes);
    const fs::path folder = is_dataset_name(list) ? fs::path() : fs::path(list).parent_path();
    std::vector<std::pair<std::string, Origin>> specs;
    std::size_t start = 0;
    int number = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        ++number;
        const std::string line = trim(text.substr(start, end - start));
        start = end + 1;
        if (line.empty() || line[0] == '#') continue;
        const Origin where{"scene_list " + scrub_credentials(shown_path(list)) + ":" + std::to_string(number), folder};
        if (line.find_first_of(std::string("\0\r", 2)) != std::string::npos)
            fail(where, "scene: a control character in the line; expected one scene per line");
        specs.emplace_back(resolve_scene_spec(line, folder.empty() ? fs::current_path() : folder), where);
    }
    if (specs.empty()) fail(origin, "scene_list '" + shown_path(list) + "' names no scene (only blank or # lines)");
    return specs;
}

}  // namespace

RunConfig::RunConfig() { run_config_schema().apply_defaults(*this); }

bool RunConfig::operator==(const RunConfig& other) const { return run_config_schema().equal(*this, other); }

const config::Schema<RunConfig>& run_config_schema() {
    static const config::Schema<RunConfig> schema = make_schema();
    return schema;
}

const std::vector<std::string>& scene_raster_extensions() {
    static const std::vector<std::string> extensions = {".tif", ".tiff", ".png", ".jp2", ".vrt", ".img"};
    return extensions;
}

std::string scene_name(const std::string& scene_path) {
    if (is_dataset_name(scene_path)) return dataset_scene_name(scene_path);
    return fs::path(scene_path).stem().string();
}

ParsedRunConfig read_run_config_text(const std::string& text, const std::string& source_name,
                                     const std::string& base_dir, const std::vector<std::string>& overrides) {
    const ParsedRunConfig parsed = run_config_schema().load_text(text, source_name, base_dir, overrides);
    check_across_keys(parsed);
    return parsed;
}

ParsedRunConfig read_run_config(const std::string& config_path, const std::vector<std::string>& overrides) {
    return config::load_config_file(config_path, overrides, read_run_config_text);
}

RunConfig resolve_run_config(const ParsedRunConfig& parsed) {
    RunConfig config = parsed.config;
    std::error_code error;
    if (!fs::exists(config.model, error)) parsed.fail("model", "model file '" + shown_path(config.model) + "' does not exist");
    if (!fs::is_regular_file(config.model, error)) parsed.fail("model", "model '" + shown_path(config.model) + "' is not a file");
    if (fs::exists(config.output_dir, error) && !fs::is_directory(config.output_dir, error))
        parsed.fail("output_dir", "output_dir '" + shown_path(config.output_dir) + "' exists and is not a directory");
    if (!config.annotations.empty() && !fs::exists(config.annotations, error))
        parsed.fail("annotations", "annotations '" + shown_path(config.annotations) + "' do not exist");

    config.scenes.clear();
    std::vector<std::pair<std::string, Origin>> specs;
    for (std::size_t i = 0; i < parsed.config.scenes.size(); ++i)
        specs.emplace_back(parsed.config.scenes[i], parsed.origins.at("scene").at(i));
    if (!config.scene_list.empty()) {
        for (auto& spec : read_scene_list(config.scene_list, parsed.origin("scene_list"))) specs.push_back(std::move(spec));
    }
    enable_network_statistics();  // run.json input_read
    if (std::any_of(specs.begin(), specs.end(), [](const auto& spec) { return is_remote_name(spec.first); }))
        apply_remote_read_defaults();
    std::set<std::string> seen;
    std::map<std::string, std::pair<std::string, Origin>> by_name;
    for (const auto& [spec, origin] : specs) {
        for (const auto& file : expand_scene(spec, origin, config.asset)) {
            if (!seen.insert(file).second) continue;  // listed twice (e.g. a file and a glob): run it once
            const std::string name = scene_name(file);
            const auto [it, inserted] = by_name.emplace(name, std::make_pair(file, origin));
            if (!inserted)
                fail(origin, "scenes '" + scrub_credentials(it->second.first) + "' (" + it->second.second.where + ") and '" +
                                 scrub_credentials(file) + "' have the same name '" + name +
                                 "'; both would write to <output_dir>/" + name + "/");
            config.scenes.push_back(file);
        }
    }
    return config;
}

RunConfig parse_run_config(const std::string& text, const std::string& source_name, const std::string& base_dir,
                           const std::vector<std::string>& overrides) {
    return resolve_run_config(read_run_config_text(text, source_name, base_dir, overrides));
}

RunConfig load_run_config(const std::string& config_path, const std::vector<std::string>& overrides) {
    return resolve_run_config(read_run_config(config_path, overrides));
}

std::string pad_mode_name(PadMode pad) {
    switch (pad) {
        case PadMode::Reflect: return "reflect";
        case PadMode::Mean: return "mean";
        case PadMode::Zero: return "zero";
    }
    return "reflect";
}

std::string normalize_scope_name(NormalizeScope scope) { return scope == NormalizeScope::Scene ? "scene" : "tile"; }

std::string run_task_name(RunTask task) { return task == RunTask::Saliency ? "saliency" : "count"; }

MethodOptions method_options(const RunConfig& c) {
    MethodOptions options;
    options.method = c.method;
    options.smoothgrad_sq = c.smoothgrad_sq;
    if (c.target_class) options.target_class = *c.target_class;
    options.steps = c.steps;
    options.baseline = c.baseline;
    options.samples = c.samples;
    options.noise = c.noise;
    options.seed = static_cast<uint64_t>(c.seed);
    options.reduction = c.reduce;
    options.cam_tap = c.cam_tap;
    options.max_batch = c.method_batch;
    return options;
}

std::vector<std::string> run_config_keys() {
    std::vector<std::string> keys;
    for (const auto& key : run_config_schema().keys()) keys.push_back(key.name);
    return keys;
}

std::string to_ini(const RunConfig& c) {
    return "# satsal run configuration, resolved (all paths absolute; an empty value means the default)\n" +
           run_config_schema().to_ini(c);
}

std::string run_config_reference() { return run_config_schema().reference(); }

}  // namespace satsal
