#include "saliency/Statistics.hpp"

#include "saliency/SpecialFunctions.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kE = 2.71828182845904523536;

struct NamedStatistic {
    Statistic statistic;
    const char* name;   // command line / config
    const char* title;  // error messages
};

constexpr NamedStatistic kStatistics[] = {
    {Statistic::Smoe, "smoe", "SMOE Scale"},
    {Statistic::Std, "std", "standard deviation"},
    {Statistic::Mean, "mean", "mean"},
    {Statistic::Max, "max", "max"},
    {Statistic::Shannon, "shannon", "Shannon entropy"},
    {Statistic::LogNormalMean, "lognormal-mean", "log-normal mean"},
    {Statistic::LogNormalEntropy, "lognormal-ent", "log-normal entropy"},
    {Statistic::TruncNormalMean, "truncnormal-mean", "truncated-normal mean"},
    {Statistic::TruncNormalStd, "truncnormal-std", "truncated-normal standard deviation"},
    {Statistic::TruncNormalEntropy, "truncnormal-ent", "truncated-normal entropy"},
    {Statistic::GammaScale, "gamma-scale", "Gamma scale"},
};

const NamedStatistic& lookup(Statistic statistic) {
    for (const auto& entry : kStatistics) {
        if (entry.statistic == statistic) return entry;
    }
    throw std::logic_error("unknown Statistic enumerator");
}

bool statistic_takes_logarithms(Statistic statistic) {
    switch (statistic) {
        case Statistic::Smoe:
        case Statistic::Shannon:
        case Statistic::LogNormalMean:
        case Statistic::LogNormalEntropy:
        case Statistic::GammaScale:
            return true;
        default:
            return false;
    }
}

void validate_arguments(Statistic statistic, int64_t channels, int64_t pixels,
                        int64_t channel_stride, const StatisticOptions& options) {
    std::ostringstream message;
    if (channels < 1) {
        message << statistic_title(statistic) << " needs at least one channel, got " << channels;
    } else if (pixels < 0 || channel_stride < pixels) {
        message << statistic_title(statistic) << ": bad tap layout (pixels " << pixels
                << ", channel stride " << channel_stride << ")";
    } else if (!std::isfinite(options.eps) || options.eps < 0.0 ||
               (statistic_takes_logarithms(statistic) && options.eps < FLT_MIN)) {
        message << statistic_title(statistic) << " needs a finite eps >= " << FLT_MIN
                << " (the smallest normal float), got " << options.eps;
    } else {
        return;
    }
    throw std::invalid_argument(message.str());
}

struct ColumnMoments {
    double mean;
    double variance;  // population
};

template <typename Transform>
ColumnMoments column_moments(const double* column, int64_t n, Transform transform) {
    double sum = 0.0;
    for (int64_t c = 0; c < n; ++c) sum += transform(column[c]);
    const double mean = sum / n;
    double squares = 0.0;
    for (int64_t c = 0; c < n; ++c) {
        const double d = transform(column[c]) - mean;
        squares += d * d;
    }
    return {mean, squares / n};
}

double smoe_column(const double* column, int64_t n, double eps) {
    double sum = 0.0;
    double log_sum = 0.0;
    for (int64_t c = 0; c < n; ++c) {
        sum += column[c] + eps;
        log_sum += std::log2(column[c] + eps);
    }
    const double mean = sum / n;
    return std::max(0.0, mean * (std::log2(mean) - log_sum / n));
}

double shannon_column(const double* column, int64_t n, double eps) {
    // H = -sum p log2 p with p_c = (x_c + eps) / total; an all-zero column is uniform (log2 n).
    double total = 0.0;
    for (int64_t c = 0; c < n; ++c) total += column[c] + eps;
    double entropy = 0.0;
    for (int64_t c = 0; c < n; ++c) {
        const double p = (column[c] + eps) / total;
        entropy -= p * std::log2(p);
    }
    return entropy;
}

