#include "saliency/Normalize.hpp"
#include "saliency/SpecialFunctions.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <stdexcept>
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
    CHECK(normalization_name(parse_normalization("gamma")) == "gamma");
    CHECK(normalization_name(parse_normalization("range")) == "range");
    CHECK_THROWS_WITH(parse_normalization("minmax"),
                      "unknown normalization 'minmax'; valid choices are: gauss gamma range");
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

TEST_CASE("gamma normalization uses method-of-moments shape and scale", "[normalize]") {
    const float d = static_cast<float>(std::sqrt(2.0));
    Map map = map_of({2 - d, 2 + d, 2 - d, 2 + d});  // mean 2, variance 2: k = 2, theta = 1
    const MapMoments stats = moments(map);
    normalize(Normalization::Gamma, map);
    auto p2 = [](double x) { return 1 - (1 + x) * std::exp(-x); };
    CHECK(map.values[0] == Approx(p2(2 - std::sqrt(2.0))).epsilon(1e-5));
    CHECK(map.values[1] == Approx(p2(2 + std::sqrt(2.0))).epsilon(1e-5));
    Map probe = map_of({-1, 0, 1, 2, 10, 60});
    normalize_with(Normalization::Gamma, stats, probe);
    CHECK(probe.values[0] == 0.0f);
    CHECK(probe.values[1] == 0.0f);
    CHECK(probe.values[3] == Approx(p2(2)).epsilon(1e-5));
    CHECK(probe.values[4] == Approx(p2(10)).epsilon(1e-5));
    CHECK(probe.values[5] == 1.0f);
    Map negative = map_of({-3, -1, 0});
    CHECK_THROWS_AS(normalize(Normalization::Gamma, negative), std::domain_error);
    Map constant = map_of({4, 4});
    normalize(Normalization::Gamma, constant);
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
