#include "pipeline/Bench.hpp"

#include "model/TappedModel.hpp"
#include "io/RasterReader.hpp"
#include "io/RunConfig.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/BenchSupport.hpp"
#include "pipeline/TapStatistics.hpp"
#include "pipeline/Timing.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/TensorStatistics.hpp"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace satsal {

nlohmann::ordered_json SmoeBenchResult::to_json() const {
    nlohmann::ordered_json json;
    json["batch"] = batch;
    json["size"] = size;
    json["runs"] = runs;
    json["threads"] = threads;
    json["precision"] = precision;
    json["precision_reason"] = precision_reason;
    json["optimization"] = optimization;
    json["forward_ms_per_image"] = forward_ms;
    json["tapped_forward_ms_per_image"] = tapped_forward_ms;
    json["statistic_ms_per_image"] = statistic_ms;
    json["forward_taps_statistic_ms_per_image"] = total_ms;
    json["ratio"] = ratio();
    json["statistic_overhead"] = statistic_overhead();
    return json;
}

std::string SmoeBenchResult::to_text() const {
    char buffer[1024];
    std::snprintf(buffer, sizeof buffer,
                  "precision %s (%s); optimization: %s\n"
                  "batch %d, %dx%d, %d threads, medians of %d runs\n"
                  "forward only:                  %8.2f ms/image\n"
                  "forward with taps:             %8.2f ms/image\n"
                  "statistic on all taps:         %8.3f ms/image\n"
                  "forward + taps + statistic:    %8.2f ms/image\n"
                  "ratio (forward+taps+stat)/fwd: %8.4f\n"
                  "statistic overhead / forward:  %7.3f %%\n",
                  precision.c_str(), precision_reason.c_str(), optimization.c_str(), batch, size, size,
                  threads, runs, forward_ms, tapped_forward_ms, statistic_ms,
                  total_ms, ratio(), 100.0 * statistic_overhead());
    return buffer;
}

SmoeBenchResult bench_smoe(const SmoeBenchOptions& options) {
    if (options.runs < 10) throw std::invalid_argument("--runs must be at least 10");
    if (options.batch < 1) throw std::invalid_argument("--batch must be at least 1");
    set_torch_threads(options.threads);
    InferenceOptions inference;
    inference.precision = options.precision;
    inference.optimize = options.optimize;
    TappedModel model(options.model_path, options.taps,
                      statistic_uses_pre_activation(options.statistic), inference);
    require_size_fits_model(options.size, model.deepest_stride());
    torch::manual_seed(0);
    const torch::Tensor batch = torch::randn({options.batch, 3, options.size, options.size});
    const TapStatistic statistic{options.statistic, {}};

    std::vector<double> plain, tapped, statistic_times, total;
    for (int i = 0; i < options.warmup + options.runs; ++i) {
        auto start = Clock::now();
        torch::Tensor out = model.forward_plain(batch);
        const double plain_ms = elapsed_ms(start);

        start = Clock::now();
        ForwardResult result = model.forward(batch);
        const double tapped_ms = elapsed_ms(start);

        start = Clock::now();
        double checksum = 0;
        for (const auto& map : tap_statistics(model, result, statistic)) {
            checksum += map.select(1, 0).select(1, 0).sum().item<double>();
        }
        const double statistic_ms = elapsed_ms(start);
        if (!std::isfinite(checksum)) throw std::runtime_error("bench: the statistic produced NaN");

        if (i < options.warmup) continue;
        plain.push_back(plain_ms / options.batch);
        tapped.push_back(tapped_ms / options.batch);
        statistic_times.push_back(statistic_ms / options.batch);
        total.push_back((tapped_ms + statistic_ms) / options.batch);
    }
    SmoeBenchResult result;
    result.batch = options.batch;
    result.size = options.size;
    result.runs = options.runs;
    result.threads = at::get_num_threads();
    result.precision = precision_name(model.precision());
    result.precision_reason = model.precision_reason();
    result.optimization = model.optimization();
    result.forward_ms = median(plain);
    result.tapped_forward_ms = median(tapped);
    result.statistic_ms = median(statistic_times);
    result.total_ms = median(total);
    return result;
}

nlohmann::ordered_json ForwardBenchResult::to_json() const {
    nlohmann::ordered_json json;
    json["batch"] = batch;
    json["size"] = size;
    json["runs"] = runs;
    json["threads"] = threads;
    json["cpu"] = cpu;
    json["auto"] = auto_choice;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& v : variants) {
        nlohmann::ordered_json item;
        item["name"] = v.name;
        item["optimization"] = v.optimization;
        item["forward_best_ms_per_image"] = v.plain_best_ms;
        item["forward_median_ms_per_image"] = v.plain_median_ms;
        item["tapped_best_ms_per_image"] = v.tapped_best_ms;
        item["tapped_median_ms_per_image"] = v.tapped_median_ms;
        list.push_back(item);
    }
    json["variants"] = list;
    return json;
}

