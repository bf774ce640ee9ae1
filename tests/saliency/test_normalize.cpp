#include "saliency/Normalize.hpp"
#include "saliency/SpecialFunctions.hpp"

#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace satsal;

namespace {
Map map_of(const std::vector<float>& values) {
    Map map(static_cast<int64_t>(values.size()), 1);
    map.values = values;
    return map;
}
}  // namespace

TEST_CASE("normalization names", "[normalize]") {
    CHECK(parse_normalization("gauss") == Normalization::Gauss);
    CHECK(parse_normalization("gamma") == Normalization::Gamma);
    CHECK(parse_normalization("gamma-moments") == Normalization::GammaMoments);
    CHECK(parse_normalization("range") == Normalization::Range);
    CHECK(normalization_names() == std::vector<std::string>{"gauss", "gamma", "gamma-moments", "range"});
    for (const std::string& name : normalization_names()) {
        CHECK(normalization_name(parse_normalization(name)) == name);
    }
    CHECK_THROWS_WITH(parse_normalization("minmax"),
                      "unknown normalization 'minmax'; valid choices are: gauss gamma gamma-moments range");
    CHECK(normalization_needs_shifted_logs(Normalization::Gamma));
    CHECK_FALSE(normalization_needs_shifted_logs(Normalization::GammaMoments));
    CHECK_FALSE(normalization_needs_shifted_logs(Normalization::Gauss));
}

TEST_CASE("gauss normalization is the normal CDF with the map's mean and population std", "[normalize]") {
    Map map = map_of({1, 3, 1, 3});  // mean 2, population std 1
    normalize(Normalization::Gauss, map);
    CHECK(map.values[0] == Approx(0.1586553).epsilon(1e-6));
    CHECK(map.values[1] == Approx(0.8413447).epsilon(1e-6));
    // with statistics from elsewhere: the mean maps to 0.5, mean + sigma to 0.8413447
    Map probe = map_of({2, 3, 0});
    normalize_with(Normalization::Gauss, moments(map_of({1, 3, 1, 3})), probe);
    CHECK(probe.values[0] == 0.5f);
    CHECK(probe.values[1] == Approx(0.8413447).epsilon(1e-6));
    CHECK(probe.values[2] == Approx(0.0227501).epsilon(1e-5));
    Map constant = map_of({4, 4, 4});
    normalize(Normalization::Gauss, constant);
    CHECK(constant.values == std::vector<float>{0.5f, 0.5f, 0.5f});
}

TEST_CASE("gamma-moments normalization uses method-of-moments shape and scale", "[normalize]") {
    const float d = static_cast<float>(std::sqrt(2.0));
    Map map = map_of({2 - d, 2 + d, 2 - d, 2 + d});  // mean 2, variance 2: k = 2, theta = 1
    const MapMoments stats = moments(map);
    normalize(Normalization::GammaMoments, map);
    auto p2 = [](double x) { return 1 - (1 + x) * std::exp(-x); };
    CHECK(map.values[0] == Approx(p2(2 - std::sqrt(2.0))).epsilon(1e-5));
    CHECK(map.values[1] == Approx(p2(2 + std::sqrt(2.0))).epsilon(1e-5));
    Map probe = map_of({-1, 0, 1, 2, 10, 60});
    normalize_with(Normalization::GammaMoments, stats, probe);
    CHECK(probe.values[0] == 0.0f);
    CHECK(probe.values[1] == 0.0f);
    CHECK(probe.values[3] == Approx(p2(2)).epsilon(1e-5));
    CHECK(probe.values[4] == Approx(p2(10)).epsilon(1e-5));
    CHECK(probe.values[5] == 1.0f);
    Map negative = map_of({-3, -1, 0});
    CHECK_THROWS_AS(normalize(Normalization::GammaMoments, negative), std::domain_error);
    Map constant = map_of({4, 4});
    normalize(Normalization::GammaMoments, constant);
    CHECK(constant.values == std::vector<float>{0.5f, 0.5f});
}

TEST_CASE("range normalization", "[normalize]") {
    Map map = map_of({2, 4, 6, 3});
    normalize(Normalization::Range, map);
    CHECK(map.values == std::vector<float>{0.0f, 0.5f, 1.0f, 0.25f});
    Map constant = map_of({7, 7});
    normalize(Normalization::Range, constant);
    CHECK(constant.values == std::vector<float>{0.0f, 0.0f});
}

TEST_CASE("NaN is nodata: skipped by the moments, kept by normalization", "[normalize]") {
    Map map = map_of({1, NAN, 3, 1, 3});
    const MapMoments stats = moments(map);
    CHECK(stats.count == 4);
    CHECK(stats.mean() == 2.0);
    CHECK(stats.stddev() == 1.0);
    normalize(Normalization::Gauss, map);
    CHECK(std::isnan(map.values[1]));
    CHECK(map.values[2] == Approx(0.8413447).epsilon(1e-6));
    Map empty = map_of({NAN});
    CHECK_THROWS_AS(normalize(Normalization::Gauss, empty), std::invalid_argument);
}

