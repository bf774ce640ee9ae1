#include "cowc/CountingConfig.hpp"

#include <boost/program_options.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace satsal::counting {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

enum class Kind { Path, MustExistFile, MustExistDir, Int, Double, Text, Bool, Seed };

struct KeySpec {
    const char* name;
    Kind kind;
    const char* default_text;
    const char* help;
};

// One row per key: the single place that lists them (parsing, --print-config and --help).
const std::vector<KeySpec>& key_specs() {
    static const std::vector<KeySpec> specs = {
        {"list", Kind::MustExistFile, "", "training list file (plain or .bz2), required"},
        {"root", Kind::MustExistDir, "", "patch set root the list's paths are relative to, required"},
        {"test_list", Kind::MustExistFile, "", "held-out list; empty = hold out holdout_fraction of list"},
        {"test_root", Kind::MustExistDir, "", "root of test_list's patches; empty = root"},
        {"init_model", Kind::MustExistFile, "", "TorchScript starting point (tools/make_count_model.py), required"},
        {"output", Kind::Path, "", "trained TorchScript model to write, required"},
        {"checkpoint", Kind::Path, "", "resume file (model + optimizer + epoch/step); resumed when it exists"},
        {"checkpoint_every", Kind::Int, "0", "also checkpoint every N steps; 0 = at epoch ends only"},
        {"report", Kind::Path, "", "JSON summary written at the end"},
        {"classes", Kind::Int, "65", "count classes K (counts 0..K-1), must match the model"},
        {"epochs", Kind::Int, "10", "passes over the training patches"},
        {"batch_size", Kind::Int, "32", "patches per step"},
        {"learning_rate", Kind::Double, "0.05", "peak learning rate (linear warm-up, then cosine to 0)"},
        {"optimizer", Kind::Text, "sgd", "sgd (with momentum) or adam"},
        {"momentum", Kind::Double, "0.9", "SGD momentum"},
        {"weight_decay", Kind::Double, "0.0001", "L2 weight decay"},
        {"warmup_fraction", Kind::Double, "0.03", "share of all steps spent warming up the learning rate"},
        {"label_sigma", Kind::Double, "0", "0 = plain cross-entropy; > 0 = soft targets, a Gaussian over counts (cars)"},
        {"seed", Kind::Seed, "1", "seed of shuffling, augmentation and the hold-out split"},
        {"threads", Kind::Int, "2", "LibTorch intra-op and decoding threads; 0 = all cores"},
        {"holdout_fraction", Kind::Double, "0.1", "share of list held out without test_list; 0 = none"},
        {"rotation_step", Kind::Int, "90", "rotation augmentation step in degrees (0, or a multiple of 15 dividing 360)"},
        {"flip", Kind::Bool, "true", "random left-right flips"},
        {"log_every", Kind::Int, "20", "progress line every N steps; 0 = epoch lines only"},
    };
    return specs;
}

const KeySpec* find_spec(const std::string& key) {
    for (const KeySpec& spec : key_specs())
        if (key == spec.name) return &spec;
    return nullptr;
}

std::string known_keys() {
    std::string out;
    for (const KeySpec& spec : key_specs()) out += (out.empty() ? "" : ", ") + std::string(spec.name);
    return out;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// Where a value came from: "file.ini:7" or "--set key=value", and the folder its paths resolve in.
struct Origin {
    std::string where;
    fs::path base_dir;
};

[[noreturn]] void fail(const Origin& origin, const std::string& key, const std::string& what) {
    throw CountConfigError(origin.where + ": key '" + key + "': " + what);
}

// program_options does not report line numbers, so the lines of every `key = value` are found
// here with the same reading rules (text after '#' ignored, whitespace trimmed). Lines it would
// reject are reported with their number before it sees them.
std::map<std::string, std::vector<int>> scan_key_lines(const std::string& text, const std::string& source) {
    std::map<std::string, std::vector<int>> lines;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::size_t hash = line.find('#');
        const std::string content = trim(hash == std::string::npos ? line : line.substr(0, hash));
        if (content.empty()) continue;
        const std::string where = source + ":" + std::to_string(number);
        if (content.front() == '[') {
            throw CountConfigError(where + ": sections are not used in a train-count config, found '" + content + "'");
        }
        const std::size_t equals = content.find('=');
        if (equals == std::string::npos) {
            throw CountConfigError(where + ": expected 'key = value', found '" + content + "'");
        }
        const std::string key = trim(content.substr(0, equals));
        if (key.empty()) throw CountConfigError(where + ": a value without a key: '" + content + "'");
        lines[key].push_back(number);
    }
    return lines;
}

