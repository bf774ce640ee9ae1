#include "cowc/CountingEval.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include <ATen/Parallel.h>

#include "cowc/CountingList.hpp"
#include "cowc/CountingInference.hpp"
#include "cowc/CountingPatchSet.hpp"
#include "io/AtomicFile.hpp"
#include "io/IoError.hpp"
#include "io/PathPolicy.hpp"
#include "model/TappedModel.hpp"

namespace satsal::counting {
namespace {

// A CSV field: quoted (inner quotes doubled) when it holds a comma, quote or line break.
std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

}  // namespace

CountingEvaluation evaluate_counting(const CountingEvalOptions& options) {
    if (options.batch_size < 1) throw std::invalid_argument("eval-count: batch size must be >= 1");
    test_time_views(options.views);  // a bad count fails before the model and patches load
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
    if (entries.empty()) throw IoError("counting list '" + options.list + "' names no patches");
    // Every entry is checked before any patch is evaluated, so a bad last line fails at once.
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const cowc::CountingListEntry& e = entries[i];
        if (e.count >= evaluation.classes) {
            throw std::runtime_error("counting list '" + options.list + "': entry " + std::to_string(i + 1) + " '" +
                                     e.relative_path() + " " + std::to_string(e.count) + "': count is outside the model's " +
                                     std::to_string(evaluation.classes) + " classes (0.." +
                                     std::to_string(evaluation.classes - 1) + ")");
        }
        const std::string path = join_under_root(options.root, e.relative_path(), "counting list entry");
        const std::string problem = input_file_problem(path);
        if (!problem.empty()) {
            throw std::runtime_error("COWC counting patch '" + path + "' " + problem + "; entry " + std::to_string(i + 1) +
                                     " (listed in '" + options.list + "' as '" + e.relative_path() + " " +
                                     std::to_string(e.count) + "')");
        }
    }
    std::unique_ptr<AtomicFile> csv_file;
    std::ofstream csv;
    if (!options.predictions.empty()) {
        csv_file = std::make_unique<AtomicFile>(options.predictions);
        csv.open(csv_file->temp_path(), std::ios::binary | std::ios::trunc);
        if (!csv) throw IoError("eval-count: cannot write predictions '" + options.predictions + "'");
        csv << "patch,true,predicted";
        for (int k = 0; k < evaluation.classes; ++k) csv << ",p" << k;
        csv << "\n";
    }
    const bool progress = entries.size() >= 20000 && options.on_progress;
    std::size_t next_report = entries.size() / 10;

    // Chunks of whole batches keep memory bounded (256 patches = 50 MB of pixels).
    const std::size_t chunk = static_cast<std::size_t>(options.batch_size) *
                              std::max<std::size_t>(1, 256 / static_cast<std::size_t>(options.batch_size));
    for (std::size_t first = 0; first < entries.size(); first += chunk) {
        const std::vector<cowc::CountingListEntry> part(
            entries.begin() + static_cast<std::ptrdiff_t>(first),
            entries.begin() + static_cast<std::ptrdiff_t>(std::min(entries.size(), first + chunk)));
        const CountingPatchSet patches =
            CountingPatchSet::load_entries(part, options.list, options.root, evaluation.classes, threads);
        std::vector<float> distributions;
        const std::vector<int> predicted =
            predict_counts(module, patches, {}, options.batch_size, options.views, csv_file ? &distributions : nullptr);
        if (csv_file) {
            char number[32];
            for (std::size_t i = 0; i < predicted.size(); ++i) {
                csv << csv_field(part[i].relative_path()) << "," << patches.counts()[i] << "," << predicted[i];
                for (int k = 0; k < evaluation.classes; ++k) {
                    std::snprintf(number, sizeof number, ",%.6g", distributions[i * evaluation.classes + k]);
                    csv << number;
                }
                csv << "\n";
            }
        }
        evaluation.truth.insert(evaluation.truth.end(), patches.counts().begin(), patches.counts().end());
        evaluation.predicted.insert(evaluation.predicted.end(), predicted.begin(), predicted.end());
        if (progress && evaluation.predicted.size() >= next_report && evaluation.predicted.size() < entries.size()) {
            if (options.on_progress) options.on_progress(evaluation.predicted.size(), entries.size());
            next_report += entries.size() / 10;
        }
    }
    if (csv_file) {
        csv.close();
        if (!csv) throw IoError("eval-count: writing predictions '" + options.predictions + "' failed (disk full?)");
        csv_file->commit();
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

nlohmann::ordered_json counting_evaluation_json(const CountingEvaluation& evaluation,
                                                const CountingEvalOptions& options) {
    return nlohmann::ordered_json{{"model", options.model},
                                  {"list", options.list},
                                  {"root", options.root},
                                  {"classes", evaluation.classes},
                                  {"precision", evaluation.precision},
                                  {"precision_reason", evaluation.precision_reason},
                                  {"views", options.views},
                                  {"seconds", evaluation.seconds},
                                  {"images_per_second", evaluation.images_per_second},
                                  {"metrics", counting_metrics_json(evaluation.metrics)}};
}

}  // namespace satsal::counting
