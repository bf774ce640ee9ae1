#include "pipeline/Bench.hpp"

#include "model/TappedModel.hpp"
#include "pipeline/Timing.hpp"
#include "pipeline/TapStatistics.hpp"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace satsal {
namespace {

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double elapsed_ms(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

nlohmann::ordered_json SmoeBenchResult::to_json() const {
    nlohmann::ordered_json json;
    json["batch"] = batch;
    json["size"] = size;
    json["runs"] = runs;
    json["threads"] = threads;
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
                  "batch %d, %dx%d, %d threads, medians of %d runs\n"
                  "forward only:                  %8.2f ms/image\n"
                  "forward with taps:             %8.2f ms/image\n"
                  "statistic on all taps:         %8.3f ms/image\n"
                  "forward + taps + statistic:    %8.2f ms/image\n"
                  "ratio (forward+taps+stat)/fwd: %8.4f\n"
                  "statistic overhead / forward:  %7.3f %%\n",
                  batch, size, size, threads, runs, forward_ms, tapped_forward_ms, statistic_ms,
                  total_ms, ratio(), 100.0 * statistic_overhead());
    return buffer;
}

SmoeBenchResult bench_smoe(const SmoeBenchOptions& options) {
    if (options.runs < 10) throw std::invalid_argument("--runs must be at least 10");
    if (options.batch < 1) throw std::invalid_argument("--batch must be at least 1");
    set_torch_threads(options.threads);
    TappedModel model(options.model_path, options.taps, statistic_uses_pre_activation(options.statistic));
    if (options.size < model.deepest_stride()) {
        throw std::invalid_argument("--size " + std::to_string(options.size) +
                                    " is smaller than the model's deepest stride " +
                                    std::to_string(model.deepest_stride()));
    }
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
    result.forward_ms = median(plain);
    result.tapped_forward_ms = median(tapped);
    result.statistic_ms = median(statistic_times);
    result.total_ms = median(total);
    return result;
}

}  // namespace satsal