long long parse_integer(const Origin& origin, const std::string& key, const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end == text.c_str() || *end != '\0' || errno == ERANGE) {
        fail(origin, key, "expected an integer, got '" + text + "'");
    }
    return value;
}

double parse_double(const Origin& origin, const std::string& key, const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end == text.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(value)) {
        fail(origin, key, "expected a number, got '" + text + "'");
    }
    return value;
}

bool parse_bool(const Origin& origin, const std::string& key, const std::string& text) {
    if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
    if (text == "false" || text == "no" || text == "off" || text == "0") return false;
    fail(origin, key, "expected true or false, got '" + text + "'");
}

std::string resolve_path(const Origin& origin, const std::string& text) {
    fs::path path(text);
    if (path.is_relative()) path = origin.base_dir / path;
    return fs::absolute(path).lexically_normal().string();
}

std::string format_double(double value) {
    std::ostringstream out;
    out.precision(std::numeric_limits<double>::max_digits10);
    out << value;
    // Shortest form that reads back exactly.
    for (int digits = 1; digits <= std::numeric_limits<double>::max_digits10; ++digits) {
        std::ostringstream shorter;
        shorter.precision(digits);
        shorter << value;
        if (std::strtod(shorter.str().c_str(), nullptr) == value) return shorter.str();
    }
    return out.str();
}

// Applies one key's text to the options; empty text restores the default.
void apply(CountTrainOptions& options, const KeySpec& spec, const std::string& raw, const Origin& origin) {
    const std::string key = spec.name;
    const std::string text = raw.empty() ? spec.default_text : raw;
    auto integer_at_least = [&](long long minimum) {
        const long long value = parse_integer(origin, key, text);
        if (value < minimum || value > std::numeric_limits<int>::max()) {
            fail(origin, key, "expected an integer >= " + std::to_string(minimum) + ", got '" + text + "'");
        }
        return static_cast<int>(value);
    };
    auto path = [&](Kind kind) -> std::string {
        if (text.empty()) return "";
        const std::string resolved = resolve_path(origin, text);
        std::error_code error;
        if (kind == Kind::MustExistFile && !fs::is_regular_file(resolved, error)) {
            fail(origin, key, "file '" + resolved + "' does not exist");
        }
        if (kind == Kind::MustExistDir && !fs::is_directory(resolved, error)) {
            fail(origin, key, "folder '" + resolved + "' does not exist");
        }
        return resolved;
    };

    if (key == "list") options.list = path(spec.kind);
    else if (key == "root") options.root = path(spec.kind);
    else if (key == "test_list") options.test_list = path(spec.kind);
    else if (key == "test_root") options.test_root = path(spec.kind);
    else if (key == "init_model") options.init_model = path(spec.kind);
    else if (key == "output") options.output = path(spec.kind);
    else if (key == "checkpoint") options.checkpoint = path(spec.kind);
    else if (key == "report") options.report = path(spec.kind);
    else if (key == "checkpoint_every") options.checkpoint_every = integer_at_least(0);
    else if (key == "classes") options.classes = integer_at_least(2);
    else if (key == "epochs") options.epochs = integer_at_least(1);
    else if (key == "batch_size") {
        // Batch norm needs more than one sample per batch in training mode.
        options.batch_size = integer_at_least(2);
    } else if (key == "learning_rate") {
        const double value = parse_double(origin, key, text);
        if (!(value > 0)) fail(origin, key, "expected a number > 0, got '" + text + "'");
        options.learning_rate = value;
    } else if (key == "optimizer") {
        if (text != "sgd" && text != "adam") fail(origin, key, "expected sgd or adam, got '" + text + "'");
        options.optimizer = text;
    } else if (key == "momentum") {
        const double value = parse_double(origin, key, text);
        if (value < 0 || value >= 1) fail(origin, key, "expected a number in [0, 1), got '" + text + "'");
        options.momentum = value;
    } else if (key == "weight_decay") {
        const double value = parse_double(origin, key, text);
        if (value < 0) fail(origin, key, "expected a number >= 0, got '" + text + "'");
        options.weight_decay = value;
    } else if (key == "warmup_fraction") {
        const double value = parse_double(origin, key, text);
        if (value < 0 || value >= 1) fail(origin, key, "expected a number in [0, 1), got '" + text + "'");
        options.warmup_fraction = value;
    } else if (key == "label_sigma") {
        const double value = parse_double(origin, key, text);
        if (value < 0 || value > 16) fail(origin, key, "expected a number in [0, 16], got '" + text + "'");
        options.label_sigma = value;
    } else if (key == "seed") {
        const long long value = parse_integer(origin, key, text);
        if (value < 0) fail(origin, key, "expected an integer >= 0, got '" + text + "'");
        options.seed = static_cast<std::uint64_t>(value);
    } else if (key == "threads") options.threads = integer_at_least(0);
    else if (key == "holdout_fraction") {
        const double value = parse_double(origin, key, text);
        if (value < 0 || value >= 1) fail(origin, key, "expected a number in [0, 1), got '" + text + "'");
        options.holdout_fraction = value;
    } else if (key == "rotation_step") {
        const long long value = parse_integer(origin, key, text);
        if (value != 0 && (value < 0 || value % 15 != 0 || 360 % value != 0)) {
            fail(origin, key, "expected 0 or a multiple of 15 that divides 360 (15, 30, 45, 60, 90, 120, 180), got '" +
                                  text + "'");
        }
        options.rotation_step = static_cast<int>(value);
    } else if (key == "flip") options.flip = parse_bool(origin, key, text);
    else if (key == "log_every") options.log_every = integer_at_least(0);
    else throw std::logic_error("count config key without a handler: " + key);
}

