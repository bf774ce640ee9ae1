// COWC counting patches: cutting from an annotated scene, counts, margin, rotation, reading.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/Names.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/Raster.hpp"
#include "tests/cowc/test_support.hpp"

using namespace satsal::cowc;
using satsal::cowc_test::TempDir;

namespace {

// A scene whose every pixel is distinct enough to tell where a patch pixel came from.
Rgb8Image pattern_scene(int w, int h) {
    Rgb8Image img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            uint8_t* p = img.at(x, y);
            p[0] = static_cast<uint8_t>(x % 251);
            p[1] = static_cast<uint8_t>(y % 241);
            p[2] = static_cast<uint8_t>((x * 7 + y * 3) % 256);
        }
    return img;
}

std::vector<PixelPosition> random_dots(int w, int h, int n, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> ux(0, w - 1), uy(0, h - 1);
    std::set<std::pair<int, int>> unique;
    while (static_cast<int>(unique.size()) < n) unique.insert({ux(gen), uy(gen)});
    std::vector<PixelPosition> out;
    for (const auto& d : unique) out.push_back({d.first, d.second});
    return out;
}

// Independent of the library: rotate the dot's offset from the centre by the patch angle
// (counter-clockwise as displayed, y down) and test the half-open content square.
int expected_count(const std::vector<PixelPosition>& dots, int cx, int cy, int angle) {
    const double a = angle * 3.14159265358979323846 / 180.0;
    int n = 0;
    for (const auto& d : dots) {
        const double dx = d.x + 0.5 - cx, dy = d.y + 0.5 - cy;
        const double px = dx * std::cos(a) + dy * std::sin(a);
        const double py = -dx * std::sin(a) + dy * std::cos(a);
        n += px >= -96 && px < 96 && py >= -96 && py < 96;
    }
    return n;
}

}  // namespace

TEST_CASE("cut patches: counts, names, margin and content pixels", "[cowc][patches]") {
    TempDir dir("cut");
    const int w = 520, h = 430;
    const Rgb8Image scene_image = pattern_scene(w, h);
    const std::string scene = dir.path() + "/ground_truth_sets/Test_SITE/s-1.2%b.png";
    write_png(scene, scene_image);
    const auto dots = random_dots(w, h, 400, 3);
    write_annotation_png(scene_paths(scene).cars, ObjectPositions(w, h, dots));
    write_annotation_png(scene_paths(scene).negatives, ObjectPositions(w, h, {}));
    const SceneAnnotations ann = read_scene_annotations(scene);
    REQUIRE(ann.cars.size() == dots.size());

    CountingPatchOptions o;
    o.site = "Test_SITE";
    o.split = "train";
    o.stride = 96;
    o.angles = {0, 15, 90, 45};
    const std::string out_root = dir.path() + "/patches";
    const auto entries = cut_counting_patches(scene, ann.cars, out_root, o);
    // Grid: cx = 96, 192, ..., cx + 96 <= 520 -> 96..384 (4); cy: 96..288 (3); 4 angles.
    REQUIRE(entries.size() == 4 * 3 * 4);

    int nonzero = 0;
    for (const auto& e : entries) {
        CHECK(e.site == "Test_SITE");
        CHECK(e.split == "train");
        CHECK(e.count == e.name.count);
        CHECK(e.file == format_counting_patch_name(e.name));
        CHECK(e.count == expected_count(dots, e.name.x, e.name.y, e.name.angle));
        if (e.name.angle == 0) {
            int64_t brute = 0;
            for (const auto& d : dots)
                brute += d.x >= e.name.x - 96 && d.x < e.name.x + 96 && d.y >= e.name.y - 96 && d.y < e.name.y + 96;
            CHECK(e.count == brute);
            CHECK(e.count == ann.cars.count_in_window(e.name.x - 96, e.name.y - 96, e.name.x + 96, e.name.y + 96));
        }
        nonzero += e.count > 0;
        CHECK(std::filesystem::exists(out_root + "/" + e.relative_path()));
    }
    CHECK(nonzero > 40);

    // Angle 0 patch at (192, 288): pixel-exact copy of the scene, margin in COWC's mean colour.
    const std::string p0 = out_root + "/Test_SITE/train/" +
                           format_counting_patch_name({expected_count(dots, 192, 288, 0), 192, 288, 0});
    const Rgb8Image patch = read_counting_patch(p0);
    for (const auto& corner : std::vector<std::pair<int, int>>{{0, 0}, {255, 255}, {31, 128}, {224, 40}, {128, 31}}) {
        const uint8_t* m = patch.at(corner.first, corner.second);
        CHECK(int(m[0]) == 123);
        CHECK(int(m[1]) == 117);
        CHECK(int(m[2]) == 104);
    }
    for (const auto& ij : std::vector<std::pair<int, int>>{{32, 32}, {223, 223}, {100, 200}, {32, 223}}) {
        const uint8_t* p = patch.at(ij.first, ij.second);
        const uint8_t* s = scene_image.at(192 - 128 + ij.first, 288 - 128 + ij.second);
        CHECK(int(p[0]) == int(s[0]));
        CHECK(int(p[1]) == int(s[1]));
        CHECK(int(p[2]) == int(s[2]));
    }

    // Angle 90: the scene turned counter-clockwise; patch (i, j) is scene (cx + 127 - j, cy + i - 128).
    const Rgb8Image p90 = read_counting_patch(out_root + "/Test_SITE/train/" +
                                             format_counting_patch_name({expected_count(dots, 288, 192, 90), 288, 192, 90}));
    for (const auto& ij : std::vector<std::pair<int, int>>{{40, 50}, {200, 33}, {223, 223}}) {
        const uint8_t* p = p90.at(ij.first, ij.second);
        const uint8_t* s = scene_image.at(288 + 127 - ij.second, 192 + ij.first - 128);
        CHECK(int(p[0]) == int(s[0]));
        CHECK(int(p[2]) == int(s[2]));
    }

    // Angle 45: bilinear samples, recomputed here.
    const int cx = 288, cy = 192;
    const Rgb8Image p45 = read_counting_patch(out_root + "/Test_SITE/train/" +
                                             format_counting_patch_name({expected_count(dots, cx, cy, 45), cx, cy, 45}));
    const double c = std::cos(3.14159265358979323846 / 4), s = std::sin(3.14159265358979323846 / 4);
    for (const auto& ij : std::vector<std::pair<int, int>>{{60, 70}, {128, 128}, {200, 150}}) {
        const double dx = ij.first + 0.5 - 128, dy = ij.second + 0.5 - 128;
        const double u = cx + c * dx - s * dy - 0.5, v = cy + s * dx + c * dy - 0.5;
        const int x0 = static_cast<int>(std::floor(u)), y0 = static_cast<int>(std::floor(v));
        const double fx = u - x0, fy = v - y0;
        for (int ch = 0; ch < 3; ++ch) {
            const double val = (1 - fx) * (1 - fy) * scene_image.at(x0, y0)[ch] + fx * (1 - fy) * scene_image.at(x0 + 1, y0)[ch] +
                               (1 - fx) * fy * scene_image.at(x0, y0 + 1)[ch] + fx * fy * scene_image.at(x0 + 1, y0 + 1)[ch];
            CHECK(std::abs(int(p45.at(ij.first, ij.second)[ch]) - int(std::lround(val))) <= 1);
        }
    }

    // The list written from these entries reads back to the same patches.
    write_counting_list(out_root + "/COWC_train_list_64_class.txt", entries);
    const auto back = read_counting_list(out_root + "/COWC_train_list_64_class.txt");
    REQUIRE(back.size() == entries.size());
    CHECK(back.front().relative_path() == entries.front().relative_path());
    CHECK(back.back().count == entries.back().count);
}

