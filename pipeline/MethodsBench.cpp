#include "pipeline/MethodsBench.hpp"

#include "methods/Attribution.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/BenchSupport.hpp"
#include "pipeline/TapStatistics.hpp"
#include "pipeline/Timing.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/TensorStatistics.hpp"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <time.h>

namespace satsal {
namespace {

// SMOE statistic on every tap, per image the raw maps.
std::vector<std::vector<Map>> smoe_maps(const std::vector<torch::Tensor>& taps) {
    std::vector<std::vector<Map>> per_image;
    for (const auto& tap : taps) {
        const torch::Tensor maps = channel_statistic(Statistic::Smoe, tap.detach());
        per_image.resize(static_cast<std::size_t>(maps.size(0)));
        for (int64_t i = 0; i < maps.size(0); ++i) per_image[i].push_back(map_from_tensor(maps[i]));
    }
    return per_image;
}

// The paper's combined map (gauss normalization, equal weights) of one image.
Map combined_map(std::vector<Map> raw, int64_t width, int64_t height) {
    std::vector<Map> upsampled;
    for (Map& map : raw) {
        normalize(Normalization::Gauss, map);
        upsampled.push_back(upsample_bilinear(map, width, height));
    }
    return combine(upsampled, std::vector<double>(upsampled.size(), 1.0));
}

double process_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return double(now.tv_sec) + 1e-9 * double(now.tv_nsec);
}

double checksum(const torch::Tensor& t) { return t.detach().to(torch::kDouble).abs().sum().item<double>(); }

}  // namespace

double MethodsBenchResult::smoe_extra_ms(bool cpu, bool from_statistic) const {
    return from_statistic ? rows.at(2).ms(cpu) : rows.at(1).ms(cpu) - rows.at(0).ms(cpu);
}

double MethodsBenchResult::relative_extra(const MethodsBenchRow& row, bool cpu, bool from_statistic) const {
    const double smoe = smoe_extra_ms(cpu, from_statistic);
    if (!(smoe > 0)) return std::numeric_limits<double>::quiet_NaN();
    return (row.ms(cpu) - rows.at(0).ms(cpu)) / smoe;
}

nlohmann::ordered_json MethodsBenchResult::to_json() const {
    using Json = nlohmann::ordered_json;
    Json json = Json::object();
    json["batch"] = batch;
    json["size"] = size;
    json["runs"] = runs;
    json["threads"] = threads;
    json["steps_run"] = steps;
    json["samples_run"] = samples;
    json["steps_scaled_to"] = full_steps;
    json["samples_scaled_to"] = full_samples;
    const auto number = [](double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); };
    json["smoe_extra_wall_ms_per_image"] = smoe_extra_ms(false, false);
    json["smoe_statistic_wall_ms_per_image"] = smoe_extra_ms(false, true);
    json["smoe_extra_cpu_ms_per_image"] = smoe_extra_ms(true, false);
    json["smoe_statistic_cpu_ms_per_image"] = smoe_extra_ms(true, true);
    Json& list = json["methods"] = Json::array();
    for (const auto& row : rows) {
        Json entry = Json::object();
        entry["name"] = row.name;
        entry["what"] = row.what;
        entry["timings"] = row.samples;
        entry["measured_wall_ms_per_image"] = row.wall_ms;
        entry["measured_cpu_ms_per_image"] = row.cpu_ms;
        entry["scale"] = row.scale;
        entry["wall_ms_per_image"] = row.ms(false);
        entry["cpu_ms_per_image"] = row.ms(true);
        entry["wall_extra_per_smoe_extra"] = number(relative_extra(row, false, false));
        entry["wall_extra_per_smoe_statistic"] = number(relative_extra(row, false, true));
        entry["cpu_extra_per_smoe_extra"] = number(relative_extra(row, true, false));
        entry["cpu_extra_per_smoe_statistic"] = number(relative_extra(row, true, true));
        list.push_back(entry);
    }
    return json;
}

