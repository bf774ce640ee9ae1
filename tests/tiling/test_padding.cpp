#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tiling/Padding.hpp"

using namespace satsal;

namespace {

std::vector<float> band(const PaddedWindow& w, int64_t b) {
    const int64_t plane = w.window.width * w.window.height;
    return std::vector<float>(w.values.begin() + b * plane, w.values.begin() + (b + 1) * plane);
}

}  // namespace

TEST_CASE("parse_pad accepts the three rules and names the bad value", "[tiling][pad]") {
    REQUIRE(parse_pad("reflect") == PadRule::reflect);
    REQUIRE(parse_pad("mean") == PadRule::mean);
    REQUIRE(parse_pad("zero") == PadRule::zero);
    REQUIRE(to_string(PadRule::mean) == "mean");
    REQUIRE_THROWS_WITH(parse_pad("symmetric"), "pad 'symmetric' is not one of reflect, mean, zero");
    REQUIRE_THROWS_AS(parse_pad("Reflect"), std::invalid_argument);
}

TEST_CASE("reflect_index follows numpy.pad(mode='reflect'), also for huge overhangs", "[tiling][pad]") {
    // numpy.pad([1, 2, 3], (5, 5), 'reflect') == [2 1 2 3 2 1 2 3 2 1 2 3 2]  (values = index + 1)
    const std::vector<int64_t> n3{1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1};
    for (int64_t i = -5; i <= 7; ++i) REQUIRE(reflect_index(i, 3) == n3[static_cast<size_t>(i + 5)]);
    // numpy.pad([1, 2], (3, 3), 'reflect') == [2 1 2 1 2 1 2 1]
    const std::vector<int64_t> n2{1, 0, 1, 0, 1, 0, 1, 0};
    for (int64_t i = -3; i <= 4; ++i) REQUIRE(reflect_index(i, 2) == n2[static_cast<size_t>(i + 3)]);
    // numpy.pad([7], 2, 'reflect') == [7 7 7 7 7]
    for (int64_t i = -2; i <= 2; ++i) REQUIRE(reflect_index(i, 1) == 0);
    // numpy.pad([1, 2, 3, 4], (2, 3), 'reflect') == [3 2 1 2 3 4 3 2 1]
    const std::vector<int64_t> n4{2, 1, 0, 1, 2, 3, 2, 1, 0};
    for (int64_t i = -2; i <= 6; ++i) REQUIRE(reflect_index(i, 4) == n4[static_cast<size_t>(i + 2)]);
}

