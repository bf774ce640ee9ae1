#include "pipeline/Bench.hpp"

#include "model/TappedModel.hpp"
#include "saliency/TensorStatistics.hpp"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace satsal {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double elapsed_ms(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

Json SmoeBenchResult::to_json() const {
    Json json = Json::object();
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
    if (options.size < model.deepest_stride()) {
        throw std::invalid_argument("--size " + std::to_string(options.size) +
                                    " is smaller than the model's deepest stride " +
                                    std::to_string(model.deepest_stride()));
    }
    torch::manual_seed(0);
    const torch::Tensor batch = torch::randn({options.batch, 3, options.size, options.size});
    StatisticOptions statistic_options;

    std::vector<double> plain, tapped, statistic, total;
    for (int i = 0; i < options.warmup + options.runs; ++i) {
        auto start = Clock::now();
        torch::Tensor out = model.forward_plain(batch);
        const double plain_ms = elapsed_ms(start);

        start = Clock::now();
        ForwardResult result = model.forward(batch);
        const double tapped_ms = elapsed_ms(start);

        start = Clock::now();
        const auto& tensors = statistic_uses_pre_activation(options.statistic) ? result.pre_activation
                                                                               : result.taps;
        double checksum = 0;
        for (const auto& tap : tensors) {
            checksum += channel_statistic(options.statistic, tap, statistic_options)
                            .select(1, 0).select(1, 0).sum().item<double>();
        }
        const double statistic_ms = elapsed_ms(start);
        if (!std::isfinite(checksum)) throw std::runtime_error("bench: the statistic produced NaN");

        if (i < options.warmup) continue;
        plain.push_back(plain_ms / options.batch);
        tapped.push_back(tapped_ms / options.batch);
        statistic.push_back(statistic_ms / options.batch);
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
    result.statistic_ms = median(statistic);
    result.total_ms = median(total);
    return result;
}

Json ForwardBenchResult::to_json() const {
    Json json = Json::object();
    json["batch"] = batch;
    json["size"] = size;
    json["runs"] = runs;
    json["threads"] = threads;
    json["cpu"] = cpu;
    json["auto"] = auto_choice;
    Json list = Json::array();
    for (const auto& v : variants) {
        Json item = Json::object();
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
        add("bf16 frozen channels-last" + suffix, Precision::Bf16, true, true);
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
    if (options.size < models.front().deepest_stride()) {
        throw std::invalid_argument("--size " + std::to_string(options.size) +
                                    " is smaller than the model's deepest stride " +
                                    std::to_string(models.front().deepest_stride()));
    }
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

}  // namespace satsal
