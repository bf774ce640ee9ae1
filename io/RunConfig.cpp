#include "io/RunConfig.hpp"

#include "cowc/Synthetic.hpp"
#include "model/Precision.hpp"

#include "saliency/Normalize.hpp"
#include "saliency/Statistics.hpp"

#include <boost/program_options.hpp>

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace satsal {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

// One row per key: the single place that lists the keys, their defaults and meaning. The
// program_options description, the reference text and to_ini() all follow this order.
struct KeySpec {
    const char* name;
    const char* default_text;
    const char* help;
};

const std::vector<KeySpec>& key_specs() {
    static const std::vector<KeySpec> specs = {
        {"model", "(required)", "TorchScript model file (.pt)"},
        {"taps", "auto", "tap module names, comma separated (e.g. relu,layer1,layer2,layer3,layer4); auto = find them"},
        {"threads", "0", "LibTorch intra-op threads; 0 = all cores"},
        {"batch_size", "4", "tiles per forward pass"},
        {"precision", "auto", "fp32 | bf16 | auto (bf16 where the CPU has AVX512-BF16 or AMX, else fp32)"},
        {"device", "cpu", "cpu | cuda | cuda:N (cuda needs satsal built against a CUDA LibTorch)"},
        {"scene", "(required)", "scene raster, directory of rasters (.tif .tiff .png .jp2 .vrt .img) or glob; repeatable"},
        {"output_dir", "(required)", "outputs go to <output_dir>/<scene name>/"},
        {"bands", "1,2,3", "1-based band numbers in model channel order, e.g. 3,2,1"},
        {"input_range", "(data type range)", "min,max of raw values mapped to [0,1]; exclusive with stretch"},
        {"stretch", "(none)", "low,high percentiles (0..100) per band mapped to [0,1], e.g. 2,98"},
        {"mean", "0.485,0.456,0.406", "per-channel mean on [0,1] pixels (one per selected band)"},
        {"std", "0.229,0.224,0.225", "per-channel standard deviation on [0,1] pixels"},
        {"tile_size", "512", "tile core size in pixels (a multiple of the model's deepest stride)"},
        {"margin", "auto", "context pixels on each side of a core, or auto (smallest within seam_tolerance)"},
        {"seam_tolerance", "0.01", "margin = auto: largest allowed seam error relative to the map's max"},
        {"pad", "reflect", "scene edge padding: reflect | mean | zero"},
        {"statistic", "smoe", "smoe | std | mean | max | shannon | lognormal-mean | lognormal-ent | "
                              "truncnormal-mean | truncnormal-std | truncnormal-ent | gamma-scale"},
        {"norm", "gauss", "per-layer normalization: gauss | gamma | gamma-moments | range"},
        {"weights", "equal", "layer weights: equal | ramp | prior | w1,w2,..."},
        {"normalize", "scene", "normalization statistics over the whole scene or per tile: scene | tile"},
        {"output_scale", "1", "write saliency.tif this much coarser: 1, 2, 4, ..."},
        {"write_layers", "false", "also write one GeoTIFF per layer"},
        {"cog", "false", "write Cloud Optimized GeoTIFFs"},
        {"quiet", "false", "no progress on stderr"},
        {"task", "saliency", "saliency | count (COWC car counting)"},
        {"annotations", "(none)", "COWC annotations (file or directory) to score counts against"},
        {"synthetic_cowc", "(none)", "folder of a synthetic COWC demo set, generated there once if missing"},
    };
    return specs;
}

// The names come from saliency/ itself so the lists cannot drift apart.
const std::vector<std::string>& statistic_choices() {
    static const std::vector<std::string> names = statistic_names();
    return names;
}
const std::vector<std::string>& norm_choices() {
    static const std::vector<std::string> names = normalization_names();
    return names;
}
// parse_weights also takes a list; the count check needs the model's taps, so it stays there.
const std::vector<std::string> kWeightPresets = {"equal", "ramp", "prior"};

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
    return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string did_you_mean(const std::string& key) {
    std::string best;
    std::size_t best_distance = 3;  // suggest only close misspellings
    for (const auto& spec : key_specs()) {
        const std::size_t d = edit_distance(lower(key), spec.name);
        if (d < best_distance) {
            best_distance = d;
            best = spec.name;
        }
    }
    return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

bool is_known_key(const std::string& key) {
    for (const auto& spec : key_specs())
        if (key == spec.name) return true;
    return false;
}

std::string format_double(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round trip
    return std::string(buffer, result.ptr);
}

std::string format_doubles(const std::vector<double>& values) {
    std::vector<std::string> parts;
    for (double v : values) parts.push_back(format_double(v));
    return join(parts, ",");
}

// Where an assignment came from: a position used in messages and the directory its relative
// paths resolve against.
struct Origin {
    std::string where;  // "configs/x.ini:7" or "--set tile_size=abc"
    fs::path base_dir;
};

[[noreturn]] void fail(const Origin& origin, const std::string& message) {
    throw RunConfigError(origin.where + ": " + message);
}

[[noreturn]] void bad_value(const Origin& origin, const std::string& key, const std::string& value,
                            const std::string& expected) {
    fail(origin, "bad value for '" + key + "': expected " + expected + ", got '" + value + "'");
}

std::optional<long long> to_integer(const std::string& text) {
    long long value = 0;
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end) return std::nullopt;
    return value;
}

std::optional<double> to_double(const std::string& text) {
    double value = 0;
    const char* begin = text.data();
    if (!text.empty() && text[0] == '+') ++begin;  // from_chars rejects a leading '+'
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(begin, end, value);
    if (begin == end || result.ec != std::errc() || result.ptr != end || !std::isfinite(value))
        return std::nullopt;
    return value;
}

// Comma-separated items, each trimmed; an empty item makes the list invalid (nullopt).
std::optional<std::vector<std::string>> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (item.empty()) return std::nullopt;
        items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

std::optional<std::vector<double>> to_doubles(const std::string& text) {
    const auto items = split_list(text);
    if (!items) return std::nullopt;
    std::vector<double> values;
    for (const auto& item : *items) {
        const auto v = to_double(item);
        if (!v) return std::nullopt;
        values.push_back(*v);
    }
    return values;
}

int to_int_in(const Origin& origin, const std::string& key, const std::string& value, long long min,
              const std::string& expected) {
    const auto v = to_integer(value);
    if (!v || *v < min || *v > 1'000'000'000) bad_value(origin, key, value, expected);
    return static_cast<int>(*v);
}

bool to_bool(const Origin& origin, const std::string& key, const std::string& value) {
    const std::string v = lower(value);
    if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
    if (v == "false" || v == "no" || v == "off" || v == "0") return false;
    bad_value(origin, key, value, "true or false (also yes/no, on/off, 1/0)");
}

std::string one_of(const Origin& origin, const std::string& key, const std::string& value,
                   const std::vector<std::string>& choices) {
    const std::string v = lower(value);
    if (std::find(choices.begin(), choices.end(), v) == choices.end())
        bad_value(origin, key, value, "one of " + join(choices, ", "));
    return v;
}

ValueRange to_range(const Origin& origin, const std::string& key, const std::string& value, bool percentiles) {
    const std::string expected = percentiles
        ? "two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98)"
        : "two numbers min,max with min < max (e.g. 0,255)";
    const auto values = to_doubles(value);
    if (!values || values->size() != 2 || !((*values)[0] < (*values)[1])) bad_value(origin, key, value, expected);
    if (percentiles && ((*values)[0] < 0 || (*values)[1] > 100)) bad_value(origin, key, value, expected);
    return {(*values)[0], (*values)[1]};
}

std::string resolve_path(const std::string& value, const Origin& origin) {
    fs::path path(value);
    if (path.is_relative()) path = origin.base_dir / path;
    return fs::absolute(path).lexically_normal().string();
}

bool has_glob_characters(const std::string& text) { return text.find_first_of("*?[") != std::string::npos; }

// Collects the assignments of a file and of --set, then validates the whole.
class Builder {
public:
    explicit Builder(std::string source_name) : source_name_(std::move(source_name)) {}

    void assign(const std::string& key, const std::string& raw_value, const Origin& origin, bool from_set);
    RunConfig finish();

private:
    void assign_value(const std::string& key, const std::string& value, const Origin& origin);

    std::string source_name_;
    RunConfig config_;
    std::map<std::string, Origin> origin_of_;  // last assignment of each key
    std::vector<std::pair<std::string, Origin>> scene_specs_;
    bool scenes_set_from_command_line_ = false;
};

void Builder::assign(const std::string& key, const std::string& raw_value, const Origin& origin, bool from_set) {
    const std::string value = trim(raw_value);
    if (key == "scene") {
        // --set scene=... replaces the file's list; further --set scene=... add to it.
        if (from_set && !scenes_set_from_command_line_) {
            scene_specs_.clear();
            scenes_set_from_command_line_ = true;
        }
        if (value.empty())
            scene_specs_.clear();
        else
            scene_specs_.emplace_back(value, origin);
        origin_of_[key] = origin;
        return;
    }
    origin_of_[key] = origin;
    if (value.empty()) {
        // An empty value restores the default.
        static const RunConfig defaults;
        if (key == "model") config_.model = defaults.model;
        else if (key == "taps") config_.taps = defaults.taps;
        else if (key == "threads") config_.threads = defaults.threads;
        else if (key == "batch_size") config_.batch_size = defaults.batch_size;
        else if (key == "precision") config_.precision = defaults.precision;
        else if (key == "device") config_.device = defaults.device;
        else if (key == "output_dir") config_.output_dir = defaults.output_dir;
        else if (key == "bands") config_.bands = defaults.bands;
        else if (key == "input_range") config_.input_range = defaults.input_range;
        else if (key == "stretch") config_.stretch = defaults.stretch;
        else if (key == "mean") config_.mean = defaults.mean;
        else if (key == "std") config_.std = defaults.std;
        else if (key == "tile_size") config_.tile_size = defaults.tile_size;
        else if (key == "margin") config_.margin = defaults.margin;
        else if (key == "seam_tolerance") config_.seam_tolerance = defaults.seam_tolerance;
        else if (key == "pad") config_.pad = defaults.pad;
        else if (key == "statistic") config_.statistic = defaults.statistic;
        else if (key == "norm") config_.norm = defaults.norm;
        else if (key == "weights") config_.weights = defaults.weights;
        else if (key == "normalize") config_.normalize = defaults.normalize;
        else if (key == "output_scale") config_.output_scale = defaults.output_scale;
        else if (key == "write_layers") config_.write_layers = defaults.write_layers;
        else if (key == "cog") config_.cog = defaults.cog;
        else if (key == "quiet") config_.quiet = defaults.quiet;
        else if (key == "task") config_.task = defaults.task;
        else if (key == "annotations") config_.annotations = defaults.annotations;
        else if (key == "synthetic_cowc") config_.synthetic_cowc = defaults.synthetic_cowc;
        origin_of_.erase(key);  // a default has no origin
        return;
    }
    assign_value(key, value, origin);
}

void Builder::assign_value(const std::string& key, const std::string& value, const Origin& origin) {
    if (key == "model") {
        config_.model = resolve_path(value, origin);
    } else if (key == "taps") {
        if (lower(value) == "auto") {
            config_.taps.clear();
        } else {
            const auto names = split_list(value);
            if (!names) bad_value(origin, key, value, "auto or module names separated by commas");
            for (const auto& name : *names)
                if (name.find_first_of(" \t") != std::string::npos)
                    bad_value(origin, key, value, "auto or module names separated by commas");
            config_.taps = *names;
        }
    } else if (key == "threads") {
        config_.threads = to_int_in(origin, key, value, 0, "a non-negative integer (0 = all cores)");
    } else if (key == "batch_size") {
        config_.batch_size = to_int_in(origin, key, value, 1, "a positive integer");
    } else if (key == "precision") {
        try {
            config_.precision = precision_name(parse_precision(lower(value)));
        } catch (const std::invalid_argument&) {
            bad_value(origin, key, value, "fp32, bf16 or auto");
        }
    } else if (key == "device") {
        try {
            config_.device = parse_device(lower(value)).text();
        } catch (const std::invalid_argument&) {
            bad_value(origin, key, value, "cpu, cuda or cuda:N");
        }
    } else if (key == "output_dir") {
        config_.output_dir = resolve_path(value, origin);
    } else if (key == "bands") {
        const auto items = split_list(value);
        const std::string expected = "positive band numbers separated by commas (e.g. 3,2,1)";
        if (!items) bad_value(origin, key, value, expected);
        std::vector<int> bands;
        for (const auto& item : *items) {
            const auto band = to_integer(item);
            if (!band || *band < 1 || *band > 65535) bad_value(origin, key, value, expected);
            bands.push_back(static_cast<int>(*band));
        }
        config_.bands = bands;
    } else if (key == "input_range") {
        config_.input_range = to_range(origin, key, value, false);
    } else if (key == "stretch") {
        config_.stretch = to_range(origin, key, value, true);
    } else if (key == "mean" || key == "std") {
        const auto values = to_doubles(value);
        if (!values) bad_value(origin, key, value, "numbers separated by commas, one per selected band");
        if (key == "std") {
            for (double v : *values)
                if (v <= 0) bad_value(origin, key, value, "positive numbers separated by commas, one per selected band");
            config_.std = *values;
        } else {
            config_.mean = *values;
        }
    } else if (key == "tile_size") {
        config_.tile_size = to_int_in(origin, key, value, 1, "a positive integer (pixels)");
    } else if (key == "margin") {
        if (lower(value) == "auto")
            config_.margin.reset();
        else
            config_.margin = to_int_in(origin, key, value, 0, "a non-negative integer (pixels) or auto");
    } else if (key == "seam_tolerance") {
        const auto v = to_double(value);
        if (!v || *v <= 0 || *v > 1) bad_value(origin, key, value, "a number in (0, 1] (e.g. 0.01)");
        config_.seam_tolerance = *v;
    } else if (key == "pad") {
        const std::string name = one_of(origin, key, value, {"reflect", "mean", "zero"});
        config_.pad = name == "reflect" ? PadMode::Reflect : name == "mean" ? PadMode::Mean : PadMode::Zero;
    } else if (key == "statistic") {
        config_.statistic = one_of(origin, key, value, statistic_choices());
    } else if (key == "norm") {
        config_.norm = one_of(origin, key, value, norm_choices());
    } else if (key == "weights") {
        const std::string name = lower(value);
        if (std::find(kWeightPresets.begin(), kWeightPresets.end(), name) != kWeightPresets.end()) {
            config_.weights = name;
        } else {
            const std::string expected = "equal, ramp, prior or non-negative numbers separated by commas, not all zero";
            const auto weights = to_doubles(value);
            if (!weights) bad_value(origin, key, value, expected);
            bool any_positive = false;
            for (double w : *weights) {
                if (w < 0) bad_value(origin, key, value, expected);
                any_positive = any_positive || w > 0;
            }
            if (!any_positive) bad_value(origin, key, value, expected);
            config_.weights = format_doubles(*weights);
        }
    } else if (key == "normalize") {
        config_.normalize = one_of(origin, key, value, {"scene", "tile"}) == "scene" ? NormalizeScope::Scene
                                                                                    : NormalizeScope::Tile;
    } else if (key == "output_scale") {
        const int scale = to_int_in(origin, key, value, 1, "a power of two (1, 2, 4, ...)");
        if ((scale & (scale - 1)) != 0) bad_value(origin, key, value, "a power of two (1, 2, 4, ...)");
        config_.output_scale = scale;
    } else if (key == "write_layers") {
        config_.write_layers = to_bool(origin, key, value);
    } else if (key == "cog") {
        config_.cog = to_bool(origin, key, value);
    } else if (key == "quiet") {
        config_.quiet = to_bool(origin, key, value);
    } else if (key == "task") {
        config_.task = one_of(origin, key, value, {"saliency", "count"}) == "saliency" ? RunTask::Saliency
                                                                                       : RunTask::Count;
    } else if (key == "annotations") {
        config_.annotations = resolve_path(value, origin);
    } else if (key == "synthetic_cowc") {
        config_.synthetic_cowc = resolve_path(value, origin);
    } else {
        fail(origin, "unknown key '" + key + "'" + did_you_mean(key));
    }
}

std::vector<std::string> expand_scene(const std::string& spec, const Origin& origin) {
    const fs::path path = resolve_path(spec, origin);
    std::error_code error;
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
        if (error) fail(origin, "cannot list scene directory '" + path.string() + "': " + error.message());
        if (files.empty())
            fail(origin, "scene directory '" + path.string() + "' holds no raster (" +
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
            fail(origin, "cannot expand scene pattern '" + path.string() + "' (glob error " + std::to_string(status) + ")");
        if (files.empty()) fail(origin, "scene pattern '" + path.string() + "' matches no file");
        return files;  // glob(3) sorts them
    }
    fail(origin, "scene file '" + path.string() + "' does not exist");
}

RunConfig Builder::finish() {
    const Origin file_origin{source_name_, {}};
    for (const char* key : {"model", "scene", "output_dir"})
        if (!origin_of_.count(key) || (std::string(key) == "scene" && scene_specs_.empty()))
            fail(file_origin, std::string("missing required key '") + key + "'");

    if (!config_.synthetic_cowc.empty()) {
        try {
            cowc::ensure_synthetic_cowc_demo(config_.synthetic_cowc);
        } catch (const std::exception& problem) {
            fail(origin_of_.at("synthetic_cowc"), problem.what());
        }
    }

    std::error_code error;
    const Origin& model_origin = origin_of_.at("model");
    if (!fs::exists(config_.model, error)) fail(model_origin, "model file '" + config_.model + "' does not exist");
    if (!fs::is_regular_file(config_.model, error))
        fail(model_origin, "model '" + config_.model + "' is not a file");

    const Origin& output_origin = origin_of_.at("output_dir");
    if (fs::exists(config_.output_dir, error) && !fs::is_directory(config_.output_dir, error))
        fail(output_origin, "output_dir '" + config_.output_dir + "' exists and is not a directory");

    if (!config_.annotations.empty() && !fs::exists(config_.annotations, error))
        fail(origin_of_.at("annotations"), "annotations '" + config_.annotations + "' do not exist");

    if (config_.input_range && config_.stretch) {
        const Origin& range = origin_of_.at("input_range");
        const Origin& stretch = origin_of_.at("stretch");
        fail(stretch, "stretch and input_range (" + range.where +
                          ") are mutually exclusive; keep one (an empty value resets a key)");
    }

    // mean and std: one value per model input channel. With bands set that count is known here.
    const auto where_or_default = [&](const char* key) {
        return origin_of_.count(key) ? origin_of_.at(key).where : std::string("default");
    };
    if (!config_.bands.empty()) {
        const std::size_t count = config_.bands.size();
        for (const char* key : {"mean", "std"}) {
            const auto& values = std::string(key) == "mean" ? config_.mean : config_.std;
            if (values.size() == count) continue;
            const Origin origin = origin_of_.count(key) ? origin_of_.at(key) : origin_of_.at("bands");
            fail(origin, std::string(key) + " has " + std::to_string(values.size()) + " values (" +
                             where_or_default(key) + ") but bands (" + origin_of_.at("bands").where +
                             ") selects " + std::to_string(count) + "; give one " + key +
                             " value per selected band");
        }
    } else if (config_.mean.size() != config_.std.size()) {
        const Origin origin = origin_of_.count("std") ? origin_of_.at("std") : origin_of_.at("mean");
        fail(origin, "mean (" + where_or_default("mean") + ") has " + std::to_string(config_.mean.size()) +
                         " values but std (" + where_or_default("std") + ") has " +
                         std::to_string(config_.std.size()) + "; give one value per channel in each");
    }

    config_.scenes.clear();
    std::set<std::string> seen;
    std::map<std::string, std::pair<std::string, Origin>> by_name;
    for (const auto& [spec, origin] : scene_specs_) {
        for (const auto& file : expand_scene(spec, origin)) {
            if (!seen.insert(file).second) continue;  // listed twice (e.g. a file and a glob): run it once
            const std::string name = scene_name(file);
            const auto [it, inserted] = by_name.emplace(name, std::make_pair(file, origin));
            if (!inserted)
                fail(origin, "scenes '" + it->second.first + "' (" + it->second.second.where + ") and '" + file +
                                 "' have the same name '" + name + "'; both would write to <output_dir>/" +
                                 name + "/");
            config_.scenes.push_back(file);
        }
    }
    return config_;
}

// The line numbers of each key in INI text, scanned the way program_options reads a config file
// (comment from '#', whitespace trimmed, "[section]" prefixes keys with "section."), since
// program_options does not report lines. Lines it would reject are reported here with their number.
std::map<std::string, std::vector<int>> scan_key_lines(const std::string& text, const std::string& source_name) {
    std::map<std::string, std::vector<int>> lines;
    std::istringstream in(text);
    std::string line;
    std::string prefix;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::size_t hash = line.find('#');
        const std::string content = trim(hash == std::string::npos ? line : line.substr(0, hash));
        if (content.empty()) continue;
        if (content.front() == '[' && content.back() == ']') {
            prefix = content.substr(1, content.size() - 2);
            if (!prefix.empty() && prefix.back() != '.') prefix += '.';
            continue;
        }
        const std::size_t equals = content.find('=');
        const Origin origin{source_name + ":" + std::to_string(number), {}};
        if (equals == std::string::npos)
            fail(origin, "expected 'key = value', got '" + content + "'");
        const std::string key = trim(content.substr(0, equals));
        if (key.empty()) fail(origin, "missing key before '=' in '" + content + "'");
        lines[prefix + key].push_back(number);
    }
    return lines;
}

po::options_description make_description() {
    po::options_description description("satsal run configuration");
    for (const auto& spec : key_specs()) {
        if (std::string(spec.name) == "scene")
            description.add_options()(spec.name, po::value<std::vector<std::string>>()->composing(), spec.help);
        else
            description.add_options()(spec.name, po::value<std::string>(), spec.help);
    }
    return description;
}

}  // namespace