TEST_CASE("reflect pads a tiny 2-band array like numpy", "[tiling][pad]") {
    // Scene 3 x 2: band 0 = [[1,2,3],[4,5,6]], band 1 = 10 x band 0.
    const std::vector<float> data{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
    const Window scene{0, 0, 3, 2};
    const PadPlan plan = plan_padded_window(Window{-2, -1, 7, 4}, scene, PadRule::reflect);
    REQUIRE(plan.clipped == scene);
    REQUIRE(plan.source == scene);
    const PaddedWindow out = pad_window(plan, PlanarView{data.data(), 2, scene});
    // numpy.pad(a, ((1, 1), (2, 2)), 'reflect')
    const std::vector<float> expected{6, 5, 4, 5, 6, 5, 4,  //
                                      3, 2, 1, 2, 3, 2, 1,  //
                                      6, 5, 4, 5, 6, 5, 4,  //
                                      3, 2, 1, 2, 3, 2, 1};
    REQUIRE(out.bands == 2);
    REQUIRE(out.window == Window{-2, -1, 7, 4});
    REQUIRE(band(out, 0) == expected);
    std::vector<float> expected10 = expected;
    for (float& v : expected10) v *= 10;
    REQUIRE(band(out, 1) == expected10);
    REQUIRE(out.valid_pixels == 6);
    REQUIRE_FALSE(out.empty());
}

TEST_CASE("reflect can need scene pixels outside the clipped window", "[tiling][pad]") {
    // A last-column tile whose core is 2 px wide overhangs the scene by more than it covers.
    const Window scene{0, 0, 6, 1};
    const PadPlan plan = plan_padded_window(Window{4, 0, 6, 1}, scene, PadRule::reflect);
    REQUIRE(plan.clipped == Window{4, 0, 2, 1});
    REQUIRE(plan.source == Window{1, 0, 5, 1});
    const std::vector<float> source{10, 20, 30, 40, 50};  // scene pixels 1..5 of [0,10,...,50]
    const PaddedWindow out = pad_window(plan, PlanarView{source.data(), 1, plan.source});
    // numpy.pad([0,10,20,30,40,50], (0, 4), 'reflect')[4:] == [40 50 40 30 20 10]
    REQUIRE(out.values == std::vector<float>{40, 50, 40, 30, 20, 10});
    REQUIRE(out.valid_pixels == 2);

    // Giving only the clipped part is refused with the windows named.
    REQUIRE_THROWS_WITH(pad_window(plan, PlanarView{source.data(), 1, plan.clipped}),
                        "pad: source data covers x=4,y=0,w=2,h=1 but the plan for window "
                        "x=4,y=0,w=6,h=1 needs x=1,y=0,w=5,h=1");
}

TEST_CASE("mean and zero pad fill outside the scene with constants", "[tiling][pad]") {
    const std::vector<float> data{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
    const Window scene{0, 0, 3, 2};
    const Window request{1, -1, 3, 2};  // covers scene x 1..2 of row 0, plus a row above, a column right
    const PadPlan mean_plan = plan_padded_window(request, scene, PadRule::mean);
    REQUIRE(mean_plan.clipped == Window{1, 0, 2, 1});
    REQUIRE(mean_plan.source == mean_plan.clipped);
    const std::vector<float> clipped{2, 3, 20, 30};
    const PaddedWindow mean = pad_window(mean_plan, PlanarView{clipped.data(), 2, mean_plan.source}, {7, -1});
    REQUIRE(band(mean, 0) == std::vector<float>{7, 7, 7, 2, 3, 7});
    REQUIRE(band(mean, 1) == std::vector<float>{-1, -1, -1, 20, 30, -1});

    const PadPlan zero_plan = plan_padded_window(request, scene, PadRule::zero);
    const PaddedWindow zero = pad_window(zero_plan, PlanarView{clipped.data(), 2, zero_plan.source});
    REQUIRE(band(zero, 0) == std::vector<float>{0, 0, 0, 2, 3, 0});
    REQUIRE(band(zero, 1) == std::vector<float>{0, 0, 0, 20, 30, 0});

    REQUIRE_THROWS_WITH(pad_window(mean_plan, PlanarView{clipped.data(), 2, mean_plan.source}, {7}),
                        "pad mean: got 1 fill values for 2 bands (window x=1,y=-1,w=3,h=2)");
    REQUIRE_THROWS_WITH(plan_padded_window(Window{0, 0, 0, 4}, scene, PadRule::zero),
                        "pad: requested window x=0,y=0,w=0,h=4 is empty");
}

TEST_CASE("a window entirely outside the scene", "[tiling][pad]") {
    const Window scene{0, 0, 4, 1};
    const PadPlan zero = plan_padded_window(Window{10, 0, 2, 1}, scene, PadRule::zero);
    REQUIRE(zero.clipped.empty());
    const PaddedWindow z = pad_window(zero, PlanarView{nullptr, 1, zero.source});
    REQUIRE(z.values == std::vector<float>{0, 0});
    REQUIRE(z.empty());
    // reflect still mirrors: period 6, so 10 -> 2 and 11 -> 1.
    const PadPlan reflect = plan_padded_window(Window{10, 0, 2, 1}, scene, PadRule::reflect);
    REQUIRE(reflect.source == Window{1, 0, 2, 1});
    const std::vector<float> src{11, 12};
    REQUIRE(pad_window(reflect, PlanarView{src.data(), 1, reflect.source}).values ==
            std::vector<float>{12, 11});
}

TEST_CASE("nodata inside the scene takes the rule's fill value", "[tiling][pad]") {
    // Scene 3 x 2, band 0 = [[1,2,3],[4,5,6]] with pixels (1,0) and (2,1) invalid.
    const std::vector<float> data{1, 2, 3, 4, 5, 6};
    const std::vector<uint8_t> mask{255, 0, 255, 255, 255, 0};
    const Window scene{0, 0, 3, 2};

    SECTION("zero") {
        const PadPlan plan = plan_padded_window(Window{0, 0, 4, 2}, scene, PadRule::zero);
        const PaddedWindow out = pad_window_masked(plan, PlanarView{data.data(), 1, scene}, mask.data());
        REQUIRE(out.values == std::vector<float>{1, 0, 3, 0, 4, 5, 0, 0});
        REQUIRE(out.valid_pixels == 4);
    }
    SECTION("mean uses the given band value") {
        const PadPlan plan = plan_padded_window(Window{0, 0, 4, 2}, scene, PadRule::mean);
        const PaddedWindow out =
            pad_window_masked(plan, PlanarView{data.data(), 1, scene}, mask.data(), {9});
        REQUIRE(out.values == std::vector<float>{1, 9, 3, 9, 4, 5, 9, 9});
    }
    SECTION("reflect without fill values uses the mean of the valid pixels, also where mirrored") {
        // valid: 1, 3, 4, 5 -> mean 3.25. Column 3 mirrors column 1: row 0 -> nodata -> 3.25.
        const PadPlan plan = plan_padded_window(Window{0, 0, 4, 2}, scene, PadRule::reflect);
        const PaddedWindow out = pad_window_masked(plan, PlanarView{data.data(), 1, scene}, mask.data());
        REQUIRE(out.values == std::vector<float>{1, 3.25f, 3, 3.25f, 4, 5, 3.25f, 5});
        REQUIRE(out.valid_pixels == 4);
    }
    SECTION("reflect with scene-level fill values uses them") {
        const PadPlan plan = plan_padded_window(Window{0, 0, 4, 2}, scene, PadRule::reflect);
        const PaddedWindow out =
            pad_window_masked(plan, PlanarView{data.data(), 1, scene}, mask.data(), {-2});
        REQUIRE(out.values == std::vector<float>{1, -2, 3, -2, 4, 5, -2, 5});
    }
}

TEST_CASE("a tile with no valid pixel is reported empty", "[tiling][pad]") {
    const std::vector<float> data{1, 2, 3, 4, 5, 6, 7, 8};  // 2 bands, 2 x 2
    const std::vector<uint8_t> none{0, 0, 0, 0};
    const Window scene{0, 0, 2, 2};
    for (PadRule rule : {PadRule::reflect, PadRule::mean, PadRule::zero}) {
        INFO(to_string(rule));
        const PadPlan plan = plan_padded_window(Window{-32, -32, 64, 64}, scene, rule);
        const PaddedWindow out = pad_window_masked(plan, PlanarView{data.data(), 2, scene}, none.data(),
                                                   rule == PadRule::mean ? std::vector<float>{0.5f, 0.25f}
                                                                         : std::vector<float>{});
        REQUIRE(out.empty());
        REQUIRE(out.valid_pixels == 0);
        const float b0 = rule == PadRule::mean ? 0.5f : 0.0f;
        const float b1 = rule == PadRule::mean ? 0.25f : 0.0f;
        REQUIRE(out.values[0] == b0);
        REQUIRE(out.values[64 * 64 + 100] == b1);
    }
    // One valid pixel is enough to process the tile.
    const std::vector<uint8_t> one{0, 0, 0, 1};
    const PadPlan plan = plan_padded_window(Window{-32, -32, 64, 64}, scene, PadRule::zero);
    REQUIRE(pad_window_masked(plan, PlanarView{data.data(), 2, scene}, one.data()).valid_pixels == 1);
}

TEST_CASE("count_valid over a region", "[tiling][pad]") {
    const std::vector<uint8_t> mask{1, 0, 1, 1, 0, 1, 0, 0, 1};  // 3 x 3 at (10, 20)
    const Window mw{10, 20, 3, 3};
    REQUIRE(count_valid(mask.data(), mw, mw) == 5);
    REQUIRE(count_valid(mask.data(), mw, Window{11, 20, 2, 2}) == 2);
    REQUIRE(count_valid(mask.data(), mw, Window{0, 0, 11, 100}) == 2);  // clipped to column 10
    REQUIRE(count_valid(mask.data(), mw, Window{0, 0, 5, 5}) == 0);
}

TEST_CASE("padding into caller memory (a batch slot) gives the same values", "[tiling][pad]") {
    const std::vector<float> data{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
    const std::vector<uint8_t> mask{1, 1, 0, 1, 1, 1};
    const Window scene{0, 0, 3, 2};
    const PadPlan plan = plan_padded_window(Window{-2, -1, 7, 4}, scene, PadRule::reflect);
    const PlanarView view{data.data(), 2, scene};
    const int64_t sample = 2 * 7 * 4;
    std::vector<float> batch(static_cast<size_t>(3 * sample), -99.0f);
    REQUIRE(pad_window_into(plan, view, {}, batch.data() + sample) == 6);
    REQUIRE(std::vector<float>(batch.begin() + sample, batch.begin() + 2 * sample) ==
            pad_window(plan, view).values);
    REQUIRE(pad_window_masked_into(plan, view, mask.data(), {}, batch.data() + 2 * sample) == 5);
    REQUIRE(std::vector<float>(batch.begin() + 2 * sample, batch.end()) ==
            pad_window_masked(plan, view, mask.data()).values);
    REQUIRE(batch[0] == -99.0f);  // the neighbouring slot is untouched
    REQUIRE(batch[static_cast<size_t>(sample - 1)] == -99.0f);
    REQUIRE_THROWS_WITH(pad_window_into(plan, view, {}, nullptr),
                        "pad: output buffer for window x=-2,y=-1,w=7,h=4 is null");
    REQUIRE_THROWS_WITH(pad_window_masked(plan, view, nullptr),
                        "pad: validity mask for window x=-2,y=-1,w=7,h=4 is null");
}
