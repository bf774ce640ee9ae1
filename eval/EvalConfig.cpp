#include "eval/EvalConfig.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "saliency/Statistics.hpp"

namespace satsal::eval {
namespace {

namespace fs = std::filesystem;
using config::expected;
using config::Origin;
using config::ValueType;
using Schema = config::Schema<EvalOptions>;

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> items;
    std::string item;
    for (const char c : text + ",") {
        if (c == ',') {
            item = config::trim(item);
            if (!item.empty()) items.push_back(item);
            item.clear();
        } else {
            item += c;
        }
    }
    return items;
}

// A comma list of names out of `choices` ("all" = every choice), at least one, no repeats.
ValueType<std::vector<std::string>> name_list(std::vector<std::string> choices) {
    ValueType<std::vector<std::string>> type;
    type.parse = [choices](const std::string& text, const Origin&) {
        const std::string what = "a comma list of " + config::join(choices, ", ") + " (or all)";
        if (config::lower(config::trim(text)) == "all") return choices;
        std::vector<std::string> items = split_commas(config::lower(text));
        if (items.empty()) expected(what, text);
        std::set<std::string> seen;
        for (const std::string& item : items) {
            if (std::find(choices.begin(), choices.end(), item) == choices.end()) expected(what, text);
            if (!seen.insert(item).second) expected(what + " without repeats", text);
        }
        return items;
    };
    type.format = [](const std::vector<std::string>& v) { return config::join(v, ","); };
    return type;
}

// A comma list of integers in [low, high], strictly ascending when `ascending`.
ValueType<std::vector<std::string>> integer_list(long long low, long long high, bool ascending, std::string unit) {
    ValueType<std::vector<std::string>> type;
    type.parse = [=](const std::string& text, const Origin&) {
        const std::string what = "a comma list of integers in " + std::to_string(low) + ".." + std::to_string(high) +
                                 (ascending ? ", ascending" : "") + (unit.empty() ? "" : " (" + unit + ")");
        std::vector<std::string> items = split_commas(text);
        if (items.empty()) expected(what, text);
        long long previous = low - 1;
        for (const std::string& item : items) {
            long long value = 0;
            const auto r = std::from_chars(item.data(), item.data() + item.size(), value);
            if (r.ec != std::errc() || r.ptr != item.data() + item.size() || value < low || value > high)
                expected(what, text);
            if (ascending && value <= previous) expected(what, text);
            previous = value;
        }
        return items;
    };
    type.format = [](const std::vector<std::string>& v) { return config::join(v, ","); };
    return type;
}

Schema make_schema() {
    using config::boolean;
    using config::integer;
    using config::path;
    using config::real;
    using O = EvalOptions;
    const Schema::Options required{true, ""};
    Schema s("evaluate");
    s.add("output", &O::output, path(), "", "output folder (CSVs, summary.json, plots, report.md)", required);
    s.add("init_model", &O::init_model, path("file"), "",
          "TorchScript counting network to train (tools/make_count_model.py): its architecture and the "
          "starting point of the base model",
          required);
    s.add("list", &O::list, path("file"), "", "COWC counting train list; empty = a synthetic COWC under data_root");
    s.add("test_list", &O::test_list, path("file"), "", "COWC counting test list (needed with list)");
    s.add("root", &O::root, path("folder"), "", "patch root of list and test_list");
    s.add("data_root", &O::data_root, path(), "", "synthetic COWC folder (generated when missing); empty = OUTPUT/data");
    s.add("synth_train_scenes", &O::synth_train_scenes, integer(1, 1000), "4", "synthetic train scenes");
    s.add("synth_test_scenes", &O::synth_test_scenes, integer(1, 1000), "1", "synthetic test scenes");
    s.add("synth_scene_size", &O::synth_scene_size, integer(256, 20000, "pixels"), "2000", "synthetic scene side");
    s.add("synth_patch_stride", &O::synth_patch_stride, integer(8, 4096, "pixels"), "96", "patch grid stride");
    s.add("synth_seed", &O::synth_seed, config::unsigned_integer(), "1", "synthetic COWC seed");
    s.add("max_train_patches", &O::max_train_patches, integer(0, 100'000'000), "0",
          "use the first N training patches of a seeded shuffle; 0 = all");
    s.add("max_test_patches", &O::max_test_patches, integer(0, 100'000'000), "0", "the same for the test set");
    s.add("classes", &O::classes, integer(2, 10'000), "65", "count classes (must match init_model)");
    s.add("input_size", &O::input_size, integer(32, 224, "pixels"), "224",
          "network input side: the 224 px counting canvas area-resampled to this size (a reduced preset)");
    s.add("threads", &O::threads, config::thread_count(), "2", "LibTorch intra-op threads");
    s.add("batch_size", &O::batch_size, integer(2, 4096), "32", "patches per step (every training)");
    s.add("learning_rate", &O::learning_rate, real(0, 10, true, false), "0.002", "Adam peak learning rate");
    s.add("weight_decay", &O::weight_decay, real(0, 1), "0.0001", "L2 weight decay");
    s.add("label_sigma", &O::label_sigma, real(0, 16), "0.75", "soft count targets (see train-count)");
    s.add("warmup_fraction", &O::warmup_fraction, real(0, 1, false, true), "0.03", "learning-rate warm-up share");
    s.add("augment", &O::augment, boolean(), "true", "random 90-degree rotations and flips while training");
    s.add("base_epochs", &O::base_epochs, integer(1, 100'000), "12", "epochs of the base model whose maps are evaluated");
    s.add("finetune_epochs", &O::finetune_epochs, integer(1, 100'000), "25",
          "layer level: epochs of fine-tuning the layers after the masked tap (paper: 25)");
    s.add("retrain_epochs", &O::retrain_epochs, integer(1, 100'000), "12",
          "image level: epochs of each retraining from scratch on masked images");
    s.add("seeds", &O::seeds, integer_list(0, 1'000'000'000, true, "one retraining per seed"), "1,2,3",
          "seeds of every fine-tuning / retraining (init, order, augmentation)");
    s.add("protocols", &O::protocols, name_list({"layer", "image", "road"}), "layer,image,road", "protocols to run");
    s.add("statistics", &O::statistics, name_list(layer_statistic_names()),
          "smoe,std,mean,max,shannon,lognormal-mean,lognormal-ent,truncnormal-mean,truncnormal-std,truncnormal-ent,random",
          "layer level: statistics whose maps mask the taps (random = the baseline, always run)");
    s.add("taps", &O::taps, integer_list(1, 5, true, "L1..L5"), "1,2,3,4,5", "layer level: taps to mask");
    s.add("layer_kar_keep", &O::layer_kar_keep, real(0, 1, true, false), "0.025",
          "layer KAR: share of tap locations kept (most salient)");
    s.add("layer_roar_keep", &O::layer_roar_keep, real(0, 1, false, true), "0.1",
          "layer ROAR: share of tap locations kept (least salient); the rest is removed");
    s.add("methods", &O::methods, name_list(image_method_names()), "all",
          "image level and ROAD: saliency methods (random = the baseline)");
    s.add("thresholds", &O::thresholds, integer_list(1, 99, true, "percent"), "10,30,50,70,90",
          "image level: percent of pixels kept (KAR) / removed (ROAR)");
    s.add("road_thresholds", &O::road_thresholds, integer_list(1, 99, true, "percent"), "10,20,30,40,50,60,70,80,90",
          "ROAD: percent of pixels removed");
    s.add("road_images", &O::road_images, integer(0, 100'000'000), "0", "ROAD: first N test patches; 0 = all");
    s.add("road_noise", &O::road_noise, real(0, 1), "0.01", "ROAD: imputation noise sigma in [0,1] pixel units");
    s.add("ig_steps", &O::ig_steps, integer(1, 10'000), "50", "integrated gradients steps");
    s.add("sg_samples", &O::sg_samples, integer(1, 10'000), "15", "SmoothGrad-Sq samples (Hooker et al.: 15)");
    s.add("sg_noise", &O::sg_noise, real(0, 10), "0.15", "SmoothGrad-Sq sigma / (max - min) of the input");
    s.add("examples", &O::examples, integer(0, 1000), "3", "test patches drawn as example masked images");
    return s;
}

std::vector<int> to_ints(const std::vector<std::string>& items) {
    std::vector<int> out;
    for (const auto& item : items) out.push_back(std::stoi(item));
    return out;
}

}  // namespace

const std::vector<std::string>& image_method_names() {
    static const std::vector<std::string> names = {"smoe-prior", "smoe-ramp", "smoe-equal",
                                                   "gradcam",    "fastcam",   "gradient-sg",
                                                   "guided-backprop-sg", "integrated-gradients-sg", "random"};
    return names;
}

std::vector<std::string> layer_statistic_names() {
    std::vector<std::string> names = statistic_names();
    names.push_back("random");
    return names;
}

EvalOptions::EvalOptions() { eval_config_schema().apply_defaults(*this); }

const Schema& eval_config_schema() {
    static const Schema schema = make_schema();
    return schema;
}

EvalOptions parse_eval_config(const std::string& text, const std::string& source, const std::string& base_dir,
                              const std::vector<std::string>& overrides) {
    const Schema::Loaded parsed = eval_config_schema().load_text(text, source, base_dir, overrides);
    EvalOptions o = parsed.config;
    if (!o.list.empty() && (o.test_list.empty() || o.root.empty()))
        parsed.fail("list", "list: a COWC patch set needs test_list and root as well");
    if (o.list.empty() && (!o.test_list.empty() || !o.root.empty()))
        parsed.fail(o.test_list.empty() ? "root" : "test_list", "test_list/root: given without list");
    if (o.data_root.empty()) o.data_root = (fs::path(o.output) / "data").string();
    if (o.output == o.init_model) parsed.fail("output", "output: would overwrite init_model");
    for (const std::string& s : o.seeds) o.seed_values.push_back(std::stoull(s));
    o.threshold_values = to_ints(o.thresholds);
    o.road_threshold_values = to_ints(o.road_thresholds);
    o.tap_values = to_ints(o.taps);
    // The random baseline is what Eq. 8 and 9 and the image-level comparison are measured against.
    if (std::find(o.statistics.begin(), o.statistics.end(), "random") == o.statistics.end())
        o.statistics.push_back("random");
    if (std::find(o.methods.begin(), o.methods.end(), "random") == o.methods.end()) o.methods.push_back("random");
    return o;
}

EvalOptions load_eval_config(const std::string& path, const std::vector<std::string>& overrides) {
    return config::load_config_file(path, overrides, parse_eval_config);
}

std::string eval_config_ini(const EvalOptions& options) { return eval_config_schema().to_ini(options); }
std::string eval_config_reference() { return eval_config_schema().reference(); }

}  // namespace satsal::eval