std::string ForwardBenchResult::to_text() const {
    std::string text;
    char line[512];
    std::snprintf(line, sizeof line,
                  "batch %d, %dx%d, %d threads, %d interleaved rounds; CPU: %s\nprecision = auto here: %s\n"
                  "%-38s %12s %12s %12s %12s  %s\n",
                  batch, size, size, threads, runs, cpu.c_str(), auto_choice.c_str(), "variant", "fwd best", "fwd median",
                  "taps best", "taps median", "optimization (ms/image)");
    text += line;
    for (const auto& v : variants) {
        std::snprintf(line, sizeof line, "%-38s %12.2f %12.2f %12.2f %12.2f  %s\n", v.name.c_str(), v.plain_best_ms,
                      v.plain_median_ms, v.tapped_best_ms, v.tapped_median_ms, v.optimization.c_str());
        text += line;
    }
    return text;
}

ForwardBenchResult bench_forward(const ForwardBenchOptions& options) {
    if (options.runs < 1) throw std::invalid_argument("--runs must be at least 1");
    if (options.batch < 1) throw std::invalid_argument("--batch must be at least 1");
    set_torch_threads(options.threads);
    const CpuFeatures cpu = detect_cpu_features();
    const bool emulated = !cpu.native_bf16();

    struct Candidate {
        std::string name;
        InferenceOptions inference;
    };
    std::vector<Candidate> candidates;
    const auto add = [&](const std::string& name, Precision precision, bool optimize, bool channels_last) {
        InferenceOptions inference;
        inference.precision = precision;
        inference.optimize = optimize;
        inference.channels_last = channels_last;
        candidates.push_back({name, inference});
    };
    add("fp32", Precision::Fp32, false, false);
    add("fp32 channels-last", Precision::Fp32, false, true);
    add("fp32 frozen", Precision::Fp32, true, false);
    add("fp32 frozen channels-last", Precision::Fp32, true, true);
    if (options.include_bf16) {
        const std::string suffix = emulated ? " (emulated)" : "";
        add("bf16 channels-last" + suffix, Precision::Bf16, false, true);
    }

    std::vector<TappedModel> models;
    ForwardBenchResult result;
    for (const auto& candidate : candidates) {
        models.emplace_back(options.model_path, std::vector<std::string>{}, false, candidate.inference);
        ForwardVariant variant;
        variant.name = candidate.name;
        variant.optimization = models.back().optimization();
        result.variants.push_back(variant);
    }
    require_size_fits_model(options.size, models.front().deepest_stride());
    torch::manual_seed(0);
    const torch::Tensor batch = torch::randn({options.batch, 3, options.size, options.size});
    std::vector<std::vector<double>> plain(models.size()), tapped(models.size());
    for (int round = 0; round < options.warmup + options.runs; ++round) {
        for (size_t m = 0; m < models.size(); ++m) {
            auto start = Clock::now();
            const torch::Tensor out = models[m].forward_plain(batch);
            const double plain_ms = elapsed_ms(start);
            start = Clock::now();
            const ForwardResult taps = models[m].forward(batch);
            const double tapped_ms = elapsed_ms(start);
            if (round < options.warmup) continue;
            plain[m].push_back(plain_ms / options.batch);
            tapped[m].push_back(tapped_ms / options.batch);
        }
    }
    for (size_t m = 0; m < models.size(); ++m) {
        auto& v = result.variants[m];
        v.plain_best_ms = *std::min_element(plain[m].begin(), plain[m].end());
        v.plain_median_ms = median(plain[m]);
        v.tapped_best_ms = *std::min_element(tapped[m].begin(), tapped[m].end());
        v.tapped_median_ms = median(tapped[m]);
    }
    result.batch = options.batch;
    result.size = options.size;
    result.runs = options.runs;
    result.threads = at::get_num_threads();
    result.cpu = cpu.text();
    result.auto_choice = resolve_precision(Precision::Auto, cpu).reason;
    return result;
}

namespace {

double spearman(const torch::Tensor& a, const torch::Tensor& b) {
    const auto centred_rank = [](const torch::Tensor& t) {
        const torch::Tensor r = t.reshape({-1}).to(torch::kDouble).argsort().argsort().to(torch::kDouble);
        return r - r.mean();
    };
    const torch::Tensor ra = centred_rank(a), rb = centred_rank(b);
    const double norm = (ra.norm() * rb.norm()).item<double>();
    return norm > 0 ? (ra * rb).sum().item<double>() / norm : 1.0;
}

Map combined_map(const std::vector<torch::Tensor>& raw, int64_t image, const std::vector<double>& weights,
                 int64_t width, int64_t height) {
    std::vector<Map> maps;
    for (const auto& layer : raw) {
        Map map = map_from_tensor(layer[image]);
        normalize(Normalization::Gauss, map);
        maps.push_back(upsample_bilinear(map, width, height));
    }
    return combine(maps, weights);
}

}  // namespace

nlohmann::ordered_json FidelityResult::to_json() const {
    nlohmann::ordered_json json;
    json["inputs"] = inputs;
    json["size"] = size;
    json["taps"] = taps;
    json["spearman_min"] = spearman_min;
    json["spearman_mean"] = spearman_mean;
    json["combined_max_error"] = combined_max_error;
    json["combined_p99_error"] = combined_p99_error;
    json["output_max_error_relative"] = output_max_error;
    json["argmax_agreement"] = argmax_agreement;
    json["bf16"] = bf16_reason;
    return json;
}

