// Channel statistics: names, paper Table 3, every statistic against an independent
// straightforward computation, input validation messages, SMOE/Gamma order equivalence.
#include "saliency/Statistics.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

using namespace satsal;

namespace {

constexpr double kPi = 3.14159265358979323846;

// A [C, P] tap whose column p holds column_values[p] (C values each).
std::vector<float> tap_from_columns(const std::vector<std::vector<double>>& columns) {
    const std::size_t pixels = columns.size();
    const std::size_t channels = columns[0].size();
    std::vector<float> tap(channels * pixels);
    for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t c = 0; c < channels; ++c) tap[c * pixels + p] = static_cast<float>(columns[p][c]);
    return tap;
}

std::vector<double> alternating(double a, double b, int n = 10) {
    std::vector<double> values;
    for (int i = 0; i < n; ++i) values.push_back(i % 2 == 0 ? a : b);
    return values;
}

double reduce_one(Statistic statistic, const std::vector<double>& column, double eps = 1e-6) {
    const std::vector<float> tap = tap_from_columns({column});
    float out = -1.0f;
    StatisticOptions options;
    options.eps = eps;
    reduce_channels(statistic, tap.data(), static_cast<int64_t>(column.size()), 1, &out, options);
    return out;
}

// --- independent reference computations (deliberately written differently from the library) ---

double mean_of(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

double population_variance(const std::vector<double>& v) {
    double m = mean_of(v), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / v.size();
}

std::vector<double> plus_eps(const std::vector<double>& v, double eps) {
    std::vector<double> out;
    for (double x : v) out.push_back(x + eps);
    return out;
}

// Moments and entropy of N(mu, sigma^2) restricted to [0, inf), by Simpson integration of the
// density over [max(0, mu - 12 sigma), mu + 12 sigma].
struct TruncatedMoments {
    double mean, stddev, entropy;
};
TruncatedMoments truncated_by_integration(double mu, double sigma) {
    const double lo = std::max(0.0, mu - 12 * sigma), hi = std::max(lo + sigma, mu + 12 * sigma);
    const int n = 200000;
    const double h = (hi - lo) / n;
    auto density = [&](double x) { return std::exp(-0.5 * std::pow((x - mu) / sigma, 2)) / (sigma * std::sqrt(2 * kPi)); };
    double z = 0, m1 = 0, m2 = 0, plogp = 0;
    for (int i = 0; i <= n; ++i) {
        const double x = lo + i * h, w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
        const double f = density(x);
        z += w * f;
        m1 += w * f * x;
        m2 += w * f * x * x;
        if (f > 0) plogp += w * f * std::log(f);
    }
    z *= h / 3, m1 *= h / 3, m2 *= h / 3, plogp *= h / 3;
    const double mean = m1 / z;
    // entropy of f/z: -int (f/z) ln(f/z) = -(plogp)/z + ln z
    return {mean, std::sqrt(m2 / z - mean * mean), -plogp / z + std::log(z)};
}

// Gamma scale by maximizing the profile log-likelihood over the shape with golden-section
// search (no digamma, no Newton): l(k) = (k-1) sum ln x - n k - n k ln(mean/k) - n lgamma(k).
double gamma_scale_by_likelihood(const std::vector<double>& x) {
    const double n = x.size(), mean = mean_of(x);
    double log_sum = 0;
    for (double v : x) log_sum += std::log(v);
    auto l = [&](double log_k) {
        const double k = std::exp(log_k);
        return (k - 1) * log_sum - n * k - n * k * std::log(mean / k) - n * std::lgamma(k);
    };
    double a = std::log(1e-4), b = std::log(1e6);
    const double g = (std::sqrt(5.0) - 1) / 2;
    for (int i = 0; i < 200; ++i) {
        const double c = b - g * (b - a), d = a + g * (b - a);
        if (l(c) > l(d)) b = d; else a = c;
    }
    return mean / std::exp(0.5 * (a + b));
}

}  // namespace

TEST_CASE("statistic names round-trip and bad names list the choices", "[statistics]") {
    for (const std::string& name : statistic_names()) CHECK(statistic_name(parse_statistic(name)) == name);
    CHECK(statistic_names().size() == 11);
    CHECK(parse_statistic("gamma-scale") == Statistic::GammaScale);
    CHECK_THROWS_WITH(parse_statistic("smoe-scale"),
                      "unknown statistic 'smoe-scale'; valid choices are: smoe std mean max shannon "
                      "lognormal-mean lognormal-ent truncnormal-mean truncnormal-std truncnormal-ent gamma-scale");
    CHECK(statistic_uses_pre_activation(Statistic::TruncNormalStd));
    CHECK_FALSE(statistic_uses_pre_activation(Statistic::Smoe));
    CHECK(statistic_requires_non_negative(Statistic::Smoe));
    CHECK(statistic_requires_non_negative(Statistic::GammaScale));
    CHECK_FALSE(statistic_requires_non_negative(Statistic::Std));
}