const std::vector<std::string>& scene_raster_extensions() {
    static const std::vector<std::string> extensions = {".tif", ".tiff", ".png", ".jp2", ".vrt", ".img"};
    return extensions;
}

std::string scene_name(const std::string& scene_path) { return fs::path(scene_path).stem().string(); }

bool RunConfig::operator==(const RunConfig& o) const {
    return model == o.model && taps == o.taps && threads == o.threads && batch_size == o.batch_size &&
           precision == o.precision && device == o.device &&
           scenes == o.scenes && output_dir == o.output_dir && bands == o.bands && input_range == o.input_range &&
           stretch == o.stretch && mean == o.mean && std == o.std && tile_size == o.tile_size &&
           margin == o.margin && seam_tolerance == o.seam_tolerance && pad == o.pad && statistic == o.statistic &&
           norm == o.norm && weights == o.weights && normalize == o.normalize && output_scale == o.output_scale &&
           write_layers == o.write_layers && cog == o.cog && quiet == o.quiet && task == o.task &&
           annotations == o.annotations && synthetic_cowc == o.synthetic_cowc;
}

RunConfig parse_run_config(const std::string& raw_text, const std::string& source_name, const std::string& base_dir,
                           const std::vector<std::string>& overrides) {
    // Editors on Windows may start the file with a UTF-8 byte order mark; it is not part of the key.
    const std::string text = raw_text.rfind("\xEF\xBB\xBF", 0) == 0 ? raw_text.substr(3) : raw_text;
    const auto key_lines = scan_key_lines(text, source_name);

    std::istringstream in(text);
    po::parsed_options parsed(nullptr);
    try {
        parsed = po::parse_config_file<char>(in, make_description(), /*allow_unregistered=*/true);
    } catch (const po::error& e) {
        // scan_key_lines has already rejected the lines program_options would; keep its words otherwise.
        throw RunConfigError(source_name + ": " + e.what());
    }

    Builder builder(source_name);
    std::map<std::string, int> occurrences;
    std::map<std::string, int> first_line;
    for (const auto& option : parsed.options) {
        const std::string& key = option.string_key;
        const int index = occurrences[key]++;
        const auto found = key_lines.find(key);
        const int line = found != key_lines.end() && index < static_cast<int>(found->second.size())
                             ? found->second[index] : 0;
        const Origin origin{source_name + ":" + std::to_string(line), fs::path(base_dir)};
        if (option.unregistered || !is_known_key(key)) fail(origin, "unknown key '" + key + "'" + did_you_mean(key));
        if (key != "scene") {
            const auto [it, inserted] = first_line.emplace(key, line);
            if (!inserted)
                fail(origin, "key '" + key + "' given twice (also on line " + std::to_string(it->second) +
                                 "); only scene may be repeated");
        }
        builder.assign(key, option.value.empty() ? std::string() : option.value.front(), origin, false);
    }

    for (const auto& assignment : overrides) {
        const Origin origin{"--set " + assignment, fs::current_path()};
        const std::size_t equals = assignment.find('=');
        if (equals == std::string::npos) fail(origin, "expected key=value");
        const std::string key = trim(assignment.substr(0, equals));
        if (!is_known_key(key)) fail(origin, "unknown key '" + key + "'" + did_you_mean(key));
        builder.assign(key, assignment.substr(equals + 1), origin, true);
    }
    return builder.finish();
}