TEST_CASE("abutting angle-0 patches partition the dots", "[cowc][patches]") {
    TempDir dir("partition");
    const int w = 600, h = 420;
    const std::string scene = dir.path() + "/scene.png";
    write_png(scene, pattern_scene(w, h));
    const auto dots = random_dots(w, h, 900, 11);
    const ObjectPositions cars(w, h, dots);
    CountingPatchOptions o;
    o.site = "S";
    o.split = "test";
    o.stride = 192;  // content squares abut: [0,192), [192,384), [384,576) x [0,192), [192,384)
    const auto entries = cut_counting_patches(scene, cars, dir.path() + "/out", o);
    REQUIRE(entries.size() == 3 * 2);
    int64_t sum = 0;
    for (const auto& e : entries) sum += e.count;
    CHECK(sum == cars.count_in_window(0, 0, 576, 384));
}

TEST_CASE("explicit centres, out-of-scene content and option errors", "[cowc][patches]") {
    TempDir dir("explicit");
    const std::string scene = dir.path() + "/scene.png";
    write_png(scene, pattern_scene(300, 260));
    const ObjectPositions cars(300, 260, {{5, 5}, {150, 130}, {299, 259}});
    CountingPatchOptions o;
    o.site = "S";
    o.centres = {{150, 130}, {10, 10}};
    o.name_offset_x = 1000;
    const auto entries = cut_counting_patches(scene, cars, dir.path() + "/out", o);
    REQUIRE(entries.size() == 2);
    // Sorted top to bottom: (10, 10) first. Its content square [-86, 106) holds (5, 5) only.
    CHECK(entries[0].file == "01.01010.00010.000.png");
    CHECK(entries[1].file == "01.01150.00130.000.png");  // [54, 246) x [34, 226) holds (150, 130) only
    // Content outside the scene takes the margin colour.
    const Rgb8Image p = read_counting_patch(dir.path() + "/out/S/train/01.01010.00010.000.png");
    CHECK(int(p.at(40, 40)[0]) == 123);
    CHECK(int(p.at(40, 40)[2]) == 104);
    CHECK(int(p.at(200, 200)[0]) == int(pattern_scene(300, 260).at(10 - 128 + 200, 10 - 128 + 200)[0]));

    o.centres = {{150, 130}, {150, 130}};
    CHECK_THROWS_WITH(cut_counting_patches(scene, cars, dir.path() + "/out2", o),
                      Catch::Contains("two patches would both be named"));
    o.centres.clear();
    o.angles = {10};
    CHECK_THROWS_WITH(cut_counting_patches(scene, cars, dir.path() + "/out2", o),
                      "counting patches of '" + scene + "': angle 10 is not a multiple of 15 degrees in [0, 360)");
    o.angles = {0};
    CHECK_THROWS_WITH(cut_counting_patches(scene, ObjectPositions(10, 10, {}), dir.path() + "/out2", o),
                      Catch::Contains("the car annotations are 10 x 10 but the scene is 300 x 260"));
}

