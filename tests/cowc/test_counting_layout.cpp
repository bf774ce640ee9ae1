// The COWC 224 canvas: margin colour border, content placement and the transforms, pixel by pixel.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "cowc/CountingLayout.hpp"

using namespace satsal::counting;

namespace {

// A patch whose every pixel is distinguishable: R = x, G = y, B = (x * 7 + y * 13) % 256.
std::vector<std::uint8_t> coordinate_patch() {
    std::vector<std::uint8_t> patch(kPatchSize * kPatchSize * 3);
    for (int y = 0; y < kPatchSize; ++y)
        for (int x = 0; x < kPatchSize; ++x) {
            std::uint8_t* p = &patch[(y * kPatchSize + x) * 3];
            p[0] = static_cast<std::uint8_t>(x);
            p[1] = static_cast<std::uint8_t>(y);
            p[2] = static_cast<std::uint8_t>((x * 7 + y * 13) % 256);
        }
    return patch;
}

const std::uint8_t* canvas_pixel(const std::vector<std::uint8_t>& canvas, int x, int y) {
    return &canvas[(y * kInputSize + x) * 3];
}

bool is_margin(const std::uint8_t* p) {
    return p[0] == kMarginColour[0] && p[1] == kMarginColour[1] && p[2] == kMarginColour[2];
}

// Checks every content pixel against patch(source(col, row)) and the border against the margin.
template <typename Source>
void check_canvas(const std::vector<std::uint8_t>& canvas, const std::vector<std::uint8_t>& patch, Source source) {
    int mismatches = 0, border_wrong = 0;
    for (int y = 0; y < kInputSize; ++y)
        for (int x = 0; x < kInputSize; ++x) {
            const std::uint8_t* got = canvas_pixel(canvas, x, y);
            const bool content = x >= 16 && x < 208 && y >= 16 && y < 208;
            if (!content) {
                border_wrong += !is_margin(got);
                continue;
            }
            int sx = 0, sy = 0;
            source(x - 16, y - 16, sx, sy);
            const std::uint8_t* want = &patch[(sy * kPatchSize + sx) * 3];
            mismatches += got[0] != want[0] || got[1] != want[1] || got[2] != want[2];
        }
    CHECK(border_wrong == 0);
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("the counting canvas pastes the central 192 px of the patch at (16,16) in a margin-coloured 224 canvas",
          "[counting][layout]") {
    STATIC_REQUIRE(kCanvasOffset == 16);
    const auto patch = coordinate_patch();
    std::vector<std::uint8_t> canvas(kInputSize * kInputSize * 3);
    compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{}, canvas.data());
    check_canvas(canvas, patch, [](int c, int r, int& sx, int& sy) { sx = 32 + c; sy = 32 + r; });
    // Spot values: canvas (16,16) is patch (32,32); canvas (207,207) is patch (223,223); (15,15) margin.
    CHECK(canvas_pixel(canvas, 16, 16)[0] == 32);
    CHECK(canvas_pixel(canvas, 16, 16)[1] == 32);
    CHECK(canvas_pixel(canvas, 207, 207)[0] == 223);
    CHECK(canvas_pixel(canvas, 207, 207)[1] == 223);
    CHECK(is_margin(canvas_pixel(canvas, 15, 15)));
    CHECK(is_margin(canvas_pixel(canvas, 208, 100)));
}

TEST_CASE("quarter turns and flips permute the content exactly", "[counting][layout]") {
    const auto patch = coordinate_patch();
    std::vector<std::uint8_t> canvas(kInputSize * kInputSize * 3);

    SECTION("90 degrees counter-clockwise as displayed: the content's right column becomes its top row") {
        compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{90, false}, canvas.data());
        check_canvas(canvas, patch, [](int c, int r, int& sx, int& sy) { sx = 223 - r; sy = 32 + c; });
    }
    SECTION("180 degrees") {
        compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{180, false}, canvas.data());
        check_canvas(canvas, patch, [](int c, int r, int& sx, int& sy) { sx = 223 - c; sy = 223 - r; });
    }
    SECTION("-90 is 270") {
        compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{-90, false}, canvas.data());
        check_canvas(canvas, patch, [](int c, int r, int& sx, int& sy) { sx = 32 + r; sy = 223 - c; });
    }
    SECTION("left-right flip") {
        compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{0, true}, canvas.data());
        check_canvas(canvas, patch, [](int c, int r, int& sx, int& sy) { sx = 223 - c; sy = 32 + r; });
    }
    SECTION("flip then 90 degrees is the transpose") {
        compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{90, true}, canvas.data());
        check_canvas(canvas, patch, [](int c, int r, int& sx, int& sy) { sx = 32 + r; sy = 32 + c; });
    }
}