TEST_CASE("map moments merge in any order and survive a large offset", "[normalize]") {
    // 1e9 + (i mod 10): the variance of 0..9 is 8.25; sum-of-squares formulas lose it entirely.
    MapMoments welford;
    for (int i = 0; i < 100000; ++i) welford.add(1e9 + i % 10);
    CHECK(welford.mean() == Approx(1e9 + 4.5).epsilon(1e-14));
    CHECK(welford.variance() == Approx(8.25).epsilon(1e-9));

    std::mt19937 rng(3);
    std::normal_distribution<float> normal(1e6f, 3.0f);
    std::vector<float> values(300001);
    for (float& v : values) v = normal(rng);
    MapMoments whole;
    whole.add_values(values.data(), static_cast<int64_t>(values.size()));
    MapMoments blocks, partial;
    for (std::size_t start = 0; start < values.size(); start += 4099) {
        const std::size_t n = std::min<std::size_t>(4099, values.size() - start);
        MapMoments block;
        block.add_values(values.data() + start, static_cast<int64_t>(n));
        if (start % 2) blocks.merge(block); else partial.merge(block);
    }
    blocks.merge(partial);
    double mean = 0;
    for (float v : values) mean += v;
    mean /= values.size();
    double m2 = 0;
    for (float v : values) m2 += (v - mean) * (v - mean);
    CHECK(blocks.count == whole.count);
    CHECK(blocks.mean() == Approx(mean).epsilon(1e-14));
    CHECK(blocks.variance() == Approx(m2 / values.size()).epsilon(1e-10));
    CHECK(whole.variance() == Approx(m2 / values.size()).epsilon(1e-10));
    CHECK(blocks.min == whole.min);
    CHECK(blocks.max == whole.max);
}

// ------------------------------------------------------------------------------------------
// gamma: the reference implementation's fit (LLNL/fastcam GammaNorm2D) with a correct CDF.

namespace {

// An independent solve of the same fit in long double: the shape is the root of
// ln k - psi(k) = s found by bisection on Boost's long double digamma (no Newton, none of
// satsal's special functions), then clamped to [1e-7, 18] as the reference does.
struct ReferenceFit {
    long double shift, s, shape, scale;
};

ReferenceFit independent_fit(const std::vector<float>& values) {
    long double min = INFINITY;
    for (float v : values) {
        if (!std::isnan(v)) min = std::min<long double>(min, v);
    }
    long double sum = 0, log_sum = 0;
    long double n = 0;
    for (float v : values) {
        if (std::isnan(v)) continue;
        const long double y_eps = (v - min) + 1e-7L + 1e-7L;
        sum += y_eps;
        log_sum += std::log(y_eps);
        n += 1;
    }
    const long double mean = sum / n;
    const long double s = std::log(mean) - log_sum / n;
    long double low = 1e-12L, high = 1e12L;  // ln k - psi(k) decreases from +inf to 0
    for (int i = 0; i < 200; ++i) {
        const long double mid = std::sqrt(low * high);
        if (std::log(mid) - boost::math::digamma(mid) > s) low = mid; else high = mid;
    }
    const long double k = std::clamp(std::sqrt(low * high), 1e-7L, 18.0L);
    return {min - 1e-7L, s, k, mean / k};
}

// Pixels sorted by raw value: a strictly larger raw value never gets a smaller normalized one,
// and equal raw values get equal normalized ones. Returns the number of violations.
int order_violations(const std::vector<float>& raw, const std::vector<float>& normalized) {
    std::vector<std::size_t> order(raw.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return raw[a] < raw[b]; });
    int violations = 0;
    for (std::size_t i = 1; i < order.size(); ++i) {
        const float r0 = raw[order[i - 1]], r1 = raw[order[i]];
        const float v0 = normalized[order[i - 1]], v1 = normalized[order[i]];
        if ((r1 > r0 && v1 < v0) || (r1 == r0 && v1 != v0)) ++violations;
    }
    return violations;
}

// fastcam's CDF: x^k e^-x sum_{n<8} x^n / Gamma(k + n + 1), the truncated series whose collapse
// for large x is the bug the correct P(k, x) fixes.
double eight_term_series(double k, double x) {
    double sum = 0.0;
    for (int n = 0; n < 8; ++n) sum += std::pow(x, n) / std::tgamma(k + n + 1);
    return std::pow(x, k) * std::exp(-x) * sum;
}