// Moments and entropy of N(mu, sigma^2) truncated to [0, inf), mu and sigma estimated as the
// column's mean and population standard deviation (sigma floored at eps).
double truncated_normal_column(Statistic statistic, const double* column, int64_t n,
                               double eps) {
    const ColumnMoments m = column_moments(column, n, [](double x) { return x; });
    const double sigma = std::max(std::sqrt(m.variance), eps);
    const double alpha = -m.mean / sigma;  // the truncation point in standard units
    // lambda = phi(alpha) / Q(alpha) (inverse Mills ratio), ln Q(alpha) with Q = 1 - Phi.
    double lambda;
    double log_q;
    if (alpha < 0.0) {
        const double q = normal_cdf(-alpha);  // in (0.5, 1]
        lambda = normal_pdf(alpha) / q;
        log_q = std::log(q);
    } else {
        const double mills = normal_mills_ratio(alpha);
        lambda = 1.0 / mills;
        log_q = -0.5 * alpha * alpha - 0.5 * std::log(2.0 * kPi) + std::log(mills);
    }
    switch (statistic) {
        case Statistic::TruncNormalMean:
            return m.mean + sigma * lambda;
        case Statistic::TruncNormalStd: {
            // Var/sigma^2 = 1 + alpha lambda - lambda^2 cancels badly for large alpha; there
            // its asymptotic series 1/a^2 - 6/a^4 + 50/a^6 is exact to ~1e-10.
            double unit_variance;
            if (alpha >= 100.0) {
                const double r2 = 1.0 / (alpha * alpha);
                unit_variance = r2 * (1.0 - r2 * (6.0 - r2 * 50.0));
            } else {
                unit_variance = std::max(0.0, 1.0 + alpha * lambda - lambda * lambda);
            }
            return sigma * std::sqrt(unit_variance);
        }
        case Statistic::TruncNormalEntropy:
            // ln(sqrt(2 pi e) sigma Z) + alpha phi(alpha) / (2 Z), Z = Q(alpha), in nats.
            return 0.5 * std::log(2.0 * kPi * kE) + std::log(sigma) + log_q + 0.5 * alpha * lambda;
        default:
            throw std::logic_error("truncated_normal_column: not a truncated-normal statistic");
    }
}

double gamma_scale_column(const double* column, int64_t n, double eps) {
    double sum = 0.0;
    double log_sum = 0.0;
    for (int64_t c = 0; c < n; ++c) {
        sum += column[c] + eps;
        log_sum += std::log(column[c] + eps);
    }
    const double mean = sum / n;
    const double s = std::log(mean) - log_sum / n;
    // s == 0 is a constant column: the ML shape diverges and the scale mean/k tends to 0.
    if (!(s > 0.0)) return 0.0;
    double k = (3.0 - s + std::sqrt((s - 3.0) * (s - 3.0) + 24.0 * s)) / (12.0 * s);
    // Newton on f(k) = ln k - psi(k) - s, f'(k) = 1/k - psi'(k) = -(psi'(k) - 1/k).
    for (int iteration = 0; iteration < 100; ++iteration) {
        const double f = log_minus_digamma(k) - s;
        const double derivative = -trigamma_minus_reciprocal(k);
        double next = k - f / derivative;
        if (!(next > 0.0)) next = 0.5 * k;  // keep the shape positive when a step overshoots
        const bool converged = std::fabs(next - k) <= 1e-14 * k;
        k = next;
        if (converged) break;
    }
    return mean / k;
}

std::string shape_text(int64_t channels, int64_t pixels) {
    std::ostringstream text;
    text << channels << " x " << pixels;
    return text.str();
}

}  // namespace

Statistic parse_statistic(const std::string& name) {
    for (const auto& entry : kStatistics) {
        if (name == entry.name) return entry.statistic;
    }
    std::ostringstream message;
    message << "unknown statistic '" << name << "'; valid choices are:";
    for (const auto& entry : kStatistics) message << ' ' << entry.name;
    throw std::invalid_argument(message.str());
}

std::string statistic_name(Statistic statistic) { return lookup(statistic).name; }

std::string statistic_title(Statistic statistic) { return lookup(statistic).title; }

std::vector<std::string> statistic_names() {
    std::vector<std::string> names;
    for (const auto& entry : kStatistics) names.emplace_back(entry.name);
    return names;
}

bool statistic_uses_pre_activation(Statistic statistic) {
    return statistic == Statistic::TruncNormalMean || statistic == Statistic::TruncNormalStd ||
           statistic == Statistic::TruncNormalEntropy;
}

bool statistic_requires_non_negative(Statistic statistic) {
    return statistic_takes_logarithms(statistic);
}