TEST_CASE("paper Table 3: SMOE Scale, mean and std of alternating columns", "[statistics][paper]") {
    struct Row { double a, b, mean, std; int smoe_thousandths; };
    const Row rows[] = {
        {0.5, 1, 0.75, 0.25, 64}, {1, 2, 1.5, 0.5, 127}, {2, 4, 3, 1, 255},
        {2, 3, 2.5, 0.5, 74}, {0.6125, 1.8375, 1.225, 0.6125, 254},
    };
    std::vector<std::vector<double>> columns;
    for (const Row& row : rows) columns.push_back(alternating(row.a, row.b));
    const std::vector<float> tap = tap_from_columns(columns);
    const int64_t pixels = static_cast<int64_t>(columns.size());
    std::vector<float> smoe(pixels), mean(pixels), stddev(pixels);
    reduce_channels(Statistic::Smoe, tap.data(), 10, pixels, smoe.data());
    reduce_channels(Statistic::Mean, tap.data(), 10, pixels, mean.data());
    reduce_channels(Statistic::Std, tap.data(), 10, pixels, stddev.data());
    for (std::size_t i = 0; i < columns.size(); ++i) {
        INFO("row " << i << ": " << rows[i].a << ", " << rows[i].b << " -> SMOE " << smoe[i]);
        CHECK(std::lround(smoe[i] * 1000.0) == rows[i].smoe_thousandths);
        CHECK(mean[i] == Approx(rows[i].mean).epsilon(1e-6));
        CHECK(stddev[i] == Approx(rows[i].std).epsilon(1e-6));
    }
    // The exact value behind 0.064: 0.75 * (log2 0.75 + 0.5), eps 1e-6.
    CHECK(smoe[0] == Approx(0.75 * (std::log2(0.75) + 0.5)).epsilon(1e-5));
}

TEST_CASE("each statistic agrees with an independent double computation", "[statistics]") {
    std::mt19937 rng(7);
    std::gamma_distribution<double> gamma(1.5, 0.8);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int trial = 0; trial < 20; ++trial) {
        const int channels = 3 + trial * 7;
        std::vector<double> x, z;  // post-ReLU-like (with zeros) and pre-activation
        const double shift = -1.5 + 0.15 * trial;
        for (int c = 0; c < channels; ++c) {
            x.push_back(c % 4 == 0 ? 0.0 : gamma(rng));
            z.push_back(shift + 0.7 * normal(rng));
        }
        // the library reads floats; use the float-rounded values in the references too
        for (double& v : x) v = static_cast<float>(v);
        for (double& v : z) v = static_cast<float>(v);
        INFO("trial " << trial << ", " << channels << " channels");
        const double eps = 1e-6;
        const std::vector<double> v = plus_eps(x, eps);

        const double m = mean_of(x);
        CHECK(reduce_one(Statistic::Mean, x) == Approx(m).epsilon(1e-6));
        CHECK(reduce_one(Statistic::Std, x) == Approx(std::sqrt(population_variance(x))).epsilon(1e-6));
        CHECK(reduce_one(Statistic::Max, x) == Approx(*std::max_element(x.begin(), x.end())));

        double mean_log2 = 0;
        for (double value : v) mean_log2 += std::log2(value) / v.size();
        const double smoe = mean_of(v) * (std::log2(mean_of(v)) - mean_log2);
        CHECK(reduce_one(Statistic::Smoe, x) == Approx(smoe).epsilon(1e-5));

        const double total = std::accumulate(v.begin(), v.end(), 0.0);
        double shannon = 0;
        for (double value : v) shannon += -(value / total) * std::log2(value / total);
        CHECK(reduce_one(Statistic::Shannon, x) == Approx(shannon).epsilon(1e-6));

        std::vector<double> logs;
        for (double value : v) logs.push_back(std::log(value));
        const double mu = mean_of(logs), s2 = population_variance(logs);
        CHECK(reduce_one(Statistic::LogNormalMean, x) == Approx(std::exp(mu + s2 / 2)).epsilon(1e-6));
        CHECK(reduce_one(Statistic::LogNormalEntropy, x) ==
              Approx(mu + 0.5 * std::log(2 * kPi * std::exp(1.0) * s2)).epsilon(1e-6).margin(1e-6));

        const TruncatedMoments t = truncated_by_integration(mean_of(z), std::sqrt(population_variance(z)));
        CHECK(reduce_one(Statistic::TruncNormalMean, z) == Approx(t.mean).epsilon(1e-6));
        CHECK(reduce_one(Statistic::TruncNormalStd, z) == Approx(t.stddev).epsilon(1e-6));
        CHECK(reduce_one(Statistic::TruncNormalEntropy, z) == Approx(t.entropy).epsilon(1e-6).margin(1e-6));

        CHECK(reduce_one(Statistic::GammaScale, x) == Approx(gamma_scale_by_likelihood(v)).epsilon(1e-6));
    }
}

