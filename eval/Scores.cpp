#include "eval/Scores.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace satsal::eval {
namespace {

void check_lengths(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& c,
                   const std::vector<double>& d) {
    if (a.empty() || a.size() != b.size() || a.size() != c.size() || a.size() != d.size())
        throw std::invalid_argument("layer scores need one value per layer in each of random ROAR, ROAR, KAR and "
                                    "random KAR; got " + std::to_string(a.size()) + ", " + std::to_string(b.size()) +
                                    ", " + std::to_string(c.size()) + ", " + std::to_string(d.size()));
}

double plogq(double p, double ratio) {
    if (!(ratio > 0) || !std::isfinite(ratio)) return std::numeric_limits<double>::quiet_NaN();
    return p * std::log2(ratio);
}

}  // namespace

double difference_score(const std::vector<double>& zr, const std::vector<double>& rho, const std::vector<double>& kappa,
                        const std::vector<double>& zk) {
    check_lengths(zr, rho, kappa, zk);
    double d = 0;
    for (std::size_t l = 0; l < zr.size(); ++l) d += (zr[l] - rho[l]) + (kappa[l] - zk[l]);
    return d;
}

double information_score(const std::vector<double>& zr, const std::vector<double>& rho,
                         const std::vector<double>& kappa, const std::vector<double>& zk) {
    check_lengths(zr, rho, kappa, zk);
    double total = 0;
    for (std::size_t l = 0; l < zr.size(); ++l) {
        total += rho[l] == 0 ? 0.0 : plogq(rho[l], zr[l] / rho[l]);
        total += zk[l] == 0 ? 0.0 : plogq(zk[l], kappa[l] / zk[l]);
    }
    return total;
}

KarRoarSums kar_roar_sums(const std::vector<double>& kar, const std::vector<double>& roar) {
    KarRoarSums s;
    for (const double v : kar) s.kar += v;
    for (const double v : roar) s.roar -= v;
    s.total = s.kar + s.roar;
    return s;
}

double area_between(const std::vector<double>& x, const std::vector<double>& upper, const std::vector<double>& lower) {
    if (x.size() < 2 || upper.size() != x.size() || lower.size() != x.size())
        throw std::invalid_argument("area_between: need >= 2 points and curves of the same length");
    double area = 0;
    for (std::size_t i = 1; i < x.size(); ++i) {
        if (!(x[i] > x[i - 1])) throw std::invalid_argument("area_between: x must ascend");
        area += 0.5 * (x[i] - x[i - 1]) * ((upper[i] - lower[i]) + (upper[i - 1] - lower[i - 1]));
    }
    return area;
}

MeanSpread mean_spread(const std::vector<double>& values) {
    MeanSpread m;
    m.n = static_cast<int>(values.size());
    if (values.empty()) return m;
    double sum = 0;
    for (const double v : values) sum += v;
    m.mean = sum / m.n;
    double sq = 0;
    for (const double v : values) sq += (v - m.mean) * (v - m.mean);
    m.std = m.n > 1 ? std::sqrt(sq / (m.n - 1)) : 0.0;
    m.min = *std::min_element(values.begin(), values.end());
    m.max = *std::max_element(values.begin(), values.end());
    return m;
}

}  // namespace satsal::eval
