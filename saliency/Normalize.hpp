#pragma once
// Squashing a raw statistic map into [0, 1] (paper Sec. 2.2).
//
// NaN marks nodata: it is skipped by the moments and stays NaN through normalization.
// Thread rules: free functions are re-entrant; a MapMoments object is a plain value (one
// writer at a time; merge per-thread partial moments instead of sharing one).
#include "saliency/Map.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace satsal {

enum class Normalization {
    Gauss,  // normal CDF with the map's mean and standard deviation (the paper's default)
    Gamma,  // Gamma CDF (method-of-moments shape/scale) via a correct regularized lower incomplete gamma
    Range,  // (s - min) / (max - min)
};

/// Names: gauss, gamma, range. Throws std::invalid_argument naming the value and the choices.
Normalization parse_normalization(const std::string& name);
std::string normalization_name(Normalization normalization);

/// Count, mean, sum of squared deviations (m2), min and max of a set of values, mergeable
/// (Chan et al.'s pairwise update), so that whole-scene statistics over ~1e9 pixels can be
/// accumulated block by block, or per thread and merged, without the cancellation of
/// sum-of-squares formulas. NaN values are skipped.
struct MapMoments {
    int64_t count = 0;
    double mean_value = 0.0;
    double m2 = 0.0;  // sum of squared deviations from the mean
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();

    /// One value (Welford update).
    void add(double value);
    /// A block of values: two passes over the block in double, then one merge.
    void add_values(const float* values, int64_t n);
    void merge(const MapMoments& other);
    double mean() const;      // NaN when empty
    double variance() const;  // population; NaN when empty
    double stddev() const;    // population standard deviation; NaN when empty
};

MapMoments moments(const Map& map);

/// Normalize in place with the map's own statistics (per map and per image, as in the paper).
void normalize(Normalization normalization, Map& map);
/// Normalize in place with given statistics (e.g. accumulated over a whole scene).
///  gauss: 0.5 * (1 + erf((s - mean) / (stddev * sqrt 2))); stddev == 0 gives 0.5 everywhere.
///  gamma: P(k, s / theta) with k = mean^2 / var, theta = var / mean (values <= 0 give 0);
///         var == 0 gives 0.5 everywhere; a mean <= 0 with var > 0 throws std::domain_error
///         (no Gamma distribution has it: use gauss or range).
///  range: (s - min) / (max - min), clamped to [0, 1]; max == min gives 0 everywhere.
/// Empty statistics (count == 0) throw std::invalid_argument.
void normalize_with(Normalization normalization, const MapMoments& stats, Map& map);
/// The same on raw memory (blocks of a scene).
void normalize_values(Normalization normalization, const MapMoments& stats, float* values,
                      int64_t n);

}  // namespace satsal
