#include "eval/Evaluate.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "eval/EvalData.hpp"
#include "eval/StagedNet.hpp"
#include "io/AtomicFile.hpp"
#include "io/PngWriter.hpp"
#include "model/TappedModel.hpp"

namespace satsal::eval {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

TrainSettings settings_for(const EvalOptions& o, int epochs, std::uint64_t seed) {
    TrainSettings s;
    s.epochs = epochs;
    s.batch_size = o.batch_size;
    s.learning_rate = o.learning_rate;
    s.weight_decay = o.weight_decay;
    s.warmup_fraction = o.warmup_fraction;
    s.label_sigma = o.label_sigma;
    s.augment = o.augment;
    s.classes = o.classes;
    s.seed = seed;
    return s;
}

// Activations at tap t of all inputs (eval mode, no gradients).
at::Tensor activations(StagedNet& net, const at::Tensor& inputs, int tap) {
    at::NoGradGuard no_grad;
    net.module().eval();
    std::vector<at::Tensor> parts;
    for (int64_t begin = 0; begin < inputs.size(0); begin += 64)
        parts.push_back(net.to_tap(inputs.slice(0, begin, std::min<int64_t>(inputs.size(0), begin + 64)), tap));
    return torch::cat(parts).contiguous();
}

void run_layer_level(const EvalOptions& o, const EvalData& data, StagedNet& base, const std::string& base_path,
                     EvalResult& result, std::ostream& log) {
    const auto start = Clock::now();
    const LayerMaps train_maps = layer_maps(base_path, data.train_inputs, o);
    const LayerMaps test_maps = layer_maps(base_path, data.test_inputs, o);
    log << "[evaluate] layer level: maps in " << since(start) << " s\n" << std::flush;
    const std::size_t total = o.tap_values.size() * o.statistics.size() * 2 * o.seed_values.size();
    std::size_t done = 0;
    for (const int tap_number : o.tap_values) {
        const int tap = tap_number - 1;
        const at::Tensor train_a = activations(base, data.train_inputs, tap);
        const at::Tensor test_a = activations(base, data.test_inputs, tap);
        const int64_t h = train_a.size(2), w = train_a.size(3);
        for (const std::string& statistic : o.statistics) {
            for (const bool keep_mode : {true, false}) {
                // KAR keeps at least one location (a 7 x 7 tap at 2.5% keeps round(1.2) = 1).
                const double fraction = keep_mode ? std::max(o.layer_kar_keep, 1.0 / static_cast<double>(h * w))
                                                  : 1.0 - o.layer_roar_keep;
                at::Tensor train_x, test_x;  // the masked activations; for random drawn per seed
                for (const std::uint64_t seed : o.seed_values) {
                    if (statistic == "random" || !train_x.defined()) {
                        const at::Tensor train_map =
                            statistic == "random" ? random_maps(train_a.size(0), h, w, seed, 100 + static_cast<std::uint64_t>(tap))
                                                  : train_maps.at(statistic)[static_cast<std::size_t>(tap)];
                        const at::Tensor test_map =
                            statistic == "random" ? random_maps(test_a.size(0), h, w, seed, 200 + static_cast<std::uint64_t>(tap))
                                                  : test_maps.at(statistic)[static_cast<std::size_t>(tap)];
                        train_x = train_a * keep_masks(train_map, fraction, keep_mode);
                        test_x = test_a * keep_masks(test_map, fraction, keep_mode);
                    }
                    const auto t0 = Clock::now();
                    StagedNet net = base.clone();
                    train_net(net, tap, train_x, data.train_labels, settings_for(o, o.finetune_epochs, seed));
                    const counting::CountingMetrics m = score_net(net, tap, test_x, data.test_labels, 64);
                    result.layer.push_back({statistic, tap_number, keep_mode ? "kar" : "roar", seed,
                                            m.exact_accuracy, m.mean_absolute_error});
                    ++done;
                    char line[256];
                    std::snprintf(line, sizeof line,
                                  "[evaluate] layer %zu/%zu L%d %s %s seed %llu: exact %.3f MAE %.3f (%.1f s)\n", done,
                                  total, tap_number, statistic.c_str(), keep_mode ? "kar" : "roar",
                                  static_cast<unsigned long long>(seed), m.exact_accuracy, m.mean_absolute_error,
                                  since(t0));
                    log << line << std::flush;
                }
            }
        }
    }
    result.seconds.emplace_back("layer", since(start));
}

void write_examples(const EvalOptions& o, const EvalData& data, const std::map<std::string, at::Tensor>& test_maps,
                    const std::vector<std::string>& methods) {
    const int64_t count = std::min<int64_t>(o.examples, data.test_inputs.size(0));
    if (count == 0 || methods.empty()) return;
    const fs::path folder = fs::path(o.output) / "examples";
    fs::create_directories(folder);
    const int64_t s = data.test_inputs.size(2);
    // One PNG per example patch: a row per method - input, map (gray), KAR 50%, ROAR 50%.
    for (int64_t i = 0; i < count; ++i) {
        const int64_t width = 4 * s, height = static_cast<int64_t>(methods.size()) * s;
        std::vector<std::uint8_t> canvas(static_cast<std::size_t>(width * height * 3), 255);
        auto paste = [&](const std::vector<std::uint8_t>& rgb, int64_t col, int64_t row) {
            for (int64_t y = 0; y < s; ++y)
                std::copy_n(rgb.begin() + y * s * 3, s * 3, canvas.begin() + ((row * s + y) * width + col * s) * 3);
        };
        const at::Tensor input = data.test_inputs[i];
        for (std::size_t r = 0; r < methods.size(); ++r) {
            const at::Tensor map = test_maps.at(methods[r]).slice(0, i, i + 1);
            paste(to_rgb(input), 0, static_cast<int64_t>(r));
            const at::Tensor m = map[0];
            const at::Tensor scaled = ((m - m.min()) / (m.max() - m.min()).clamp_min(1e-12)).contiguous();
            std::vector<std::uint8_t> gray(static_cast<std::size_t>(s * s * 3));
            for (int64_t p = 0; p < s * s; ++p)
                gray[static_cast<std::size_t>(p * 3)] = gray[static_cast<std::size_t>(p * 3 + 1)] =
                    gray[static_cast<std::size_t>(p * 3 + 2)] = static_cast<std::uint8_t>(scaled.data_ptr<float>()[p] * 255.0f + 0.5f);
            paste(gray, 1, static_cast<int64_t>(r));
            paste(to_rgb(replace_blanked(input.unsqueeze(0), keep_masks(map, 0.5, true), data.channel_means)[0]), 2,
                  static_cast<int64_t>(r));
            paste(to_rgb(replace_blanked(input.unsqueeze(0), keep_masks(map, 0.5, false), data.channel_means)[0]), 3,
                  static_cast<int64_t>(r));
        }
        write_png((folder / ("example-" + std::to_string(i) + ".png")).string(), static_cast<int>(width),
                  static_cast<int>(height), 3, canvas.data());
    }
    std::string legend = "# Example masked images\n\nOne PNG per test patch; one row per method, in this order:\n\n";
    for (const auto& m : methods) legend += "- " + m + "\n";
    legend += "\nColumns: the input, the method's map (gray, min-max scaled), KAR 50% (the most salient half kept, "
              "the rest at the channel means), ROAR 50% (the most salient half removed).\n";
    write_text_file((folder / "README.md").string(), legend);
}

void run_image_level(const EvalOptions& o, const EvalData& data, const StagedNet& init,
                     const std::map<std::string, at::Tensor>& train_maps,
                     const std::map<std::string, at::Tensor>& test_maps, EvalResult& result, std::ostream& log) {
    const auto start = Clock::now();
    const std::size_t total = o.methods.size() * o.threshold_values.size() * 2 * o.seed_values.size();
    std::size_t done = 0;
    const int64_t s = data.train_inputs.size(2);
    for (const std::string& method : o.methods) {
        for (const int threshold : o.threshold_values) {
            for (const bool keep_mode : {true, false}) {
                const double fraction = threshold / 100.0;
                at::Tensor train_x, test_x;  // the masked images; for random drawn per seed
                for (const std::uint64_t seed : o.seed_values) {
                    if (method == "random" || !train_x.defined()) {
                        const at::Tensor train_map = method == "random" ? random_maps(data.train_inputs.size(0), s, s, seed, 300)
                                                                        : train_maps.at(method);
                        const at::Tensor test_map = method == "random" ? random_maps(data.test_inputs.size(0), s, s, seed, 400)
                                                                       : test_maps.at(method);
                        train_x = replace_blanked(data.train_inputs, keep_masks(train_map, fraction, keep_mode),
                                                  data.channel_means);
                        test_x = replace_blanked(data.test_inputs, keep_masks(test_map, fraction, keep_mode),
                                                 data.channel_means);
                    }
                    const auto t0 = Clock::now();
                    StagedNet net = init.clone();
                    net.reinitialize(seed);
                    train_net(net, -1, train_x, data.train_labels, settings_for(o, o.retrain_epochs, seed));
                    const counting::CountingMetrics m = score_net(net, -1, test_x, data.test_labels, 64);
                    result.image.push_back({method, keep_mode ? "kar" : "roar", threshold, seed, m.exact_accuracy,
                                            m.mean_absolute_error});
                    ++done;
                    char line[256];
                    std::snprintf(line, sizeof line,
                                  "[evaluate] image %zu/%zu %s %s %d%% seed %llu: exact %.3f MAE %.3f (%.1f s)\n", done,
                                  total, method.c_str(), keep_mode ? "kar" : "roar", threshold,
                                  static_cast<unsigned long long>(seed), m.exact_accuracy, m.mean_absolute_error,
                                  since(t0));
                    log << line << std::flush;
                }
            }
        }
        // The outputs so far after each method: a long run shows (and keeps) what it has done.
        write_evaluation_outputs(o, result, log);
    }
    result.seconds.emplace_back("image", since(start));
}

void run_road(const EvalOptions& o, const EvalData& data, StagedNet& base,
              const std::map<std::string, at::Tensor>& test_maps, EvalResult& result, std::ostream& log) {
    const auto start = Clock::now();
    const int64_t n = o.road_images > 0 ? std::min<int64_t>(o.road_images, data.test_inputs.size(0)) : data.test_inputs.size(0);
    const at::Tensor inputs = data.test_inputs.slice(0, 0, n);
    const at::Tensor labels = data.test_labels.slice(0, 0, n);
    result.road_patches = static_cast<std::size_t>(n);
    const int64_t s = inputs.size(2);
    for (const std::string& method : o.methods) {
        const at::Tensor maps = method == "random" ? random_maps(n, s, s, o.seed_values.front(), 500)
                                                   : test_maps.at(method).slice(0, 0, n).contiguous();
        for (const bool morf : {true, false}) {
            for (const int threshold : o.road_threshold_values) {
                const at::Tensor imputed = road_impute(inputs, maps, threshold / 100.0, morf, o.road_noise,
                                                       static_cast<std::uint64_t>(threshold) * 2 + (morf ? 1 : 0));
                const counting::CountingMetrics m = score_net(base, -1, imputed, labels, 64);
                result.road.push_back({method, morf ? "morf" : "lerf", threshold, m.exact_accuracy, m.mean_absolute_error});
            }
        }
        log << "[evaluate] ROAD " << method << " done (" << since(start) << " s)\n" << std::flush;
    }
    result.seconds.emplace_back("road", since(start));
}

bool wants(const EvalOptions& o, const char* protocol) {
    return std::find(o.protocols.begin(), o.protocols.end(), protocol) != o.protocols.end();
}

}  // namespace

