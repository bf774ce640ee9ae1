#include "eval/EvalPieces.hpp"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "eval/Masks.hpp"
#include "io/AtomicFile.hpp"
#include "io/PngWriter.hpp"

namespace satsal::eval {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

bool wants(const EvalOptions& o, const char* protocol) {
    return std::find(o.protocols.begin(), o.protocols.end(), protocol) != o.protocols.end();
}

std::vector<std::string> mapped_methods(const EvalOptions& o) {
    std::vector<std::string> m;
    for (const auto& name : o.methods)
        if (name != "random") m.push_back(name);
    return m;
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

void run_layer_piece(const EvalOptions& o, Prepared& p, const Piece& piece, EvalResult& result, Progress& progress,
                     std::ostream& log) {
    const int tap = piece.number - 1;
    auto cached = p.activations.find(tap);
    if (cached == p.activations.end())
        cached = p.activations
                     .emplace(tap, std::make_pair(activations(*p.base, p.data.train_inputs, tap),
                                                  activations(*p.base, p.data.test_inputs, tap)))
                     .first;
    const at::Tensor& train_a = cached->second.first;
    const at::Tensor& test_a = cached->second.second;
    const int64_t h = train_a.size(2), w = train_a.size(3);
    const bool keep_mode = piece.keep;
    const std::string& statistic = piece.name;
    // KAR keeps at least one location (a 7 x 7 tap at 2.5% keeps round(1.2) = 1).
    const double fraction = keep_mode ? std::max(o.layer_kar_keep, 1.0 / static_cast<double>(h * w))
                                      : 1.0 - o.layer_roar_keep;
    at::Tensor train_x, test_x;  // the masked activations; for random drawn per seed
    for (const std::uint64_t seed : o.seed_values) {
        if (statistic == "random" || !train_x.defined()) {
            const at::Tensor train_map =
                statistic == "random" ? random_maps(train_a.size(0), h, w, seed, 100 + static_cast<std::uint64_t>(tap))
                                      : p.train_layer.at(statistic)[static_cast<std::size_t>(tap)];
            const at::Tensor test_map =
                statistic == "random" ? random_maps(test_a.size(0), h, w, seed, 200 + static_cast<std::uint64_t>(tap))
                                      : p.test_layer.at(statistic)[static_cast<std::size_t>(tap)];
            train_x = train_a * keep_masks(train_map, fraction, keep_mode);
            test_x = test_a * keep_masks(test_map, fraction, keep_mode);
        }
        const auto t0 = Clock::now();
        StagedNet net = p.base->clone();
        train_net(net, tap, train_x, p.data.train_labels, settings_for(o, o.finetune_epochs, seed));
        const counting::CountingMetrics m = score_net(net, tap, test_x, p.data.test_labels, 64);
        result.layer.push_back({statistic, piece.number, keep_mode ? "kar" : "roar", seed, m.exact_accuracy,
                                m.mean_absolute_error});
        ++progress.done;
        char line[256];
        std::snprintf(line, sizeof line, "[evaluate] layer %zu/%zu L%d %s %s seed %llu: exact %.3f MAE %.3f (%.1f s)\n",
                      progress.done, progress.total, piece.number, statistic.c_str(), keep_mode ? "kar" : "roar",
                      static_cast<unsigned long long>(seed), m.exact_accuracy, m.mean_absolute_error, seconds_since(t0));
        log << line << std::flush;
    }
}

void run_image_piece(const EvalOptions& o, Prepared& p, const Piece& piece, EvalResult& result, Progress& progress,
                     std::ostream& log) {
    const EvalData& data = p.data;
    const int64_t s = data.train_inputs.size(2);
    const std::string& method = piece.name;
    const int threshold = piece.number;
    const bool keep_mode = piece.keep;
    const double fraction = threshold / 100.0;
    at::Tensor train_x, test_x;  // the masked images; for random drawn per seed
    for (const std::uint64_t seed : o.seed_values) {
        if (method == "random" || !train_x.defined()) {
            const at::Tensor train_map =
                method == "random" ? random_maps(data.train_inputs.size(0), s, s, seed, 300) : p.train_image.at(method);
            const at::Tensor test_map =
                method == "random" ? random_maps(data.test_inputs.size(0), s, s, seed, 400) : p.test_image.at(method);
            train_x = replace_blanked(data.train_inputs, keep_masks(train_map, fraction, keep_mode), data.channel_means);
            test_x = replace_blanked(data.test_inputs, keep_masks(test_map, fraction, keep_mode), data.channel_means);
        }
        const auto t0 = Clock::now();
        StagedNet net = p.init->clone();
        net.reinitialize(seed);
        train_net(net, -1, train_x, data.train_labels, settings_for(o, o.retrain_epochs, seed));
        const counting::CountingMetrics m = score_net(net, -1, test_x, data.test_labels, 64);
        result.image.push_back({method, keep_mode ? "kar" : "roar", threshold, seed, m.exact_accuracy, m.mean_absolute_error});
        ++progress.done;
        char line[256];
        std::snprintf(line, sizeof line, "[evaluate] image %zu/%zu %s %s %d%% seed %llu: exact %.3f MAE %.3f (%.1f s)\n",
                      progress.done, progress.total, method.c_str(), keep_mode ? "kar" : "roar", threshold,
                      static_cast<unsigned long long>(seed), m.exact_accuracy, m.mean_absolute_error, seconds_since(t0));
        log << line << std::flush;
    }
}

void run_road_piece(const EvalOptions& o, Prepared& p, const Piece& piece, EvalResult& result, Progress& progress,
                    std::ostream& log) {
    const auto start = Clock::now();
    const int64_t n = o.road_images > 0 ? std::min<int64_t>(o.road_images, p.data.test_inputs.size(0))
                                        : p.data.test_inputs.size(0);
    const at::Tensor inputs = p.data.test_inputs.slice(0, 0, n);
    const at::Tensor labels = p.data.test_labels.slice(0, 0, n);
    result.road_patches = static_cast<std::size_t>(n);
    const int64_t s = inputs.size(2);
    const std::string& method = piece.name;
    const at::Tensor maps = method == "random" ? random_maps(n, s, s, o.seed_values.front(), 500)
                                               : p.test_image.at(method).slice(0, 0, n).contiguous();
    for (const bool morf : {true, false}) {
        for (const int threshold : o.road_threshold_values) {
            const at::Tensor imputed = road_impute(inputs, maps, threshold / 100.0, morf, o.road_noise,
                                                   static_cast<std::uint64_t>(threshold) * 2 + (morf ? 1 : 0));
            const counting::CountingMetrics m = score_net(*p.base, -1, imputed, labels, 64);
            result.road.push_back({method, morf ? "morf" : "lerf", threshold, m.exact_accuracy, m.mean_absolute_error});
        }
    }
    ++progress.done;
    log << "[evaluate] ROAD " << progress.done << "/" << progress.total << " " << method << " done ("
        << seconds_since(start) << " s)\n"
        << std::flush;
}

}  // namespace

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Piece::id() const {
    if (protocol == "layer") return "layer-L" + std::to_string(number) + "-" + name + (keep ? "-kar" : "-roar");
    if (protocol == "image") return "image-" + name + "-" + std::to_string(number) + (keep ? "-kar" : "-roar");
    return "road-" + name;
}

std::vector<Piece> evaluation_pieces(const EvalOptions& o) {
    std::vector<Piece> pieces;
    if (wants(o, "layer"))
        for (const int tap : o.tap_values)
            for (const std::string& statistic : o.statistics)
                for (const bool keep : {true, false}) pieces.push_back({"layer", statistic, tap, keep});
    // ROAD before the image level: it needs no retraining, so a run stopped during the image
    // level has it.
    if (wants(o, "road"))
        for (const std::string& method : o.methods) pieces.push_back({"road", method, 0, false});
    if (wants(o, "image"))
        for (const std::string& method : o.methods)
            for (const int threshold : o.threshold_values)
                for (const bool keep : {true, false}) pieces.push_back({"image", method, threshold, keep});
    return pieces;
}

void prepare(const EvalOptions& o, Prepared& p, EvalResult& result, std::ostream& log) {
    auto start = Clock::now();
    p.data = load_eval_data(o, log);
    result.train_patches = static_cast<std::size_t>(p.data.train_inputs.size(0));
    result.test_patches = static_cast<std::size_t>(p.data.test_inputs.size(0));
    result.seconds.emplace_back("data", seconds_since(start));
    log << "[evaluate] " << result.train_patches << " training and " << result.test_patches << " test patches at "
        << o.input_size << " px\n" << std::flush;

    // The base model whose maps are evaluated.
    start = Clock::now();
    p.init = std::make_unique<StagedNet>(o.init_model);
    p.base = std::make_unique<StagedNet>(p.init->clone());
    train_net(*p.base, -1, p.data.train_inputs, p.data.train_labels, settings_for(o, o.base_epochs, o.seed_values.front()));
    const counting::CountingMetrics base_metrics = score_net(*p.base, -1, p.data.test_inputs, p.data.test_labels, 64);
    p.base_accuracy = result.base_accuracy = base_metrics.exact_accuracy;
    p.base_mae = result.base_mae = base_metrics.mean_absolute_error;
    p.base_path = (fs::path(o.output) / "base-model.pt").string();
    {
        AtomicFile file(p.base_path, ".part");
        p.base->save(file.temp_path());
        file.commit();
    }
    result.seconds.emplace_back("base", seconds_since(start));
    log << "[evaluate] base model: exact " << result.base_accuracy << " MAE " << result.base_mae << " ("
        << seconds_since(start) << " s)\n" << std::flush;

    if (wants(o, "layer")) {
        start = Clock::now();
        p.train_layer = layer_maps(p.base_path, p.data.train_inputs, o);
        p.test_layer = layer_maps(p.base_path, p.data.test_inputs, o);
        result.seconds.emplace_back("layer maps", seconds_since(start));
        log << "[evaluate] layer level: maps in " << seconds_since(start) << " s\n" << std::flush;
    }
    if (wants(o, "image") || wants(o, "road")) {
        start = Clock::now();
        if (wants(o, "image")) p.train_image = image_maps(p.base_path, p.data.train_inputs, o, log);
        p.test_image = image_maps(p.base_path, p.data.test_inputs, o, log);
        result.seconds.emplace_back("image maps", seconds_since(start));
        log << "[evaluate] image maps in " << seconds_since(start) << " s\n" << std::flush;
        write_examples(o, p.data, p.test_image, mapped_methods(o));
    }
}

void run_piece(const EvalOptions& o, Prepared& p, const Piece& piece, EvalResult& result, Progress& progress,
               std::ostream& log) {
    if (piece.protocol == "layer") run_layer_piece(o, p, piece, result, progress, log);
    else if (piece.protocol == "image") run_image_piece(o, p, piece, result, progress, log);
    else run_road_piece(o, p, piece, result, progress, log);
}

}  // namespace satsal::eval