TEST_CASE("degenerate columns have the documented values", "[statistics]") {
    const std::vector<double> zeros(16, 0.0), twos(16, 2.0);
    CHECK(reduce_one(Statistic::Smoe, zeros) == 0.0f);
    CHECK(reduce_one(Statistic::Smoe, twos) == Approx(0.0).margin(1e-6));
    CHECK(reduce_one(Statistic::Shannon, zeros) == Approx(4.0));  // uniform over 16 channels
    CHECK(reduce_one(Statistic::GammaScale, twos) == Approx(0.0).margin(1e-12));  // 0 up to rounding of s
    CHECK(reduce_one(Statistic::Std, twos) == 0.0f);
    // log-normal entropy floors the log variance at eps^2: ln(2) + 0.5 ln(2 pi e 1e-12)
    CHECK(reduce_one(Statistic::LogNormalEntropy, twos) ==
          Approx(std::log(2.0 + 1e-6) + 0.5 * std::log(2 * kPi * std::exp(1.0) * 1e-12)).epsilon(1e-6));
    // a constant pre-activation column: sigma floored at eps, so the truncated mean is ~mu
    CHECK(reduce_one(Statistic::TruncNormalMean, twos) == Approx(2.0).epsilon(1e-6));
    // far below zero: the truncated normal sits just above 0 with mean ~ sigma/|alpha|
    const std::vector<double> far_negative = alternating(-10.0, -10.2);  // mu -10.1, sigma 0.1
    CHECK(reduce_one(Statistic::TruncNormalMean, far_negative) == Approx(0.1 / 101.0).epsilon(1e-3));
    CHECK(reduce_one(Statistic::TruncNormalStd, far_negative) == Approx(0.1 / 101.0).epsilon(1e-3));
}

TEST_CASE("invalid activations are reported with counts and shape", "[statistics]") {
    std::vector<float> tap(256 * 3136, 0.5f);
    tap[5] = -1.0f;
    tap[700] = -0.25f;
    tap[256 * 3136 - 1] = -3.0f;
    std::vector<float> out(3136);
    CHECK_THROWS_AS(reduce_channels(Statistic::Smoe, tap.data(), 256, 3136, out.data()), std::domain_error);
    CHECK_THROWS_WITH(reduce_channels(Statistic::Smoe, tap.data(), 256, 3136, out.data()),
                      "SMOE Scale needs finite non-negative activations: found 3 negative values, 0 NaN "
                      "and 0 infinite values in a [256 x 3136] tap");
    CHECK_THROWS_WITH(reduce_channels(Statistic::Shannon, tap.data(), 256, 3136, out.data()),
                      "Shannon entropy needs finite non-negative activations: found 3 negative values, 0 "
                      "NaN and 0 infinite values in a [256 x 3136] tap");
    // Statistics that accept negative values still run.
    CHECK_NOTHROW(reduce_channels(Statistic::Std, tap.data(), 256, 3136, out.data()));
    CHECK_NOTHROW(reduce_channels(Statistic::TruncNormalMean, tap.data(), 256, 3136, out.data()));
    tap[9] = std::nanf("");
    CHECK_THROWS_WITH(reduce_channels(Statistic::Std, tap.data(), 256, 3136, out.data()),
                      "standard deviation needs finite activations: found 1 NaN and 0 infinite values "
                      "in a [256 x 3136] tap");
    CHECK_THROWS_WITH(reduce_channels(Statistic::GammaScale, tap.data(), 256, 3136, out.data()),
                      "Gamma scale needs finite non-negative activations: found 3 negative values, 1 NaN "
                      "and 0 infinite values in a [256 x 3136] tap");
}

TEST_CASE("bad arguments name what was expected", "[statistics]") {
    std::vector<float> tap(8, 1.0f), out(8);
    StatisticOptions options;
    options.eps = 0.0;
    CHECK_THROWS_WITH(reduce_channels(Statistic::Smoe, tap.data(), 2, 4, out.data(), options),
                      Catch::Contains("SMOE Scale needs a finite eps >= 1.17549e-38") &&
                          Catch::Contains("got 0"));
    CHECK_NOTHROW(reduce_channels(Statistic::Mean, tap.data(), 2, 4, out.data(), options));
    CHECK_THROWS_AS(reduce_channels(Statistic::Mean, tap.data(), 0, 4, out.data()), std::invalid_argument);
}