po::options_description make_description() {
    po::options_description description("satsal train-count configuration");
    for (const KeySpec& spec : key_specs()) description.add_options()(spec.name, po::value<std::string>(), spec.help);
    return description;
}

}  // namespace

CountTrainOptions parse_count_train_config(const std::string& text, const std::string& source,
                                           const std::string& base_dir, const std::vector<std::string>& overrides) {
    const auto key_lines = scan_key_lines(text, source);

    std::istringstream in(text);
    po::parsed_options parsed(nullptr);
    try {
        parsed = po::parse_config_file<char>(in, make_description(), /*allow_unregistered=*/true);
    } catch (const po::error& e) {
        throw CountConfigError(source + ": " + e.what());
    }

    // Collect values in file order, with their lines; unknown and repeated keys are errors.
    struct Value {
        std::string text;
        Origin origin;
    };
    std::map<std::string, Value> values;
    std::map<std::string, int> seen;
    for (const po::option& option : parsed.options) {
        const std::string& key = option.string_key;
        const int occurrence = seen[key]++;
        const auto found = key_lines.find(key);
        const int line = found != key_lines.end() && occurrence < static_cast<int>(found->second.size())
                             ? found->second[static_cast<std::size_t>(occurrence)]
                             : 0;
        const Origin origin{source + ":" + std::to_string(line), fs::path(base_dir)};
        if (option.unregistered || find_spec(key) == nullptr) {
            throw CountConfigError(origin.where + ": unknown key '" + key + "' (known keys: " + known_keys() + ")");
        }
        if (occurrence > 0) {
            fail(origin, key, "given twice (first on line " + std::to_string(found->second.front()) + ")");
        }
        values[key] = Value{option.value.empty() ? "" : trim(option.value.front()), origin};
    }

    for (const std::string& assignment : overrides) {
        const Origin origin{"--set " + assignment, fs::current_path()};
        const std::size_t equals = assignment.find('=');
        if (equals == std::string::npos) throw CountConfigError(origin.where + ": expected key=value");
        const std::string key = trim(assignment.substr(0, equals));
        if (find_spec(key) == nullptr) {
            throw CountConfigError(origin.where + ": unknown key '" + key + "' (known keys: " + known_keys() + ")");
        }
        values[key] = Value{trim(assignment.substr(equals + 1)), origin};
    }

    CountTrainOptions options;
    for (const KeySpec& spec : key_specs()) {
        const auto found = values.find(spec.name);
        if (found != values.end()) apply(options, spec, found->second.text, found->second.origin);
    }

    for (const char* required : {"list", "root", "init_model", "output"}) {
        const auto found = values.find(required);
        if (found == values.end() || found->second.text.empty()) {
            throw CountConfigError(source + ": key '" + std::string(required) + "' is required (" +
                                   find_spec(required)->help + ")");
        }
    }
    if (!options.test_root.empty() && options.test_list.empty()) {
        const Value& v = values.at("test_root");
        fail(v.origin, "test_root", "given without test_list");
    }
    if (options.test_root.empty()) options.test_root = options.root;
    if (options.optimizer == "adam" && values.count("momentum") && !values.at("momentum").text.empty()) {
        fail(values.at("momentum").origin, "momentum", "applies to optimizer = sgd only");
    }
    const std::string* paths[] = {&options.output, &options.checkpoint, &options.report};
    for (const std::string* a : paths) {
        if (a->empty()) continue;
        if (*a == options.init_model || *a == options.list) {
            const char* key = a == &options.output ? "output" : a == &options.checkpoint ? "checkpoint" : "report";
            fail(values.at(key).origin, key, "'" + *a + "' would overwrite an input");
        }
    }
    if (!options.checkpoint.empty() && options.checkpoint == options.output) {
        fail(values.at("checkpoint").origin, "checkpoint", "must differ from output ('" + options.output + "')");
    }
    return options;
}

