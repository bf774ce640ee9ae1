#include "saliency/Normalize.hpp"

#include "saliency/SpecialFunctions.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace satsal {

namespace {

struct NamedNormalization {
    Normalization normalization;
    const char* name;
};

constexpr NamedNormalization kNormalizations[] = {
    {Normalization::Gauss, "gauss"},
    {Normalization::Gamma, "gamma"},
    {Normalization::GammaMoments, "gamma-moments"},
    {Normalization::Range, "range"},
};

// The reference Gamma fit's constants (LLNL/fastcam GammaNorm2D): the map minimum moves to
// kGammaOffset, and the fit adds kGammaEps before its logs and mean.
constexpr double kGammaOffset = 1e-7;
constexpr double kGammaEps = 1e-7;
constexpr int kGammaNewtonSteps = 10;
constexpr double kGammaMaxShape = 18.0;

void fill_non_nan(float* values, int64_t n, float value) {
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isnan(values[i])) values[i] = value;
    }
}

void require_no_logs(const MapMoments& m, const char* what) {
    if (m.log_count > 0) {
        throw std::logic_error(std::string("MapMoments::") + what +
                               " after add_shifted_logs: the shifted logs need the final minimum");
    }
}

void require_shifted_logs(const MapMoments& stats) {
    if (stats.count == 0 || stats.log_count != stats.count) {
        std::ostringstream message;
        message << "gamma normalization needs the shifted logs of the same values as the moments "
                   "(MapMoments::add_shifted_logs after the moments are complete); have "
                << stats.log_count << " of " << stats.count << " values";
        throw std::invalid_argument(message.str());
    }
}

}  // namespace

Normalization parse_normalization(const std::string& name) {
    for (const auto& entry : kNormalizations) {
        if (name == entry.name) return entry.normalization;
    }
    std::string message = "unknown normalization '" + name + "'; valid choices are:";
    for (const auto& entry : kNormalizations) message += std::string(" ") + entry.name;
    throw std::invalid_argument(message);
}

std::string normalization_name(Normalization normalization) {
    for (const auto& entry : kNormalizations) {
        if (entry.normalization == normalization) return entry.name;
    }
    throw std::logic_error("unknown Normalization enumerator");
}

std::vector<std::string> normalization_names() {
    std::vector<std::string> names;
    for (const auto& entry : kNormalizations) names.emplace_back(entry.name);
    return names;
}

bool normalization_needs_shifted_logs(Normalization normalization) {
    return normalization == Normalization::Gamma;
}

void MapMoments::add(double value) {
    if (std::isnan(value)) return;
    require_no_logs(*this, "add");
    ++count;
    const double delta = value - mean_value;
    mean_value += delta / static_cast<double>(count);
    m2 += delta * (value - mean_value);
    min = std::min(min, value);
    max = std::max(max, value);
}

void MapMoments::add_values(const float* values, int64_t n) {
    require_no_logs(*this, "add_values");
    MapMoments block;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const float v = values[i];
        if (std::isnan(v)) continue;
        ++block.count;
        sum += v;
        block.min = std::min(block.min, static_cast<double>(v));
        block.max = std::max(block.max, static_cast<double>(v));
    }
    if (block.count == 0) return;
    block.mean_value = sum / static_cast<double>(block.count);
    for (int64_t i = 0; i < n; ++i) {
        const float v = values[i];
        if (std::isnan(v)) continue;
        const double d = v - block.mean_value;
        block.m2 += d * d;
    }
    merge(block);
}

void MapMoments::merge(const MapMoments& other) {
    require_no_logs(*this, "merge");
    require_no_logs(other, "merge");
    if (other.count == 0) return;
    if (count == 0) {
        *this = other;
        return;
    }
    const double n_a = static_cast<double>(count);
    const double n_b = static_cast<double>(other.count);
    const double n = n_a + n_b;
    const double delta = other.mean_value - mean_value;
    mean_value += delta * (n_b / n);
    m2 += other.m2 + delta * delta * (n_a * n_b / n);
    count += other.count;
    min = std::min(min, other.min);
    max = std::max(max, other.max);
}

void MapMoments::add_shifted_logs(const float* values, int64_t n) {
    const double offset = kGammaOffset + kGammaEps;
    double sum = 0.0;
    int64_t seen = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float v = values[i];
        if (std::isnan(v)) continue;
        if (v < min) {
            std::ostringstream message;
            message << "MapMoments::add_shifted_logs: value " << v << " is below the minimum " << min
                    << " of the moments (not the same values?)";
            throw std::invalid_argument(message.str());
        }
        sum += std::log((v - min) + offset);
        ++seen;
    }
    log_sum += sum;
    log_count += seen;
}

double MapMoments::mean() const {
    return count > 0 ? mean_value : std::numeric_limits<double>::quiet_NaN();
}

double MapMoments::variance() const {
    return count > 0 ? m2 / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
}

double MapMoments::stddev() const { return std::sqrt(variance()); }

MapMoments moments(const Map& map) {
    MapMoments result;
    result.add_values(map.data(), map.size());
    return result;
}

MapMoments moments(const Map& map, Normalization normalization) {
    MapMoments result = moments(map);
    if (normalization_needs_shifted_logs(normalization)) result.add_shifted_logs(map.data(), map.size());
    return result;
}

