#include "model/CountingEval.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <ATen/Parallel.h>

#include "io/CowcList.hpp"
#include "model/CountingInference.hpp"
#include "model/CountingPatches.hpp"
#include "model/TappedModel.hpp"

namespace satsal::counting {
namespace {

/// A JSON string literal, escaped by nlohmann-json (bytes that are not UTF-8 become U+FFFD).
std::string json_string(const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

CountingEvaluation evaluate_counting(const CountingEvalOptions& options) {
    if (options.batch_size < 1) throw std::invalid_argument("eval-count: batch size must be >= 1");
    const auto start = std::chrono::steady_clock::now();
    const int threads = options.threads > 0 ? options.threads
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);

    CountingEvaluation evaluation;
    torch::jit::Module module = load_counting_model(options.model, evaluation.classes);
    const c10::Device device = checked_device(options.device);
    const PrecisionChoice choice = resolve_precision(options.precision, detect_cpu_features());
    evaluation.precision = precision_name(choice.precision);
    evaluation.precision_reason = choice.reason;
    if (choice.precision == Precision::Bf16) module.to(at::kBFloat16);  // predict_counts follows the weights
    if (!device.is_cpu()) module.to(device);
    const std::vector<cowc::CountingListEntry> entries = cowc::read_counting_list(options.list);
    if (entries.empty()) throw std::runtime_error("counting list '" + options.list + "' names no patches");

    // Chunks of whole batches keep memory bounded (256 patches = 50 MB of pixels).
    const std::size_t chunk = static_cast<std::size_t>(options.batch_size) *
                              std::max<std::size_t>(1, 256 / static_cast<std::size_t>(options.batch_size));
    for (std::size_t first = 0; first < entries.size(); first += chunk) {
        const std::vector<cowc::CountingListEntry> part(
            entries.begin() + static_cast<std::ptrdiff_t>(first),
            entries.begin() + static_cast<std::ptrdiff_t>(std::min(entries.size(), first + chunk)));
        const CountingPatchSet patches =
            CountingPatchSet::load_entries(part, options.list, options.root, evaluation.classes, threads);
        const std::vector<int> predicted = predict_counts(module, patches, {}, options.batch_size);
        evaluation.truth.insert(evaluation.truth.end(), patches.counts().begin(), patches.counts().end());
        evaluation.predicted.insert(evaluation.predicted.end(), predicted.begin(), predicted.end());
    }
    evaluation.metrics = compute_counting_metrics(evaluation.truth, evaluation.predicted);
    evaluation.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    evaluation.images_per_second = evaluation.truth.size() / std::max(evaluation.seconds, 1e-9);
    return evaluation;
}

CountingEvaluation evaluate_counting(const std::string& model, const std::string& list, const std::string& root) {
    CountingEvalOptions options;
    options.model = model;
    options.list = list;
    options.root = root;
    return evaluate_counting(options);
}

std::string counting_evaluation_json(const CountingEvaluation& evaluation, const CountingEvalOptions& options) {
    std::ostringstream out;
    char timing[128];
    std::snprintf(timing, sizeof timing, "\"seconds\": %.3f, \"images_per_second\": %.2f", evaluation.seconds,
                  evaluation.images_per_second);
    out << "{\"model\": " << json_string(options.model) << ", \"list\": " << json_string(options.list)
        << ", \"root\": " << json_string(options.root) << ", \"classes\": " << evaluation.classes
        << ", \"precision\": " << json_string(evaluation.precision)
        << ", \"precision_reason\": " << json_string(evaluation.precision_reason) << ", " << timing
        << ", \"metrics\": " << counting_metrics_json(evaluation.metrics) << "}";
    return out.str();
}

}  // namespace satsal::counting