CountTrainOptions load_count_train_config(const std::string& path, const std::vector<std::string>& overrides) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CountConfigError("cannot read train-count config '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw CountConfigError("error reading train-count config '" + path + "'");
    const fs::path base = fs::absolute(fs::path(path)).parent_path();
    return parse_count_train_config(text.str(), path, base.string(), overrides);
}

std::string count_train_config_ini(const CountTrainOptions& o) {
    std::ostringstream out;
    out << "list = " << o.list << "\nroot = " << o.root << "\ntest_list = " << o.test_list
        << "\ntest_root = " << (o.test_list.empty() ? "" : o.test_root) << "\ninit_model = " << o.init_model
        << "\noutput = " << o.output << "\ncheckpoint = " << o.checkpoint
        << "\ncheckpoint_every = " << o.checkpoint_every << "\nreport = " << o.report << "\nclasses = " << o.classes
        << "\nepochs = " << o.epochs << "\nbatch_size = " << o.batch_size
        << "\nlearning_rate = " << format_double(o.learning_rate) << "\noptimizer = " << o.optimizer
        << "\nmomentum = " << (o.optimizer == "sgd" ? format_double(o.momentum) : "")
        << "\nweight_decay = " << format_double(o.weight_decay)
        << "\nwarmup_fraction = " << format_double(o.warmup_fraction)
        << "\nlabel_sigma = " << format_double(o.label_sigma) << "\nseed = " << o.seed
        << "\nthreads = " << o.threads << "\nholdout_fraction = " << format_double(o.holdout_fraction)
        << "\nrotation_step = " << o.rotation_step << "\nflip = " << (o.flip ? "true" : "false")
        << "\nlog_every = " << o.log_every << "\n";
    return out.str();
}

std::string count_train_config_reference() {
    std::ostringstream out;
    for (const KeySpec& spec : key_specs()) {
        out << "  " << spec.name << std::string(18 - std::min<std::size_t>(17, std::string(spec.name).size()), ' ')
            << spec.help;
        if (*spec.default_text) out << " [" << spec.default_text << "]";
        out << "\n";
    }
    return out.str();
}

}  // namespace satsal::counting
