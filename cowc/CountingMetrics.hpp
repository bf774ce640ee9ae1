#pragma once
// Scores of a counting model on a patch set, from the true and the predicted counts alone (no
// model here, so the arithmetic is testable on hand-made cases).
//
// Definitions, over n patches with true count t_i and predicted count p_i (the arg-max class):
//   exact_accuracy       = #(p_i == t_i) / n
//   within_one_accuracy  = #(|p_i - t_i| <= 1) / n
//   mean_absolute_error  = sum |p_i - t_i| / n           (cars per patch)
//   mean_error           = sum (p_i - t_i) / n           (bias: > 0 over-counts)
//   rmse                 = sqrt(sum (p_i - t_i)^2 / n)
//   total_error          = |sum p_i - sum t_i| / sum t_i  (0 when both sums are 0; COWC's
//                          "total error" over a set of patches)
// and per true count c present in the set: n, the mean prediction, the exact rate and the
// mean absolute error (the confusion summary).
//
// Thread rules: plain values and pure functions.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace satsal::counting {

struct CountSummary {
    int true_count = 0;
    long long n = 0;
    double mean_predicted = 0;
    double exact_rate = 0;
    double mean_absolute_error = 0;
};

struct CountingMetrics {
    long long n = 0;
    double exact_accuracy = 0;
    double within_one_accuracy = 0;
    double mean_absolute_error = 0;
    double mean_error = 0;
    double rmse = 0;
    long long true_total = 0;
    long long predicted_total = 0;
    double total_error = 0;
    std::vector<CountSummary> per_count;  ///< ascending true count, only counts that occur
};

/// Throws std::invalid_argument when the vectors differ in length, are empty, or hold a negative
/// count.
CountingMetrics compute_counting_metrics(const std::vector<int>& truth, const std::vector<int>& predicted);

/// Every field above as a JSON object in the order declared (per_count an array of objects, one
/// per true count); a non-finite value (total_error when no car is true) is null.
nlohmann::ordered_json counting_metrics_json(const CountingMetrics& metrics);

/// A few human-readable lines: the headline figures, then one line per true count.
std::string counting_metrics_text(const CountingMetrics& metrics);

}  // namespace satsal::counting