GammaFit fit_gamma(const MapMoments& stats) {
    require_shifted_logs(stats);
    if (!(stats.max > stats.min)) {
        throw std::invalid_argument("gamma fit of a constant map (max == min) is undefined");
    }
    GammaFit fit;
    fit.shift = stats.min - kGammaOffset;
    // mean(y + eps) with y = x - min + offset; the subtraction is exact enough in double.
    const double mean_y = (stats.mean() - stats.min) + kGammaOffset + kGammaEps;
    const double mean_log = stats.log_sum / static_cast<double>(stats.log_count);
    fit.s = std::log(mean_y) - mean_log;
    if (!(fit.s > 0.0) || !std::isfinite(fit.s)) {
        std::ostringstream message;
        message << "gamma fit: ln(mean) - mean(ln) = " << fit.s << " for " << stats.count
                << " values in [" << stats.min << ", " << stats.max
                << "] (it must be positive for values that are not all equal)";
        throw std::domain_error(message.str());
    }
    const double s = fit.s;
    double k = (3.0 - s + std::sqrt((s - 3.0) * (s - 3.0) + 24.0 * s)) / (12.0 * s) + kGammaEps;
    // f(k) = ln k - psi(k) - s, f'(k) = 1/k - psi'(k) = -(psi'(k) - 1/k): k - f/f' = k + f/(psi' - 1/k).
    // f is convex and decreasing, and k0 is within 1.5% of the root, so the steps stay positive.
    for (int step = 0; step < kGammaNewtonSteps; ++step) {
        k += (log_minus_digamma(k) - s) / trigamma_minus_reciprocal(k);
        if (!(k > 0.0) || !std::isfinite(k)) {
            std::ostringstream message;
            message << "gamma fit: Newton step " << step + 1 << " left the positive shape range (k = " << k
                    << ", s = " << s << ")";
            throw std::domain_error(message.str());
        }
    }
    fit.shape = std::clamp(k, kGammaEps, kGammaMaxShape);
    fit.scale = mean_y / fit.shape;
    return fit;
}

void normalize_values(Normalization normalization, const MapMoments& stats, float* values,
                      int64_t n) {
    if (stats.count == 0) {
        throw std::invalid_argument(normalization_name(normalization) +
                                    " normalization: the statistics hold no values (all nodata?)");
    }
    const double mean = stats.mean();
    const double variance = stats.variance();
    switch (normalization) {
        case Normalization::Gauss: {
            // A constant map carries no ranking: every pixel sits at the mean, CDF 0.5.
            const double sigma = std::sqrt(variance);
            if (!(sigma > 0.0)) {
                fill_non_nan(values, n, 0.5f);
                return;
            }
            const double scale = 1.0 / (sigma * std::sqrt(2.0));
            for (int64_t i = 0; i < n; ++i) {
                values[i] = static_cast<float>(0.5 * (1.0 + std::erf((values[i] - mean) * scale)));
            }
            return;
        }
        case Normalization::Gamma: {
            require_shifted_logs(stats);
            if (!(stats.max > stats.min)) {
                // No spread: the reference's fit is undefined there and its NaNs become 0.
                fill_non_nan(values, n, 0.0f);
                return;
            }
            const GammaFit fit = fit_gamma(stats);
            const double inverse_scale = 1.0 / fit.scale;
            for (int64_t i = 0; i < n; ++i) {
                const float v = values[i];
                if (std::isnan(v)) continue;
                // P(k, x) is finite for a finite positive k and x (x <= 0 gives 0, +inf gives 1).
                values[i] = static_cast<float>(regularized_gamma_p(fit.shape, (v - fit.shift) * inverse_scale));
            }
            return;
        }
        case Normalization::GammaMoments: {
            if (!(variance > 0.0)) {
                fill_non_nan(values, n, 0.5f);
                return;
            }
            if (!(mean > 0.0)) {
                std::ostringstream message;
                message << "gamma-moments normalization needs a map with a positive mean, got mean " << mean
                        << " (variance " << variance
                        << "); this statistic can be negative: use --norm gauss, gamma or range";
                throw std::domain_error(message.str());
            }
            const double shape = mean * mean / variance;
            const double inverse_scale = mean / variance;  // 1 / theta
            for (int64_t i = 0; i < n; ++i) {
                const float v = values[i];
                if (std::isnan(v)) continue;
                values[i] = static_cast<float>(regularized_gamma_p(shape, v * inverse_scale));
            }
            return;
        }
        case Normalization::Range: {
            const double span = stats.max - stats.min;
            if (!(span > 0.0)) {
                fill_non_nan(values, n, 0.0f);
                return;
            }
            for (int64_t i = 0; i < n; ++i) {
                const double scaled = (values[i] - stats.min) / span;
                values[i] = static_cast<float>(std::isnan(scaled) ? scaled
                                                                  : std::clamp(scaled, 0.0, 1.0));
            }
            return;
        }
    }
    throw std::logic_error("unknown Normalization enumerator");
}

void normalize_with(Normalization normalization, const MapMoments& stats, Map& map) {
    normalize_values(normalization, stats, map.data(), map.size());
}

void normalize(Normalization normalization, Map& map) {
    normalize_with(normalization, moments(map, normalization), map);
}

}  // namespace satsal