TEST_CASE("a 45 degree rotation keeps a uniform content inside the octagon and shows margin in the corners",
          "[counting][layout]") {
    std::vector<std::uint8_t> patch(kPatchSize * kPatchSize * 3);
    for (int y = 0; y < kPatchSize; ++y)
        for (int x = 0; x < kPatchSize; ++x) {
            const bool content = x >= 32 && x < 224 && y >= 32 && y < 224;
            std::uint8_t* p = &patch[(y * kPatchSize + x) * 3];
            p[0] = content ? 10 : kMarginColour[0];
            p[1] = content ? 200 : kMarginColour[1];
            p[2] = content ? 30 : kMarginColour[2];
        }
    std::vector<std::uint8_t> canvas(kInputSize * kInputSize * 3);
    compose_count_canvas(patch.data(), kPatchSize, kPatchSize, PatchTransform{45, false}, canvas.data());
    // Content corners: the rotated square's corners lie outside the crop, the crop's corners
    // (distance 135 px from the centre) fall into the margin.
    CHECK(is_margin(canvas_pixel(canvas, 16, 16)));
    CHECK(is_margin(canvas_pixel(canvas, 207, 16)));
    CHECK(is_margin(canvas_pixel(canvas, 16, 207)));
    CHECK(is_margin(canvas_pixel(canvas, 207, 207)));
    // A pixel well inside the rotated square (|u| + |v| < 96 * sqrt 2 - 2) is the content colour.
    int inside = 0, wrong = 0;
    for (int r = 0; r < kContentSize; ++r)
        for (int c = 0; c < kContentSize; ++c) {
            const double u = c + 0.5 - 96, v = r + 0.5 - 96;
            if (std::abs(u) + std::abs(v) >= 96 * std::sqrt(2.0) - 2) continue;
            ++inside;
            const std::uint8_t* p = canvas_pixel(canvas, 16 + c, 16 + r);
            wrong += p[0] != 10 || p[1] != 200 || p[2] != 30;
        }
    CHECK(inside > 30000);  // the octagon covers 2(sqrt 2 - 1) = 83% of 192^2 = 36864
    CHECK(wrong == 0);
}

TEST_CASE("canvas_to_input scales to [0,1] and applies the ImageNet mean/std per plane", "[counting][layout]") {
    std::vector<std::uint8_t> canvas(kInputSize * kInputSize * 3);
    for (int i = 0; i < kInputSize * kInputSize; ++i) {
        canvas[3 * i + 0] = 123;
        canvas[3 * i + 1] = 117;
        canvas[3 * i + 2] = 104;
    }
    canvas[3 * (5 * kInputSize + 7) + 0] = 255;  // pixel (7,5), red
    canvas[3 * (5 * kInputSize + 7) + 2] = 0;    // pixel (7,5), blue
    std::vector<float> input(3 * kInputSize * kInputSize);
    canvas_to_input(canvas.data(), input.data());
    const int plane = kInputSize * kInputSize;
    CHECK(input[0] == Approx((123 / 255.0 - 0.485) / 0.229).margin(1e-6));
    CHECK(input[plane + 1] == Approx((117 / 255.0 - 0.456) / 0.224).margin(1e-6));
    CHECK(input[2 * plane + 2] == Approx((104 / 255.0 - 0.406) / 0.225).margin(1e-6));
    // The margin colour normalises to almost zero (it is the ImageNet mean in 8 bits).
    CHECK(std::abs(input[0]) < 0.02);
    CHECK(input[5 * kInputSize + 7] == Approx((1.0 - 0.485) / 0.229).margin(1e-6));
    CHECK(input[2 * plane + 5 * kInputSize + 7] == Approx(-0.406 / 0.225).margin(1e-6));
}

TEST_CASE("compose_count_canvas rejects an empty patch", "[counting][layout]") {
    std::vector<std::uint8_t> canvas(kInputSize * kInputSize * 3);
    CHECK_THROWS_WITH(compose_count_canvas(nullptr, 0, 0, PatchTransform{}, canvas.data()),
                      "compose_count_canvas: empty patch (0 x 0)");
}
