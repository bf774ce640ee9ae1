#pragma once
// `satsal eval-count --list LIST --root DIR --model M [--json]`: scores a counting model on a COWC
// counting patch set (exact and within-one accuracy, mean absolute error, confusion summary; see
// CountingMetrics.hpp for the definitions). Patches are decoded and scored in chunks, so memory
// does not grow with the list.
//
// Thread rules: one call uses `threads` LibTorch intra-op threads (set process-wide with
// at::set_num_threads) and as many decoding threads; do not run two evaluations concurrently.
#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "cowc/CountingMetrics.hpp"
#include "model/Precision.hpp"

namespace satsal::counting {

struct CountingEvalOptions {
    std::string model;    ///< TorchScript counting model
    std::string list;     ///< counting list (plain or .bz2)
    std::string root;     ///< patch set root; list paths are relative to it
    int batch_size = 32;  ///< patches per forward pass
    int threads = 0;      ///< LibTorch intra-op and decoding threads; 0 = all cores
    Precision precision = Precision::Fp32;  ///< bf16: weights and batches in bfloat16 (Precision.hpp)
    std::string device = "cpu";
    int views = 1;        ///< test-time augmentation: 1, 2, 4 or 8 views (test_time_views)
    /// When set, a CSV written through an AtomicFile (complete or absent): header
    /// `patch,true,predicted,p0,...,p<K-1>`, then one row per patch in list order with its list
    /// path, true and predicted count and the (views' mean) softmax distribution, 6 significant digits.
    std::string predictions;
    /// Progress on long lists (>= 20000 patches, about every tenth): patches scored so far and the
    /// total. May be empty (the library prints nothing).
    std::function<void(std::size_t done, std::size_t total)> on_progress;
};

struct CountingEvaluation {
    CountingMetrics metrics;
    int classes = 0;             ///< logits of the model
    std::vector<int> truth;      ///< list order
    std::vector<int> predicted;  ///< list order
    double seconds = 0;          ///< wall time, decoding included
    double images_per_second = 0;
    std::string precision, precision_reason;  ///< the precision used and why
};

/// Throws IoError naming the file for an unreadable list or patch and when a true count is outside
/// the model's classes, std::runtime_error naming the model file when it is not a counting model.
CountingEvaluation evaluate_counting(const CountingEvalOptions& options);

/// `evaluate_counting({model, list, root})` with the defaults above.
CountingEvaluation evaluate_counting(const std::string& model, const std::string& list, const std::string& root);

/// The summary `eval-count --json` prints, keys in this order: model, list, root, classes,
/// precision, precision_reason, views, seconds, images_per_second, metrics (counting_metrics_json).
/// Dump it with error_handler_t::replace: paths need not be UTF-8.
nlohmann::ordered_json counting_evaluation_json(const CountingEvaluation& evaluation, const CountingEvalOptions& options);

}  // namespace satsal::counting