std::string MethodsBenchResult::to_text() const {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "batch %d, %dx%d, %d threads, medians; IG steps run %d (scaled to %d), ", batch,
                  size, size, threads, steps, full_steps);
    out += line;
    if (samples > 0) {
        std::snprintf(line, sizeof line, "SmoothGrad-Sq samples run %d (scaled to %d)\n", samples, full_samples);
        out += line;
    } else {
        out += "SmoothGrad-Sq rows left out\n";
    }
    std::snprintf(line, sizeof line, "%-34s %5s %6s %11s %11s | %12s %12s | %12s %12s\n", "", "", "", "wall", "cpu",
                  "wall extra /", "", "cpu extra /", "");
    out += line;
    std::snprintf(line, sizeof line, "%-34s %5s %6s %11s %11s | %12s %12s | %12s %12s\n", "method", "n", "scale",
                  "ms/image", "ms/image", "SMOE extra", "statistic", "SMOE extra", "statistic");
    out += line;
    const auto ratio = [](double value) {
        char text[32];
        if (std::isfinite(value)) std::snprintf(text, sizeof text, "%12.1f", value);
        else std::snprintf(text, sizeof text, "%12s", "n/a");
        return std::string(text);
    };
    for (const auto& row : rows) {
        std::snprintf(line, sizeof line, "%-34s %5d %6.1f %11.2f %11.2f | %s %s | %s %s\n", row.name.c_str(), row.samples,
                      row.scale, row.ms(false), row.ms(true), ratio(relative_extra(row, false, false)).c_str(),
                      ratio(relative_extra(row, false, true)).c_str(), ratio(relative_extra(row, true, false)).c_str(),
                      ratio(relative_extra(row, true, true)).c_str());
        out += line;
    }
    std::snprintf(line, sizeof line,
                  "SMOE extra = smoe - forward: wall %.3f, cpu %.3f ms/image; SMOE statistic alone: wall %.3f, cpu %.3f "
                  "ms/image (%.2f%% of the forward's wall time)\n"
                  "ratios: (method - forward) / SMOE extra, and / SMOE statistic; n/a where the denominator is not > 0 "
                  "(noise: rerun, or use the statistic column)\n",
                  smoe_extra_ms(false, false), smoe_extra_ms(true, false), smoe_extra_ms(false, true),
                  smoe_extra_ms(true, true), 100.0 * smoe_extra_ms(false, true) / rows.at(0).ms(false));
    out += line;
    out += "what each row runs (scaled rows: ms measured with the counts run, times the scale):\n";
    for (const auto& row : rows) out += "  " + row.name + ": " + row.what + "\n";
    return out;
}