std::string FidelityResult::to_text() const {
    std::string text;
    char line[512];
    std::snprintf(line, sizeof line, "bf16 against fp32 on %d inputs of %dx%d (%s)\n", inputs, size, size,
                  bf16_reason.c_str());
    text += line;
    for (size_t k = 0; k < taps.size(); ++k) {
        std::snprintf(line, sizeof line, "L%zu %-12s raw SMOE map Spearman: min %.5f, mean %.5f\n", k + 1,
                      taps[k].c_str(), spearman_min[k], spearman_mean[k]);
        text += line;
    }
    std::snprintf(line, sizeof line,
                  "combined map |bf16 - fp32|: max %.5f, p99 %.5f (map values in [0, 1])\n"
                  "network output: max error %.4f of its largest magnitude; same arg-max on %d of %d inputs\n",
                  combined_max_error, combined_p99_error, output_max_error, argmax_agreement, inputs);
    text += line;
    return text;
}

FidelityResult bench_fidelity(const FidelityOptions& options) {
    set_torch_threads(options.threads);
    InferenceOptions fp32_options, bf16_options;
    fp32_options.precision = Precision::Fp32;
    fp32_options.optimize = false;
    bf16_options.precision = Precision::Bf16;
    const TappedModel fp32(options.model_path, {}, false, fp32_options);
    const TappedModel bf16(options.model_path, {}, false, bf16_options);
    const int64_t size = options.size;
    require_size_fits_model(size, fp32.deepest_stride());

    std::vector<torch::Tensor> inputs;
    if (options.images.empty()) {
        if (options.random_images < 1) throw std::invalid_argument("--images must be at least 1");
        torch::manual_seed(1);
        for (int i = 0; i < options.random_images; ++i) inputs.push_back(torch::randn({1, 3, size, size}));
    } else {
        const RunConfig defaults;  // ImageNet mean/std, natural range of the data type
        for (const auto& path : options.images) {
            RasterReader reader(path);
            if (reader.width() < size || reader.height() < size) {
                throw std::invalid_argument(path + ": " + std::to_string(reader.width()) + "x" +
                                            std::to_string(reader.height()) + " is smaller than --size " +
                                            std::to_string(size));
            }
            const BandScaling scaling = plan_band_scaling(defaults, reader);
            const int64_t x0 = (reader.width() - size) / 2, y0 = (reader.height() - size) / 2;
            std::vector<float> planar = reader.read_window(scaling.bands, static_cast<int>(x0), static_cast<int>(y0),
                                                           static_cast<int>(size), static_cast<int>(size));
            scaling.to_unit(planar.data(), size * size);
            scaling.standardize(planar.data(), size * size);
            inputs.push_back(torch::from_blob(planar.data(), {1, 3, size, size}, torch::kFloat).clone());
        }
    }
    const std::vector<double> weights = parse_weights(options.weights, fp32.taps().size());

    FidelityResult result;
    result.inputs = static_cast<int>(inputs.size());
    result.size = options.size;
    result.taps = fp32.tap_names();
    result.bf16_reason = bf16.precision_reason() + "; " + bf16.optimization();
    result.spearman_min.assign(result.taps.size(), 1.0);
    result.spearman_mean.assign(result.taps.size(), 0.0);
    std::vector<float> differences;
    for (const auto& input : inputs) {
        const ForwardResult a = fp32.forward(input), b = bf16.forward(input);
        std::vector<torch::Tensor> raw32, raw16;
        for (size_t k = 0; k < a.taps.size(); ++k) {
            raw32.push_back(channel_statistic(Statistic::Smoe, a.taps[k]));
            raw16.push_back(channel_statistic(Statistic::Smoe, b.taps[k]));
            const double rho = spearman(raw16.back(), raw32.back());
            result.spearman_min[k] = std::min(result.spearman_min[k], rho);
            result.spearman_mean[k] += rho / static_cast<double>(inputs.size());
        }
        const Map c32 = combined_map(raw32, 0, weights, size, size);
        const Map c16 = combined_map(raw16, 0, weights, size, size);
        for (int64_t i = 0; i < c32.size(); ++i) differences.push_back(std::fabs(c32.data()[i] - c16.data()[i]));
        const double scale = std::max(1e-12, a.output.abs().max().item<double>());
        result.output_max_error =
            std::max(result.output_max_error, (a.output - b.output).abs().max().item<double>() / scale);
        if (a.output.dim() == 2 && a.output.argmax(1).item<int64_t>() == b.output.argmax(1).item<int64_t>()) {
            ++result.argmax_agreement;
        }
    }
    std::sort(differences.begin(), differences.end());
    result.combined_max_error = differences.empty() ? 0.0 : differences.back();
    result.combined_p99_error =
        differences.empty() ? 0.0 : differences[static_cast<size_t>(0.99 * (differences.size() - 1))];
    return result;
}

}  // namespace satsal
