#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <vector>

#include "tiling/Seams.hpp"

using namespace satsal;

namespace {

Map make_map(int64_t w, int64_t h, std::vector<float> values) {
    Map m(w, h);
    m.values = std::move(values);
    return m;
}

}  // namespace

TEST_CASE("max_seam_error is max |tiled - whole| over max |whole|", "[tiling][seams]") {
    const Map whole = make_map(2, 2, {1.0f, -4.0f, 2.0f, 0.0f});
    const Map tiled = make_map(2, 2, {1.0f, -3.875f, 2.0f, 0.25f});
    REQUIRE(max_seam_error(tiled, whole) == Approx(0.25 / 4.0).epsilon(1e-12));
    REQUIRE(max_seam_error(whole, whole) == 0.0);

    const Map zeros(2, 2, 0.0f);
    REQUIRE(max_seam_error(zeros, zeros) == 0.0);
    REQUIRE(std::isinf(max_seam_error(tiled, zeros)));

    REQUIRE_THROWS_WITH(max_seam_error(Map(3, 2), whole),
                        "seam error: tiled map is 3 x 2 but the whole-window map is 2 x 2");
    Map bad = tiled;
    bad.at(1, 1) = std::numeric_limits<float>::quiet_NaN();
    REQUIRE_THROWS_WITH(max_seam_error(bad, whole),
                        "seam error: pixel (1, 1) is not finite (tiled nan, whole 0.000000)");
}

TEST_CASE("choose_margin picks the smallest margin within tolerance and stops there", "[tiling][seams]") {
    // Per-layer errors shaped like the measured ResNet-50 measurements (L1..L5).
    const std::map<int64_t, std::vector<double>> table{
        {32, {0, 7.5e-5, 1.3e-2, 1.3e-1, 2.6e-1}},
        {64, {0, 4.2e-5, 1.1e-4, 2.7e-2, 6.8e-2}},
        {96, {0, 7.5e-5, 1.3e-4, 4.1e-3, 1.8e-2}},
        {128, {0, 0, 8.0e-5, 2.5e-4, 6.8e-3}},
        {160, {0, 0, 0, 1e-4, 1e-3}},
    };
    std::vector<int64_t> calls;
    auto fake = [&](int64_t margin) {
        calls.push_back(margin);
        return table.at(margin);
    };

    const MarginChoice choice = choose_margin({160, 32, 128, 64, 96}, fake);
    REQUIRE(choice.margin == 128);
    REQUIRE(choice.tolerance == 0.01);
    REQUIRE(calls == std::vector<int64_t>{32, 64, 96, 128});  // 160 never run
    REQUIRE(choice.measured.size() == 4);
    REQUIRE(choice.measured[1].margin == 64);
    REQUIRE(choice.measured[1].errors == table.at(64));
    REQUIRE(choice.measured[1].worst() == 6.8e-2);
    REQUIRE(choice.measured.back().worst() == 6.8e-3);

    calls.clear();
    REQUIRE(choose_margin({32, 64, 96, 128}, fake, 0.02).margin == 96);
    REQUIRE(choose_margin({32, 64}, fake, 0.5).margin == 32);
    // Exactly at the tolerance counts as good.
    REQUIRE(choose_margin({64, 96}, fake, 0.068).margin == 64);
}

TEST_CASE("choose_margin reports what it measured when nothing is good enough", "[tiling][seams]") {
    auto fake = [](int64_t margin) { return std::vector<double>{margin == 32 ? 0.25 : 0.125}; };
    REQUIRE_THROWS_WITH(choose_margin({64, 32}, fake, 0.01),
                        "margin = auto: no candidate margin reaches seam_tolerance 0.01 (worst layer "
                        "error per margin: 32 -> 0.25 64 -> 0.125); add a larger margin candidate or "
                        "raise seam_tolerance");
    REQUIRE_THROWS_WITH(choose_margin({}, fake), "margin = auto: no candidate margins given");
    REQUIRE_THROWS_WITH(choose_margin({32}, fake, 0.0),
                        "seam_tolerance 0.000000 must be a positive number");
    REQUIRE_THROWS_WITH(choose_margin({-32, 32}, fake), "margin = auto: candidate margin -32 is negative");
    auto broken = [](int64_t) { return std::vector<double>{std::nan("")}; };
    REQUIRE_THROWS_AS(choose_margin({32}, broken), std::invalid_argument);
}