MethodsBenchResult bench_methods(const MethodsBenchOptions& options) {
    if (options.batch < 1) throw std::invalid_argument("--batch must be at least 1");
    if (options.runs < 1) throw std::invalid_argument("--runs must be at least 1");
    if (options.steps < 1 || options.full_steps < options.steps) {
        throw std::invalid_argument("--steps must be between 1 and the full IG step count " + std::to_string(options.full_steps));
    }
    if (options.samples < 1 || options.full_samples < options.samples) {
        throw std::invalid_argument("--samples must be between 1 and the full SmoothGrad sample count " +
                                    std::to_string(options.full_samples));
    }
    set_torch_threads(options.threads);
    TappedModel model(options.model_path, options.taps);
    require_size_fits_model(options.size, model.deepest_stride());
    GradientMethods methods(model, options.batch);
    methods.guided_forward();  // build the rewritten graph outside the timings
    torch::manual_seed(0);
    const torch::Tensor batch = torch::randn({options.batch, 3, options.size, options.size});
    const torch::Tensor targets = methods.targets(batch, std::nullopt);
    const size_t last_tap = methods.tap_index("");
    const std::string tap_name = model.taps()[last_tap].name;
    const double step_scale = double(options.full_steps) / options.steps;
    const double sample_scale = double(options.full_samples) / options.samples;

    MethodOptions ig;
    ig.method = Method::IntegratedGradients;
    ig.steps = options.steps;
    ig.max_batch = options.batch;

    struct Case {
        MethodsBenchRow row;
        std::function<double()> run;  // returns a checksum (keeps the work observable)
        int repeats = 1;
    };
    std::vector<Case> cases;
    const auto add = [&](std::string name, std::string what, double scale, std::function<double()> run) {
        MethodsBenchRow row;
        row.name = std::move(name);
        row.what = std::move(what);
        row.scale = scale;
        cases.push_back({std::move(row), std::move(run)});
    };
    add("forward", "the module's forward, no autograd", 1, [&] { return checksum(model.forward_plain(batch)); });
    add("smoe", "forward with taps + SMOE statistic on every tap (no combine), as `bench smoe`", 1, [&] {
        const ForwardResult forward = model.forward(batch);
        double sum = 0;
        for (const auto& map : tap_statistics(model, forward, TapStatistic{})) sum += checksum(map);
        return sum;
    });
    const ForwardResult precomputed = model.forward(batch);
    add("smoe statistic", "SMOE statistic on every tap of a forward made beforehand (what SMOE adds to a forward)", 1,
        [&] {
            double sum = 0;
            for (const auto& map : tap_statistics(model, precomputed, TapStatistic{})) sum += checksum(map);
            return sum;
        });
    add("smoe+combine", "smoe + gauss normalization, upsampling, equal-weight combination per image", 1, [&] {
        const ForwardResult forward = model.forward(batch);
        double sum = 0;
        for (auto& raw : smoe_maps(forward.taps)) sum += combined_map(std::move(raw), options.size, options.size).values[0];
        return sum;
    });
    for (auto& c : cases) c.repeats = std::max(1, options.cheap_repeats);
    add("gradcam", "forward with autograd + backward from the score to tap " + tap_name + " + CAM", 1,
        [&] { return checksum(methods.grad_cam(batch, targets, last_tap, false).map); });
    add("gradcam++", "as gradcam with Grad-CAM++ weights", 1,
        [&] { return checksum(methods.grad_cam(batch, targets, last_tap, true).map); });
    add("fastcam", "gradcam + SMOE statistic on every tap + combination + combined x cam", 1, [&] {
        // One forward with autograd gives the taps for both the statistic and the CAM.
        c10::AutoGradMode grad_mode(true);
        const torch::Tensor x = batch.detach().clone().requires_grad_(true);
        const ForwardResult forward = model.forward_with_grad(x);
        const torch::Tensor score = forward.output.flatten(1).gather(1, targets.view({-1, 1})).sum();
        const torch::Tensor gradient = torch::autograd::grad({score}, {forward.taps[last_tap]})[0];
        c10::NoGradGuard no_grad;
        const torch::Tensor activation = forward.taps[last_tap].detach();
        const torch::Tensor raw = (gradient.mean({2, 3}, true) * activation).sum(1, true).clamp_min(0);
        const torch::Tensor cam =
            normalize_min_max(at::upsample_bilinear2d(raw, {options.size, options.size}, false).squeeze(1)).contiguous();
        double sum = 0;
        auto per_image = smoe_maps(forward.taps);
        for (std::size_t i = 0; i < per_image.size(); ++i) {
            Map combined = combined_map(std::move(per_image[i]), options.size, options.size);
            const float* c = cam[int64_t(i)].data_ptr<float>();
            for (int64_t p = 0; p < combined.size(); ++p) combined.values[p] *= c[p];
            sum += combined.values[combined.size() / 2];
        }
        return sum;
    });
    add("gradient", "forward with autograd + backward to the input", 1,
        [&] { return checksum(methods.input_gradient(batch, targets, false)); });
    add("guided-backprop", "as gradient with guided ReLUs (rewritten graph)", 1,
        [&] { return checksum(methods.input_gradient(batch, targets, true)); });
    add("integrated-gradients", std::to_string(options.steps) + " steps run, each a gradient pass, batched " +
                                    std::to_string(options.batch) + " interpolants per pass",
        step_scale, [&] { return checksum(methods.attribution(batch, targets, ig)); });
    if (options.smoothgrad) {
        for (const Method base : {Method::Gradient, Method::GuidedBackprop, Method::IntegratedGradients}) {
            MethodOptions sg = ig;
            sg.method = base;
            sg.smoothgrad_sq = true;
            sg.samples = options.samples;
            const bool is_ig = base == Method::IntegratedGradients;
            add(method_name(base) + "+smoothgrad-sq",
                std::to_string(options.samples) + " noisy samples" + (is_ig ? " x " + std::to_string(options.steps) + " steps" : ""),
                sample_scale * (is_ig ? step_scale : 1.0), [&methods, &batch, &targets, sg] {
                    return checksum(methods.attribution(batch, targets, sg));
                });
        }
    }

    // Cheap rows (forward, smoe, smoe+combine) alternate `cheap_repeats` times, then each method
    // runs once: every repetition sees the machine in the same state for all rows.
    std::vector<std::vector<double>> times(cases.size());
    std::vector<std::vector<double>> cpu_times(cases.size());
    const auto time_case = [&](std::size_t c, bool keep) {
        const double cpu_start = process_cpu_seconds();
        const auto start = Clock::now();
        const double sum = cases[c].run();
        const double ms = 1000.0 * seconds_since(start) / options.batch;
        const double cpu_ms = 1000.0 * (process_cpu_seconds() - cpu_start) / options.batch;
        if (!std::isfinite(sum)) throw std::runtime_error("bench methods: " + cases[c].row.name + " produced NaN or inf");
        if (keep) {
            times[c].push_back(ms);
            cpu_times[c].push_back(cpu_ms);
        }
    };
    for (int repetition = 0; repetition < options.warmup + options.runs; ++repetition) {
        const bool keep = repetition >= options.warmup;
        const int cheap_repeats = std::max(1, options.cheap_repeats);
        for (int r = 0; r < cheap_repeats; ++r) {
            for (std::size_t c = 0; c < cases.size(); ++c) {
                if (cases[c].repeats > 1) time_case(c, keep);
            }
        }
        for (std::size_t c = 0; c < cases.size(); ++c) {
            if (cases[c].repeats == 1) time_case(c, keep);
        }
    }
    MethodsBenchResult result;
    result.batch = options.batch;
    result.size = options.size;
    result.runs = options.runs;
    result.threads = at::get_num_threads();
    result.steps = options.steps;
    result.samples = options.smoothgrad ? options.samples : 0;
    result.full_steps = options.full_steps;
    result.full_samples = options.full_samples;
    for (std::size_t c = 0; c < cases.size(); ++c) {
        MethodsBenchRow row = cases[c].row;
        row.wall_ms = median(times[c]);
        row.cpu_ms = median(cpu_times[c]);
        row.samples = static_cast<int>(times[c].size());
        result.rows.push_back(row);
    }
    return result;
}

}  // namespace satsal