std::vector<float> read_floats(const std::string& path, std::size_t count) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::vector<float> values(count);
    in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(count * sizeof(float)));
    REQUIRE(in.gcount() == static_cast<std::streamsize>(count * sizeof(float)));
    CHECK(in.peek() == std::ifstream::traits_type::eof());
    return values;
}

}  // namespace

TEST_CASE("gamma fit: minimum shift and maximum-likelihood shape against an independent solve", "[normalize][gamma]") {
    std::mt19937 rng(11);
    // (shape, scale, offset): small, medium and large shapes; the last with one value at 0, far
    // below the bulk, so that the shifted map is concentrated (s ~ 0.005) and k hits the cap of 18
    const double cases[][3] = {{0.2, 3.0, 0.0}, {2.3, 0.7, 3.0}, {11.0, 0.05, 100.0}, {400.0, 0.01, 2.0}};
    for (const auto& c : cases) {
        INFO("Gamma(" << c[0] << ", " << c[1] << ") + " << c[2]);
        std::gamma_distribution<double> gamma(c[0], c[1]);
        std::vector<float> values(4000);
        for (float& v : values) v = static_cast<float>(c[2] + gamma(rng));
        values[17] = NAN;  // nodata is skipped
        if (c[0] > 18) values[5] = 0.0f;
        Map map = map_of(values);
        const GammaFit fit = fit_gamma(moments(map, Normalization::Gamma));
        const ReferenceFit ref = independent_fit(values);
        CHECK(fit.shift == Approx(static_cast<double>(ref.shift)).epsilon(1e-15));
        CHECK(fit.s == Approx(static_cast<double>(ref.s)).epsilon(1e-10));
        CHECK(fit.shape == Approx(static_cast<double>(ref.shape)).epsilon(1e-10));
        CHECK(fit.scale == Approx(static_cast<double>(ref.scale)).epsilon(1e-10));
        if (c[0] > 18) {
            CHECK(fit.shape == 18.0);
            CHECK(fit.s < 0.01);
        }
        normalize(Normalization::Gamma, map);
        CHECK(std::isnan(map.values[17]));
        double worst = 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (std::isnan(values[i])) continue;
            const long double x = (values[i] - ref.shift) / ref.scale;
            worst = std::max(worst, std::fabs(map.values[i] - static_cast<double>(boost::math::gamma_p(ref.shape, x))));
        }
        CHECK(worst < 1e-6);
        CHECK(order_violations(values, map.values) == 0);
    }
}

TEST_CASE("gamma normalization keeps the raw order far in the tail (x/theta > 20)", "[normalize][gamma]") {
    std::mt19937 rng(5);
    std::gamma_distribution<double> gamma(3.0, 1.0);
    // The tail is a few pixels, so it barely moves the fit (theta ~ 1): x/theta from ~40 to ~2000.
    std::vector<float> values(20000);
    for (float& v : values) v = static_cast<float>(gamma(rng));
    const std::vector<float> tail = {40, 55, 80, 120, 200, 400, 1000, 2000};
    values.insert(values.end(), tail.begin(), tail.end());
    Map map = map_of(values);
    const GammaFit fit = fit_gamma(moments(map, Normalization::Gamma));
    const double largest = (values.back() - fit.shift) / fit.scale;
    const double first_tail = (tail.front() - fit.shift) / fit.scale;
    CHECK(first_tail > 20.0);
    // The reference's 8-term series turns down here (this is what the test guards against)...
    CHECK(eight_term_series(fit.shape, first_tail * 2) < eight_term_series(fit.shape, first_tail));
    CHECK(eight_term_series(fit.shape, largest) < 1e-6);
    // ...the correct CDF does not: non-decreasing everywhere and 1 at the far end.
    normalize(Normalization::Gamma, map);
    CHECK(order_violations(values, map.values) == 0);
    CHECK(map.values.back() == 1.0f);
    for (std::size_t i = values.size() - tail.size(); i < values.size(); ++i) {
        CHECK(map.values[i] > 0.99f);
    }
}

