#include "cowc/CountingMetrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace satsal::counting {

CountingMetrics compute_counting_metrics(const std::vector<int>& truth, const std::vector<int>& predicted) {
    if (truth.size() != predicted.size()) {
        throw std::invalid_argument("compute_counting_metrics: " + std::to_string(truth.size()) +
                                    " true counts but " + std::to_string(predicted.size()) + " predictions");
    }
    if (truth.empty()) throw std::invalid_argument("compute_counting_metrics: no patches to score");

    struct Accumulator {
        long long n = 0, exact = 0;
        double predicted_sum = 0, absolute_sum = 0;
    };
    std::map<int, Accumulator> by_count;
    CountingMetrics m;
    m.n = static_cast<long long>(truth.size());
    long long exact = 0, within_one = 0;
    double absolute_sum = 0, signed_sum = 0, squared_sum = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const int t = truth[i], p = predicted[i];
        if (t < 0 || p < 0) {
            throw std::invalid_argument("compute_counting_metrics: negative count at index " + std::to_string(i) +
                                        " (true " + std::to_string(t) + ", predicted " + std::to_string(p) + ")");
        }
        const int error = p - t;
        exact += error == 0;
        within_one += std::abs(error) <= 1;
        absolute_sum += std::abs(error);
        signed_sum += error;
        squared_sum += static_cast<double>(error) * error;
        m.true_total += t;
        m.predicted_total += p;
        Accumulator& a = by_count[t];
        ++a.n;
        a.exact += error == 0;
        a.predicted_sum += p;
        a.absolute_sum += std::abs(error);
    }
    const double n = static_cast<double>(m.n);
    m.exact_accuracy = exact / n;
    m.within_one_accuracy = within_one / n;
    m.mean_absolute_error = absolute_sum / n;
    m.mean_error = signed_sum / n;
    m.rmse = std::sqrt(squared_sum / n);
    const long long total_difference = std::llabs(m.predicted_total - m.true_total);
    m.total_error = m.true_total > 0 ? static_cast<double>(total_difference) / m.true_total
                                     : (total_difference == 0 ? 0.0 : INFINITY);
    for (const auto& [count, a] : by_count) {
        CountSummary s;
        s.true_count = count;
        s.n = a.n;
        s.mean_predicted = a.predicted_sum / a.n;
        s.exact_rate = static_cast<double>(a.exact) / a.n;
        s.mean_absolute_error = a.absolute_sum / a.n;
        m.per_count.push_back(s);
    }
    return m;
}

nlohmann::ordered_json counting_metrics_json(const CountingMetrics& m) {
    using Json = nlohmann::ordered_json;
    Json per_count = Json::array();
    for (const CountSummary& s : m.per_count) {
        per_count.push_back(Json{{"true_count", s.true_count},
                                 {"n", s.n},
                                 {"mean_predicted", s.mean_predicted},
                                 {"exact_rate", s.exact_rate},
                                 {"mean_absolute_error", s.mean_absolute_error}});
    }
    // nlohmann writes a non-finite number as null (total_error over a set without cars).
    return Json{{"n", m.n},
                {"exact_accuracy", m.exact_accuracy},
                {"within_one_accuracy", m.within_one_accuracy},
                {"mean_absolute_error", m.mean_absolute_error},
                {"mean_error", m.mean_error},
                {"rmse", m.rmse},
                {"true_total", m.true_total},
                {"predicted_total", m.predicted_total},
                {"total_error", m.total_error},
                {"per_count", std::move(per_count)}};
}

std::string counting_metrics_text(const CountingMetrics& m) {
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line,
                  "patches %lld  exact %.4f  within-one %.4f  MAE %.4f  bias %+.4f  RMSE %.4f  total error %.4f\n",
                  m.n, m.exact_accuracy, m.within_one_accuracy, m.mean_absolute_error, m.mean_error, m.rmse,
                  m.total_error);
    out << line << "true count      n  mean predicted  exact rate     MAE\n";
    for (const CountSummary& s : m.per_count) {
        std::snprintf(line, sizeof line, "%10d %6lld %15.3f %11.3f %7.3f\n", s.true_count, s.n, s.mean_predicted,
                      s.exact_rate, s.mean_absolute_error);
        out << line;
    }
    return out.str();
}

}  // namespace satsal::counting
