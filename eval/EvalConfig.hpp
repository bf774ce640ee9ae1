#pragma once
// Options of `satsal evaluate CONFIG [--set key=value ...]`: the saliency evaluation on COWC
// counting (eval/Evaluate.hpp). Every key is declared once in eval_config_schema() with its type,
// range, default and help; the file syntax is io/ConfigSchema.hpp's. Presets live in configs/
// (eval-tiny.ini for the test, eval-small.ini for a workstation, eval-paper.ini for the paper's
// schedule).
//
// Data: `list`/`test_list`/`root` name a COWC counting patch set (the COWC release's list files
// and layout); when `list` is empty a synthetic COWC is generated under `data_root` (kept and
// reused when its manifest is there) with the synth_* keys.
//
// Errors throw config::ConfigError "<config>:<line>: <key>: <what was expected>".
#include "io/ConfigSchema.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace satsal::eval {

struct EvalOptions {
    EvalOptions();  // every key at its default

    std::string output;
    std::string init_model;
    std::string list, test_list, root;
    std::string data_root;
    int synth_train_scenes, synth_test_scenes, synth_scene_size, synth_patch_stride;
    std::uint64_t synth_seed;
    int max_train_patches, max_test_patches;
    int classes;
    int input_size;
    int threads;
    int batch_size;
    double learning_rate, weight_decay, label_sigma, warmup_fraction;
    bool augment;
    int base_epochs, finetune_epochs, retrain_epochs;
    std::vector<std::string> seeds;       // integers, as text
    std::vector<std::string> protocols;   // layer, image, road
    std::vector<std::string> statistics;  // saliency/Statistics names + random
    std::vector<std::string> taps;        // tap indices 1..5 (L1..L5)
    double layer_kar_keep, layer_roar_keep;
    std::vector<std::string> methods;     // image-level / ROAD methods
    std::vector<std::string> thresholds;  // percent, image level
    std::vector<std::string> road_thresholds;
    int road_images;
    double road_noise;
    int ig_steps, sg_samples;
    double sg_noise;
    int examples;

    // Parsed forms of the list keys (filled by the loader).
    std::vector<std::uint64_t> seed_values;
    std::vector<int> threshold_values, road_threshold_values, tap_values;
};

/// The image-level method names: smoe-prior, smoe-ramp, smoe-equal, gradcam, fastcam,
/// gradient-sg, guided-backprop-sg, integrated-gradients-sg, random.
const std::vector<std::string>& image_method_names();
/// The layer-level statistic names: the ten of the paper plus gamma-scale and random.
std::vector<std::string> layer_statistic_names();

EvalOptions load_eval_config(const std::string& path, const std::vector<std::string>& overrides = {});
EvalOptions parse_eval_config(const std::string& text, const std::string& source, const std::string& base_dir,
                              const std::vector<std::string>& overrides = {});
std::string eval_config_ini(const EvalOptions& options);
std::string eval_config_reference();
const config::Schema<EvalOptions>& eval_config_schema();

}  // namespace satsal::eval
