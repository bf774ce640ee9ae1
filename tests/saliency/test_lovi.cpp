#include "saliency/Lovi.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <vector>

using namespace satsal;

namespace {
std::array<int, 3> lovi_pixel(const std::vector<float>& layers) {
    double rgb[3];
    hsv_to_rgb(lovi_hsv(layers.data(), static_cast<int>(layers.size())), rgb);
    return {to_byte(rgb[0]), to_byte(rgb[1]), to_byte(rgb[2])};
}
using Rgb = std::array<int, 3>;
}  // namespace

TEST_CASE("LOVI hand-computed pixels (Eqs. 4-7)", "[lovi]") {
    // one layer active at 1: fully saturated, hue 300 phi(k)
    CHECK(lovi_hsv(std::vector<float>{1, 0, 0, 0, 0}.data(), 5).hue == 300.0);
    CHECK(lovi_pixel({1, 0, 0, 0, 0}) == Rgb{255, 0, 255});  // earliest layer: violet/magenta
    CHECK(lovi_pixel({0, 0, 0, 0, 1}) == Rgb{255, 0, 0});    // last layer: red
    // middle layer of 5: phi = 0.5, hue 150: C = 1, X = 1 - |2.5 mod 2 - 1| = 0.5 -> (0, 255, 127.5)
    CHECK(lovi_hsv(std::vector<float>{0, 0, 1, 0, 0}.data(), 5).hue == 150.0);
    CHECK(lovi_pixel({0, 0, 1, 0, 0}) == Rgb{0, 255, 128});
    // second of 5 at 0.5: phi 0.75, hue 225, value 0.5: C 0.5, X 0.125 -> (0, 31.875, 127.5)
    CHECK(lovi_pixel({0, 0.5f, 0, 0, 0}) == Rgb{0, 32, 128});
    // all equal: saturation 0, gray at the value (0.5 -> 127.5 rounds to 128)
    CHECK(lovi_pixel({1, 1, 1, 1, 1}) == Rgb{255, 255, 255});
    CHECK(lovi_pixel({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}) == Rgb{128, 128, 128});
    CHECK(lovi_pixel({0, 0, 0, 0, 0}) == Rgb{0, 0, 0});
    // first and last at 1: hue 150, sat 1 - (2/5 - 1/5)/(4/5) = 0.75, value 1
    // -> C 0.75, X 0.375, m 0.25: (0.25, 1, 0.625) -> (64, 255, 159)
    const Hsv mixed = lovi_hsv(std::vector<float>{1, 0, 0, 0, 1}.data(), 5);
    CHECK(mixed.hue == 150.0);
    CHECK(mixed.saturation == Approx(0.75));
    CHECK(lovi_pixel({1, 0, 0, 0, 1}) == Rgb{64, 255, 159});
    // r = 2 (phi 1, 0) with s = (0.2, 0.6): hue 300 * 0.2 / 0.8 = 75,
    // sat 1 - (0.8 / 1.2 - 0.5) / 0.5 = 2/3, value 0.6: C 0.4, X 0.3, m 0.2 -> (0.5, 0.6, 0.2)
    CHECK(lovi_pixel({0.2f, 0.6f}) == Rgb{128, 153, 51});
}

TEST_CASE("LOVI guards: one layer, NaN, out-of-range values", "[lovi]") {
    CHECK(lovi_pixel({0.4f}) == Rgb{102, 0, 0});  // r == 1: red intensity
    CHECK(lovi_pixel({NAN, 1, 1}) == Rgb{0, 0, 0});
    CHECK(lovi_pixel({2.0f, -1.0f, 0}) == Rgb{255, 0, 255});  // clamped to [1, 0, 0]
    CHECK_THROWS_AS(lovi_hsv(nullptr, 0), std::invalid_argument);
}

TEST_CASE("LOVI image and overlay", "[lovi]") {
    Map first(2, 1), last(2, 1);
    first.values = {1.0f, 0.0f};
    last.values = {0.0f, 1.0f};
    Map mid(2, 1, 0.0f);
    CHECK(lovi_rgb({first, mid, last}) == std::vector<uint8_t>{255, 0, 255, 255, 0, 0});
    CHECK_THROWS_AS(lovi_rgb({first, Map(1, 1)}), std::invalid_argument);

    // combined 0.5 -> heat (0.5, 1, 0.5); input (200, 100, 50) -> gray 124.2;
    // 0.75 * 255 * heat + 0.25 * 124.2 = (126.675, 222.3, 126.675) -> (127, 222, 127)
    Map combined(2, 1);
    combined.values = {0.5f, NAN};
    const std::vector<uint8_t> input = {200, 100, 50, 200, 100, 50};
    CHECK(overlay_rgb(combined, input) == std::vector<uint8_t>{127, 222, 127, 124, 124, 124});
    double heat[3];
    heat_colour(0.0, heat);
    CHECK((heat[0] == 0.0 && heat[1] == 0.0 && heat[2] == 0.5));
    heat_colour(1.0, heat);
    CHECK((heat[0] == 0.5 && heat[1] == 0.0 && heat[2] == 0.0));
    CHECK_THROWS_AS(overlay_rgb(combined, std::vector<uint8_t>(3)), std::invalid_argument);
}