TEST_CASE("counting patch reader checks size and bands", "[cowc][patches]") {
    TempDir dir("reader");
    const std::string small = dir.path() + "/03.00001.00002.000.png";
    write_png(small, Rgb8Image(100, 80, 1, 2, 3));
    CHECK_THROWS_WITH(read_counting_patch(small),
                      "COWC counting patch '" + small + "': expected 256 x 256 RGB, found 100 x 80 with 3 band(s)");
    CHECK_THROWS_WITH(read_counting_patch(dir.path() + "/none.png"),
                      Catch::StartsWith("cannot open COWC counting patch '" + dir.path() + "/none.png': "));
    const std::string good = dir.path() + "/00.00001.00002.000.png";
    write_png(good, Rgb8Image(256, 256, 9, 8, 7));
    const Rgb8Image p = read_counting_patch(good);
    CHECK(int(p.at(255, 0)[0]) == 9);
    CHECK(int(p.at(0, 255)[2]) == 7);
}

TEST_CASE("grid centres and geometry helpers", "[cowc][patches]") {
    const auto g = grid_patch_centres(400, 192, 100);
    REQUIRE(g.size() == 3);  // cx = 96, 196, 296 (296 + 96 = 392 <= 400); cy = 96 only
    CHECK(g[2].x == 296);
    CHECK(g[2].y == 96);
    CHECK(grid_patch_centres(191, 500, 50).empty());
    CHECK_THROWS_AS(grid_patch_centres(500, 500, 0), std::invalid_argument);
    // Half-open content square at angle 0: [cx-96, cx+96).
    CHECK(dot_in_patch_content({4, 4}, 100, 100, 0));
    CHECK_FALSE(dot_in_patch_content({3, 4}, 100, 100, 0));
    CHECK(dot_in_patch_content({195, 195}, 100, 100, 0));
    CHECK_FALSE(dot_in_patch_content({196, 100}, 100, 100, 0));
    // At 45 degrees the square's corners are cut: a dot 90 px right and 90 px down is outside,
    // one 130 px straight right is inside (|rotated| = 130 / sqrt 2 = 91.9 < 96).
    CHECK_FALSE(dot_in_patch_content({190, 190}, 100, 100, 45));
    CHECK(dot_in_patch_content({230, 100}, 100, 100, 45));
}

TEST_CASE("a patch set from several scenes gets unique names and one list", "[cowc][patches]") {
    TempDir dir("patch_set");
    const std::string a = dir.path() + "/truth/a.b-1%.png";
    const std::string b = dir.path() + "/truth/a.b-2%.png";
    write_png(a, pattern_scene(400, 300));
    write_png(b, pattern_scene(384, 192));
    write_annotation_png(scene_paths(a).cars, ObjectPositions(400, 300, {{100, 100}, {300, 150}}));
    write_annotation_png(scene_paths(b).cars, ObjectPositions(384, 192, {{100, 100}, {101, 100}, {383, 191}}));
    CountingPatchOptions o;
    o.site = "Mine_SITE";
    o.split = "test";
    o.stride = 192;
    const auto r = cut_counting_patch_set({a, b}, dir.path() + "/set", o, true);
    CHECK(r.list_path == dir.path() + "/set/COWC_test_list_64_class.txt.bz2");
    CHECK(r.scene_name_offset_x == std::vector<int>{0, 400});
    // a: centres (96, 96), (288, 96); b: (96, 96), (288, 96) named at x + 400.
    const auto back = read_counting_list(r.list_path);
    REQUIRE(back.size() == 4);
    CHECK(back[0].file == "01.00096.00096.000.png");
    CHECK(back[1].file == "01.00288.00096.000.png");
    CHECK(back[2].file == "02.00496.00096.000.png");
    CHECK(back[3].file == "01.00688.00096.000.png");
    for (const auto& e : back) CHECK(std::filesystem::exists(dir.path() + "/set/" + e.relative_path()));

    const std::string lonely = dir.path() + "/truth/no_annotations.png";
    write_png(lonely, pattern_scene(200, 200));
    CHECK_THROWS_WITH(cut_counting_patch_set({lonely}, dir.path() + "/set2", o),
                      Catch::StartsWith("cannot open COWC annotation '" + dir.path() +
                                        "/truth/no_annotations_Annotated_Cars.png'"));
}