TEST_CASE("gamma normalization agrees with fastcam's formulas with the CDF fixed on ResNet-50 maps", "[normalize][gamma]") {
    // tests/fixtures/gamma from tools/make_gamma_fixture.py (PyTorch, float64): 2 inputs x 5 layers.
    const std::string dir = std::string(SATSAL_FIXTURES_DIR) + "/gamma/";
    std::ifstream manifest(dir + "manifest.txt");
    REQUIRE(manifest.good());
    struct Entry {
        int input, layer;
        int64_t width, height;
        double s, k, theta;
    };
    std::vector<Entry> entries;
    std::size_t total = 0;
    for (std::string line; std::getline(manifest, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        Entry e{};
        REQUIRE(static_cast<bool>(fields >> e.input >> e.layer >> e.width >> e.height >> e.s >> e.k >> e.theta));
        entries.push_back(e);
        total += static_cast<std::size_t>(e.width * e.height);
    }
    REQUIRE(entries.size() == 10);
    const std::vector<float> raw = read_floats(dir + "raw.f32", total);
    const std::vector<float> expected = read_floats(dir + "gamma.f32", total);
    std::size_t offset = 0;
    for (const Entry& e : entries) {
        INFO("input " << e.input << " layer L" << e.layer << " (" << e.width << "x" << e.height << ")");
        const std::size_t n = static_cast<std::size_t>(e.width * e.height);
        Map map(e.width, e.height);
        map.values.assign(raw.begin() + offset, raw.begin() + offset + n);
        const GammaFit fit = fit_gamma(moments(map, Normalization::Gamma));
        CHECK(fit.s == Approx(e.s).epsilon(1e-9));
        CHECK(fit.shape == Approx(e.k).epsilon(1e-9));
        CHECK(fit.scale == Approx(e.theta).epsilon(1e-9));
        const std::vector<float> layer_raw = map.values;
        normalize(Normalization::Gamma, map);
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i) {
            worst = std::max(worst, std::fabs(static_cast<double>(map.values[i]) - expected[offset + i]));
        }
        INFO("max |satsal - reference| = " << worst);
        CHECK(worst < 1e-3);  // the bound; float rounding of the output is what remains
        CHECK(worst < 1e-6);
        CHECK(order_violations(layer_raw, map.values) == 0);
        offset += n;
    }
}

TEST_CASE("gamma normalization with scene statistics: moments and shifted logs block by block", "[normalize][gamma]") {
    std::mt19937 rng(8);
    std::gamma_distribution<double> gamma(1.7, 2.0);
    std::vector<float> values(50000);
    for (float& v : values) v = static_cast<float>(5.0 + gamma(rng));
    for (std::size_t i = 0; i < values.size(); i += 97) values[i] = NAN;
    Map whole = map_of(values);
    normalize(Normalization::Gamma, whole);

    MapMoments scene;
    const int64_t block = 4096;
    const int64_t n = static_cast<int64_t>(values.size());
    for (int64_t start = 0; start < n; start += block) {
        scene.add_values(values.data() + start, std::min(block, n - start));
    }
    // normalizing before the shifted logs are taken is an error, not a silent other fit
    std::vector<float> probe = values;
    CHECK_THROWS_WITH(normalize_values(Normalization::Gamma, scene, probe.data(), n),
                      Catch::Contains("needs the shifted logs") && Catch::Contains("have 0 of"));
    for (int64_t start = 0; start < n; start += block) {
        scene.add_shifted_logs(values.data() + start, std::min(block, n - start));
    }
    CHECK(scene.log_count == scene.count);
    CHECK_THROWS_AS(scene.add_values(values.data(), 10), std::logic_error);
    CHECK_THROWS_AS(scene.merge(MapMoments{}), std::logic_error);
    for (int64_t start = 0; start < n; start += block) {
        normalize_values(Normalization::Gamma, scene, probe.data() + start, std::min(block, n - start));
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (std::isnan(values[i])) {
            CHECK(std::isnan(probe[i]));
        } else if (std::fabs(probe[i] - whole.values[i]) > 1e-6f) {
            FAIL("pixel " << i << ": blocks " << probe[i] << " vs whole map " << whole.values[i]);
        }
    }
    // values below the scene minimum (another window's statistics) map to 0, not NaN
    float below[] = {scene.min > 1 ? static_cast<float>(scene.min - 1) : -1.0f};
    normalize_values(Normalization::Gamma, scene, below, 1);
    CHECK(below[0] == 0.0f);
    // logs of values below the minimum mean the moments came from other values
    MapMoments other = moments(map_of({2, 3}));
    const float lower[] = {1.0f};
    CHECK_THROWS_AS(other.add_shifted_logs(lower, 1), std::invalid_argument);
}

TEST_CASE("gamma normalization of a constant map is 0, as in the reference", "[normalize][gamma]") {
    Map constant = map_of({4, NAN, 4, 4});
    normalize(Normalization::Gamma, constant);
    CHECK(constant.values[0] == 0.0f);
    CHECK(std::isnan(constant.values[1]));
    CHECK(constant.values[3] == 0.0f);
    CHECK_THROWS_AS(fit_gamma(moments(map_of({4, 4}), Normalization::Gamma)), std::invalid_argument);
    // negative statistics are fine: the fit works on x - min
    Map negative = map_of({-3, -1, 0, -2.5});
    normalize(Normalization::Gamma, negative);
    CHECK(order_violations({-3, -1, 0, -2.5}, negative.values) == 0);
    CHECK(negative.values[0] < negative.values[3]);
}