EvalResult run_evaluation(const EvalOptions& o, std::ostream& log) {
    set_torch_threads(o.threads);
    fs::create_directories(o.output);
    EvalResult result;
    auto start = Clock::now();
    const EvalData data = load_eval_data(o, log);
    result.train_patches = static_cast<std::size_t>(data.train_inputs.size(0));
    result.test_patches = static_cast<std::size_t>(data.test_inputs.size(0));
    result.seconds.emplace_back("data", since(start));
    log << "[evaluate] " << result.train_patches << " training and " << result.test_patches << " test patches at "
        << o.input_size << " px\n" << std::flush;

    // The base model whose maps are evaluated.
    start = Clock::now();
    const StagedNet init(o.init_model);
    StagedNet base = init.clone();
    train_net(base, -1, data.train_inputs, data.train_labels, settings_for(o, o.base_epochs, o.seed_values.front()));
    const counting::CountingMetrics base_metrics = score_net(base, -1, data.test_inputs, data.test_labels, 64);
    result.base_accuracy = base_metrics.exact_accuracy;
    result.base_mae = base_metrics.mean_absolute_error;
    const std::string base_path = (fs::path(o.output) / "base-model.pt").string();
    {
        AtomicFile file(base_path, ".part");
        base.save(file.temp_path());
        file.commit();
    }
    result.seconds.emplace_back("base", since(start));
    log << "[evaluate] base model: exact " << result.base_accuracy << " MAE " << result.base_mae << " ("
        << since(start) << " s)\n" << std::flush;

    if (wants(o, "layer")) {
        run_layer_level(o, data, base, base_path, result, log);
        write_evaluation_outputs(o, result, log);
    }
    if (wants(o, "image") || wants(o, "road")) {
        start = Clock::now();
        const auto train_maps = wants(o, "image") ? image_maps(base_path, data.train_inputs, o, log)
                                                  : std::map<std::string, at::Tensor>{};
        const auto test_maps = image_maps(base_path, data.test_inputs, o, log);
        result.seconds.emplace_back("image maps", since(start));
        log << "[evaluate] image maps in " << since(start) << " s\n" << std::flush;
        write_examples(o, data, test_maps, [&] {
            std::vector<std::string> m;
            for (const auto& name : o.methods)
                if (name != "random") m.push_back(name);
            return m;
        }());
        // ROAD first: it needs no retraining, so a run stopped during the image level has it.
        if (wants(o, "road")) {
            run_road(o, data, base, test_maps, result, log);
            write_evaluation_outputs(o, result, log);
        }
        if (wants(o, "image")) run_image_level(o, data, init, train_maps, test_maps, result, log);
    }
    write_evaluation_outputs(o, result, log);
    return result;
}

}  // namespace satsal::eval
