#include "saliency/Normalize.hpp"

#include "saliency/SpecialFunctions.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace satsal {

Normalization parse_normalization(const std::string& name) {
    if (name == "gauss") return Normalization::Gauss;
    if (name == "gamma") return Normalization::Gamma;
    if (name == "range") return Normalization::Range;
    throw std::invalid_argument("unknown normalization '" + name +
                                "'; valid choices are: gauss gamma range");
}

std::string normalization_name(Normalization normalization) {
    switch (normalization) {
        case Normalization::Gauss: return "gauss";
        case Normalization::Gamma: return "gamma";
        case Normalization::Range: return "range";
    }
    throw std::logic_error("unknown Normalization enumerator");
}

void MapMoments::add(double value) {
    if (std::isnan(value)) return;
    ++count;
    const double delta = value - mean_value;
    mean_value += delta / static_cast<double>(count);
    m2 += delta * (value - mean_value);
    min = std::min(min, value);
    max = std::max(max, value);
}

void MapMoments::add_values(const float* values, int64_t n) {
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
                for (int64_t i = 0; i < n; ++i) values[i] = std::isnan(values[i]) ? values[i] : 0.5f;
                return;
            }
            const double scale = 1.0 / (sigma * std::sqrt(2.0));
            for (int64_t i = 0; i < n; ++i) {
                values[i] = static_cast<float>(0.5 * (1.0 + std::erf((values[i] - mean) * scale)));
            }
            return;
        }
        case Normalization::Gamma: {
            if (!(variance > 0.0)) {
                for (int64_t i = 0; i < n; ++i) values[i] = std::isnan(values[i]) ? values[i] : 0.5f;
                return;
            }
            if (!(mean > 0.0)) {
                std::ostringstream message;
                message << "gamma normalization needs a map with a positive mean, got mean " << mean
                        << " (variance " << variance
                        << "); this statistic can be negative: use --norm gauss or range";
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
                for (int64_t i = 0; i < n; ++i) values[i] = std::isnan(values[i]) ? values[i] : 0.0f;
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
    normalize_with(normalization, moments(map), map);
}

}  // namespace satsal
