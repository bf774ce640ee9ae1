#include "cowc/CountingConfig.hpp"

namespace satsal::counting {
namespace {

using config::expected;
using config::Origin;
using config::ValueType;
using Schema = config::Schema<CountTrainOptions>;

ValueType<int> rotation_step_type() {
    ValueType<int> type;
    type.parse = [](const std::string& text, const Origin& origin) {
        const std::string what = "0 or a multiple of 15 that divides 360 (15, 30, 45, 60, 90, 120, 180)";
        int value = 0;
        try {
            value = config::integer(0, 360).parse(text, origin);
        } catch (const std::invalid_argument&) {
            expected(what, text);
        }
        if (value != 0 && (value % 15 != 0 || 360 % value != 0)) expected(what, text);
        return value;
    };
    type.format = [](const int& value) { return std::to_string(value); };
    return type;
}

Schema make_schema() {
    using config::boolean;
    using config::integer;
    using config::path;
    using config::real;
    using O = CountTrainOptions;
    const Schema::Options required{true, ""};
    Schema s("train-count");
    s.add("list", &O::list, path("file"), "", "training list file (plain or .bz2)", required);
    s.add("root", &O::root, path("folder"), "", "patch set root the list's paths are relative to", required);
    s.add("test_list", &O::test_list, path("file"), "", "held-out list; empty = hold out holdout_fraction of list");
    s.add("test_root", &O::test_root, path("folder"), "", "root of test_list's patches; empty = root");
    s.add("init_model", &O::init_model, path("file"), "",
          "TorchScript starting point (tools/make_count_model.py)", required);
    s.add("output", &O::output, path(), "", "trained TorchScript model to write", required);
    s.add("checkpoint", &O::checkpoint, path(), "",
          "resume file (model + optimizer + epoch/step); resumed when it exists");
    s.add("checkpoint_every", &O::checkpoint_every, integer(0, 1'000'000'000), "0",
          "also checkpoint every N steps; 0 = at epoch ends only");
    s.add("report", &O::report, path(), "", "JSON summary written at the end (options, history, metrics, timings)");
    s.add("classes", &O::classes, integer(2, 10'000), "65", "count classes K (counts 0..K-1), must match the model");
    s.add("epochs", &O::epochs, integer(1, 100'000), "10", "passes over the training patches");
    // Batch norm needs more than one sample per batch in training mode.
    s.add("batch_size", &O::batch_size, integer(2, 4096), "32", "patches per step");
    s.add("learning_rate", &O::learning_rate, real(0, 10, true, false), "0.05",
          "peak learning rate (linear warm-up, then cosine to 0)");
    s.add("optimizer", &O::optimizer, config::word({"sgd", "adam"}), "sgd", "sgd (with momentum) or adam");
    s.add("momentum", &O::momentum, real(0, 1, false, true), "0.9", "SGD momentum (optimizer = sgd only)");
    s.add("weight_decay", &O::weight_decay, real(0, 1), "0.0001", "L2 weight decay");
    s.add("warmup_fraction", &O::warmup_fraction, real(0, 1, false, true), "0.03",
          "share of all steps spent warming up the learning rate");
    s.add("label_sigma", &O::label_sigma, real(0, 16), "0",
          "0 = plain cross-entropy; > 0 = soft targets, a Gaussian over counts (cars)");
    s.add("seed", &O::seed, config::unsigned_integer(), "1", "seed of shuffling, augmentation and the hold-out split");
    s.add("threads", &O::threads, config::thread_count(), "2",
          "LibTorch intra-op and decoding threads; 0 = all cores; at most 4 x the cores (and 256)");
    s.add("holdout_fraction", &O::holdout_fraction, real(0, 1, false, true), "0.1",
          "share of list held out without test_list; 0 = none");
    s.add("rotation_step", &O::rotation_step, rotation_step_type(), "90",
          "rotation augmentation step in degrees (0, or a multiple of 15 dividing 360)");
    s.add("flip", &O::flip, boolean(), "true", "random left-right flips");
    s.add("colour_jitter", &O::colour_jitter, real(0, 1), "0",
          "per-sample colour augmentation of the counting region: brightness +-j/2, contrast and "
          "saturation 1 +-j, channel gains 1 +-j/4; 0 = none");
    s.add("log_every", &O::log_every, integer(0, 1'000'000'000), "20",
          "progress line every N steps; 0 = epoch lines only");
    return s;
}

}  // namespace

CountTrainOptions::CountTrainOptions() { count_train_config_schema().apply_defaults(*this); }

const Schema& count_train_config_schema() {
    static const Schema schema = make_schema();
    return schema;
}

CountTrainOptions parse_count_train_config(const std::string& text, const std::string& source,
                                           const std::string& base_dir, const std::vector<std::string>& overrides) {
    const Schema::Loaded parsed = count_train_config_schema().load_text(text, source, base_dir, overrides);
    CountTrainOptions options = parsed.config;

    if (!options.test_root.empty() && options.test_list.empty())
        parsed.fail("test_root", "test_root: given without test_list");
    if (options.test_root.empty()) options.test_root = options.root;
    if (options.optimizer == "adam" && parsed.given("momentum"))
        parsed.fail("momentum", "momentum: applies to optimizer = sgd only");
    const std::pair<const char*, const std::string*> outputs[] = {
        {"output", &options.output}, {"checkpoint", &options.checkpoint}, {"report", &options.report}};
    for (const auto& [key, value] : outputs) {
        if (value->empty()) continue;
        if (*value == options.init_model || *value == options.list)
            parsed.fail(key, std::string(key) + ": '" + *value + "' would overwrite an input");
    }
    if (!options.checkpoint.empty() && options.checkpoint == options.output)
        parsed.fail("checkpoint", "checkpoint: must differ from output ('" + options.output + "')");
    return options;
}

CountTrainOptions load_count_train_config(const std::string& path, const std::vector<std::string>& overrides) {
    return config::load_config_file(path, overrides, parse_count_train_config);
}

std::string count_train_config_ini(const CountTrainOptions& options) {
    // test_root at its default (root) and momentum under adam are written as `key =`, which reads back
    // to the same options.
    return count_train_config_schema().to_ini(options, [](const std::string& key, const CountTrainOptions& o) {
        return (key == "test_root" && o.test_list.empty()) || (key == "momentum" && o.optimizer != "sgd");
    });
}

std::string count_train_config_reference() { return count_train_config_schema().reference(); }

}  // namespace satsal::counting