RunConfig load_run_config(const std::string& config_path, const std::vector<std::string>& overrides) {
    std::ifstream file(config_path, std::ios::binary);
    if (!file) throw RunConfigError(config_path + ": cannot open the config file");
    std::error_code error;
    if (fs::is_directory(config_path, error))
        throw RunConfigError(config_path + ": is a directory, expected a config file");
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad()) throw RunConfigError(config_path + ": cannot read the config file");
    const fs::path base_dir = fs::absolute(fs::path(config_path)).parent_path();
    return parse_run_config(text.str(), config_path, base_dir.string(), overrides);
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

std::vector<std::string> run_config_keys() {
    std::vector<std::string> keys;
    for (const auto& spec : key_specs()) keys.emplace_back(spec.name);
    return keys;
}

std::string to_ini(const RunConfig& c) {
    const auto checked_path = [](const std::string& key, const std::string& path) {
        // program_options cuts a line at '#' and trims whitespace: such a path cannot be written.
        if (path.find_first_of("#\n\r") != std::string::npos || trim(path) != path)
            throw RunConfigError("to_ini: " + key + " path '" + path +
                                 "' contains '#', a line break or surrounding spaces, which an INI value cannot hold");
        return path;
    };
    const auto range = [](const std::optional<ValueRange>& r) {
        return r ? format_double(r->low) + "," + format_double(r->high) : std::string();
    };
    std::vector<std::string> bands;
    for (int b : c.bands) bands.push_back(std::to_string(b));

    std::ostringstream out;
    out << "# satsal run configuration, resolved (all paths absolute; an empty value means the default)\n";
    out << "model = " << checked_path("model", c.model) << "\n";
    out << "taps = " << (c.taps.empty() ? "auto" : join(c.taps, ",")) << "\n";
    out << "threads = " << c.threads << "\n";
    out << "batch_size = " << c.batch_size << "\n";
    out << "precision = " << c.precision << "\n";
    out << "device = " << c.device << "\n";
    for (const auto& scene : c.scenes) out << "scene = " << checked_path("scene", scene) << "\n";
    out << "output_dir = " << checked_path("output_dir", c.output_dir) << "\n";
    out << "bands = " << join(bands, ",") << "\n";
    out << "input_range = " << range(c.input_range) << "\n";
    out << "stretch = " << range(c.stretch) << "\n";
    out << "mean = " << format_doubles(c.mean) << "\n";
    out << "std = " << format_doubles(c.std) << "\n";
    out << "tile_size = " << c.tile_size << "\n";
    out << "margin = " << (c.margin ? std::to_string(*c.margin) : std::string("auto")) << "\n";
    out << "seam_tolerance = " << format_double(c.seam_tolerance) << "\n";
    out << "pad = " << pad_mode_name(c.pad) << "\n";
    out << "statistic = " << c.statistic << "\n";
    out << "norm = " << c.norm << "\n";
    out << "weights = " << c.weights << "\n";
    out << "normalize = " << normalize_scope_name(c.normalize) << "\n";
    out << "output_scale = " << c.output_scale << "\n";
    out << "write_layers = " << (c.write_layers ? "true" : "false") << "\n";
    out << "cog = " << (c.cog ? "true" : "false") << "\n";
    out << "quiet = " << (c.quiet ? "true" : "false") << "\n";
    out << "task = " << run_task_name(c.task) << "\n";
    out << "annotations = " << (c.annotations.empty() ? std::string() : checked_path("annotations", c.annotations))
        << "\n";
    out << "synthetic_cowc = "
        << (c.synthetic_cowc.empty() ? std::string() : checked_path("synthetic_cowc", c.synthetic_cowc)) << "\n";
    return out.str();
}

std::string run_config_reference() {
    std::ostringstream out;
    std::size_t width = 0;
    for (const auto& spec : key_specs()) width = std::max(width, std::string(spec.name).size());
    for (const auto& spec : key_specs()) {
        const std::string name = spec.name;
        out << "  " << name << std::string(width - name.size() + 2, ' ') << spec.help << " [default: "
            << spec.default_text << "]\n";
    }
    return out.str();
}

}  // namespace satsal