TEST_CASE("SMOE Scale orders pixels as the Gamma ML scale does", "[statistics][paper]") {
    // Eqs. 10-15: for a fixed column mean both are increasing functions of
    // s = ln(mean) - mean(ln x) (SMOE = mean s / ln 2, Gamma = mean / k(s) with k decreasing),
    // so columns of equal mean must be sorted identically.
    std::mt19937 rng(2020);
    std::uniform_real_distribution<double> shape_of(0.3, 5.0);
    const int pixels = 500, channels = 64;
    std::vector<std::vector<double>> columns;
    for (int p = 0; p < pixels; ++p) {
        std::gamma_distribution<double> gamma(shape_of(rng), 1.0);
        std::vector<double> column;
        for (int c = 0; c < channels; ++c) column.push_back(gamma(rng));
        const double m = mean_of(column);
        for (double& v : column) v /= m;  // mean 1 (up to float rounding)
        columns.push_back(column);
    }
    const std::vector<float> tap = tap_from_columns(columns);
    std::vector<float> smoe(pixels), scale(pixels);
    reduce_channels(Statistic::Smoe, tap.data(), channels, pixels, smoe.data());
    reduce_channels(Statistic::GammaScale, tap.data(), channels, pixels, scale.data());
    std::vector<int> by_smoe(pixels), by_scale(pixels);
    std::iota(by_smoe.begin(), by_smoe.end(), 0);
    std::iota(by_scale.begin(), by_scale.end(), 0);
    std::sort(by_smoe.begin(), by_smoe.end(), [&](int a, int b) { return smoe[a] < smoe[b]; });
    std::sort(by_scale.begin(), by_scale.end(), [&](int a, int b) { return scale[a] < scale[b]; });
    CHECK(by_smoe == by_scale);
    // the data spans a wide range of shapes, so the test is not trivially satisfied
    CHECK(*std::max_element(smoe.begin(), smoe.end()) > 4 * *std::min_element(smoe.begin(), smoe.end()));
}

TEST_CASE("SMOE Scale and Gamma scale rank varied random data nearly alike", "[statistics][paper]") {
    // With column means that differ, SMOE (mean s) and Gamma (mean / k(s)) are not exact
    // functions of each other (1/k(s) ~ 2s for small s, ~ s for large s): the paper's order
    // equivalence holds approximately. Measured here: Kendall tau 0.92, top-10% sets 94% equal.
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> shape_of(0.3, 5.0), scale_of(0.5, 2.0);
    const int pixels = 500, channels = 64;
    std::vector<std::vector<double>> columns;
    for (int p = 0; p < pixels; ++p) {
        std::gamma_distribution<double> gamma(shape_of(rng), scale_of(rng));
        std::vector<double> column;
        for (int c = 0; c < channels; ++c) column.push_back(gamma(rng));
        columns.push_back(column);
    }
    const std::vector<float> tap = tap_from_columns(columns);
    std::vector<float> smoe(pixels), scale(pixels);
    reduce_channels(Statistic::Smoe, tap.data(), channels, pixels, smoe.data());
    reduce_channels(Statistic::GammaScale, tap.data(), channels, pixels, scale.data());
    long concordant = 0, discordant = 0;
    for (int i = 0; i < pixels; ++i)
        for (int j = i + 1; j < pixels; ++j) ((smoe[i] - smoe[j]) * (scale[i] - scale[j]) > 0 ? concordant : discordant)++;
    const double tau = double(concordant - discordant) / (concordant + discordant);
    auto top = [&](const std::vector<float>& map) {
        std::vector<int> index(pixels);
        std::iota(index.begin(), index.end(), 0);
        std::sort(index.begin(), index.end(), [&](int a, int b) { return map[a] > map[b]; });
        index.resize(pixels / 10);
        std::sort(index.begin(), index.end());
        return index;
    };
    const std::vector<int> top_smoe = top(smoe), top_scale = top(scale);
    std::vector<int> common;
    std::set_intersection(top_smoe.begin(), top_smoe.end(), top_scale.begin(), top_scale.end(),
                          std::back_inserter(common));
    const double overlap = double(common.size()) / top_smoe.size();
    INFO("Kendall tau " << tau << ", top-10% overlap " << overlap);
    CHECK(tau > 0.9);
    CHECK(overlap >= 0.9);
}