InvalidValueCounts count_invalid_values(const float* data, int64_t channels, int64_t pixels,
                                        int64_t channel_stride) {
    InvalidValueCounts counts;
    for (int64_t c = 0; c < channels; ++c) {
        const float* row = data + c * channel_stride;
        for (int64_t p = 0; p < pixels; ++p) {
            const float x = row[p];
            if (std::isnan(x)) {
                ++counts.nan;
            } else if (std::isinf(x)) {
                ++counts.infinite;
                if (x < 0.0f) ++counts.negative;
            } else if (x < 0.0f) {
                ++counts.negative;
            }
        }
    }
    return counts;
}

void check_invalid_values(Statistic statistic, const InvalidValueCounts& counts,
                          const std::string& shape) {
    const bool non_negative = statistic_requires_non_negative(statistic);
    const bool bad_sign = non_negative && counts.negative > 0;
    if (!bad_sign && counts.nan == 0 && counts.infinite == 0) return;
    std::ostringstream message;
    message << statistic_title(statistic);
    if (non_negative) {
        message << " needs finite non-negative activations: found " << counts.negative
                << " negative values, ";
    } else {
        message << " needs finite activations: found ";
    }
    message << counts.nan << " NaN and " << counts.infinite << " infinite values in a [" << shape
            << "] tap";
    throw std::domain_error(message.str());
}

double column_statistic(Statistic statistic, const double* column, int64_t n,
                        const StatisticOptions& options) {
    const double eps = options.eps;
    switch (statistic) {
        case Statistic::Smoe:
            return smoe_column(column, n, eps);
        case Statistic::Std:
            return std::sqrt(column_moments(column, n, [](double x) { return x; }).variance);
        case Statistic::Mean:
            return column_moments(column, n, [](double x) { return x; }).mean;
        case Statistic::Max:
            return *std::max_element(column, column + n);
        case Statistic::Shannon:
            return shannon_column(column, n, eps);
        case Statistic::LogNormalMean: {
            const ColumnMoments m = column_moments(column, n, [eps](double x) { return std::log(x + eps); });
            return std::exp(m.mean + 0.5 * m.variance);
        }
        case Statistic::LogNormalEntropy: {
            // Differential entropy in nats; the variance is floored at eps^2 so that a constant
            // column gives a finite (very low) entropy instead of -inf.
            const ColumnMoments m = column_moments(column, n, [eps](double x) { return std::log(x + eps); });
            return m.mean + 0.5 * std::log(2.0 * kPi * kE * std::max(m.variance, eps * eps));
        }
        case Statistic::TruncNormalMean:
        case Statistic::TruncNormalStd:
        case Statistic::TruncNormalEntropy:
            return truncated_normal_column(statistic, column, n, eps);
        case Statistic::GammaScale:
            return gamma_scale_column(column, n, eps);
    }
    throw std::logic_error("column_statistic: unknown Statistic enumerator");
}

void reduce_channels(Statistic statistic, const float* data, int64_t channels, int64_t pixels,
                     int64_t channel_stride, float* out, const StatisticOptions& options) {
    validate_arguments(statistic, channels, pixels, channel_stride, options);
    if (statistic == Statistic::Smoe) {
        smoe_scale(data, channels, pixels, channel_stride, out, options.eps);
        return;
    }
    check_invalid_values(statistic, count_invalid_values(data, channels, pixels, channel_stride),
                         shape_text(channels, pixels));
    // Transpose a chunk of pixels into contiguous double columns (at most 256 KB), then reduce
    // each column with the reference definition. Only SMOE Scale is performance-critical.
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(pixels, 32768 / channels));
    std::vector<double> columns(static_cast<std::size_t>(chunk * channels));
    for (int64_t p0 = 0; p0 < pixels; p0 += chunk) {
        const int64_t n = std::min(chunk, pixels - p0);
        for (int64_t c = 0; c < channels; ++c) {
            const float* row = data + c * channel_stride + p0;
            for (int64_t i = 0; i < n; ++i) columns[static_cast<std::size_t>(i * channels + c)] = row[i];
        }
        for (int64_t i = 0; i < n; ++i) {
            out[p0 + i] = static_cast<float>(
                column_statistic(statistic, columns.data() + i * channels, channels, options));
        }
    }
}

void reduce_channels(Statistic statistic, const float* chw, int64_t channels, int64_t pixels,
                     float* out, const StatisticOptions& options) {
    reduce_channels(statistic, chw, channels, pixels, pixels, out, options);
}

}  // namespace satsal
