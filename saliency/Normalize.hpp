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
#include <vector>

namespace satsal {

enum class Normalization {
    Gauss,         // normal CDF with the map's mean and population standard deviation (the paper's)
    Gamma,         // Gamma CDF fitted as LLNL/fastcam fits it (minimum shift, maximum-likelihood
                   // shape capped at 18), with a correct regularized lower incomplete gamma
    GammaMoments,  // Gamma CDF with method-of-moments shape and scale of the unshifted map
    Range,         // (s - min) / (max - min)
};

/// Names: gauss, gamma, gamma-moments, range. Throws std::invalid_argument naming the value and
/// the choices.
Normalization parse_normalization(const std::string& name);
std::string normalization_name(Normalization normalization);
/// Every name parse_normalization accepts, in enumerator order.
std::vector<std::string> normalization_names();
/// True when normalize_with needs the shifted logs of the values (MapMoments::add_shifted_logs),
/// i.e. a second pass over the values once their minimum is known: only Gamma.
bool normalization_needs_shifted_logs(Normalization normalization);

/// Count, mean, sum of squared deviations (m2), min and max of a set of values, mergeable
/// (Chan et al.'s pairwise update), so that whole-scene statistics over ~1e9 pixels can be
/// accumulated block by block, or per thread and merged, without the cancellation of
/// sum-of-squares formulas. NaN values are skipped.
///
/// The Gamma normalization also needs sum ln(x - min + 2e-7) (see GammaFit). It depends on the
/// final minimum, so it is a second pass over the same values, after every add/merge:
/// add_shifted_logs. Adding or merging values after that throws std::logic_error.
struct MapMoments {
    int64_t count = 0;
    double mean_value = 0.0;
    double m2 = 0.0;  // sum of squared deviations from the mean
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    int64_t log_count = 0;  // values seen by add_shifted_logs
    double log_sum = 0.0;   // sum of ln(x - min + 2e-7) over them

    /// One value (Welford update).
    void add(double value);
    /// A block of values: two passes over the block in double, then one merge.
    void add_values(const float* values, int64_t n);
    void merge(const MapMoments& other);
    /// Second pass: accumulates ln(x - min + 2e-7) of non-NaN values (all of them must be >= min,
    /// else std::invalid_argument). Complete when log_count == count.
    void add_shifted_logs(const float* values, int64_t n);
    double mean() const;      // NaN when empty
    double variance() const;  // population; NaN when empty
    double stddev() const;    // population standard deviation; NaN when empty
};

/// Moments of a map, with the shifted logs when `normalization` needs them.
MapMoments moments(const Map& map);
MapMoments moments(const Map& map, Normalization normalization);

/// The Gamma distribution LLNL/fastcam's GammaNorm2D fits to a map (facts from its source), with
/// y = raw - min + 1e-7 and eps = 1e-7:
///   s  = ln(mean(y + eps)) - mean(ln(y + eps))
///   k0 = (3 - s + sqrt((s - 3)^2 + 24 s)) / (12 s) + eps
///   ten Newton steps k <- k - (ln k - psi(k) - s) / (1/k - psi'(k))   (no early stop)
///   k clamped to [eps, 18], theta = mean(y + eps) / k
/// and a raw value v normalizes to P(k, (v - min + 1e-7) / theta). Newton uses the
/// cancellation-safe ln k - psi(k) and psi'(k) - 1/k; the root is the same.
struct GammaFit {
    double shift = 0.0;  // min - 1e-7: y = v - shift
    double s = 0.0;      // ln(mean) - mean(ln), > 0
    double shape = 0.0;  // k, in [1e-7, 18]
    double scale = 0.0;  // theta
};
/// Fits from complete statistics (count > 0, log_count == count, max > min); throws
/// std::invalid_argument otherwise, std::domain_error when the statistics admit no fit.
GammaFit fit_gamma(const MapMoments& stats);

/// Normalize in place with the map's own statistics (per map and per image, as in the paper);
/// takes the shifted logs itself when the normalization needs them.
void normalize(Normalization normalization, Map& map);
/// Normalize in place with given statistics (e.g. accumulated over a whole scene).
///  gauss: 0.5 * (1 + erf((s - mean) / (stddev * sqrt 2))); stddev == 0 gives 0.5 everywhere.
///  gamma: P(k, (s - shift) / theta) with fit_gamma's shift, k, theta (values below the shift
///         give 0); max == min gives 0 everywhere (the reference's fit is undefined there and its
///         non-finite result becomes 0). Needs the shifted logs (std::invalid_argument without).
///  gamma-moments: P(k, s / theta) with k = mean^2 / var, theta = var / mean (values <= 0 give
///         0); var == 0 gives 0.5 everywhere; a mean <= 0 with var > 0 throws std::domain_error
///         (no Gamma distribution has it: use gauss, gamma or range).
///  range: (s - min) / (max - min), clamped to [0, 1]; max == min gives 0 everywhere.
/// Empty statistics (count == 0) throw std::invalid_argument.
void normalize_with(Normalization normalization, const MapMoments& stats, Map& map);
/// The same on raw memory (blocks of a scene).
void normalize_values(Normalization normalization, const MapMoments& stats, float* values,
                      int64_t n);

}  // namespace satsal
