// Synthetic COWC v2 (cowc/SyntheticV2.hpp): determinism, exact labels, palettes and their errors,
// and v1 untouched by the style option.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/Synthetic.hpp"
#include "tests/cowc/test_support.hpp"

using namespace satsal::cowc;
using satsal::cowc_test::read_bytes;
using satsal::cowc_test::TempDir;

namespace {

// Mean RGB over the scene.
std::array<double, 3> mean_colour(const Rgb8Image& image) {
    std::array<double, 3> sum{0, 0, 0};
    for (std::size_t i = 0; i < image.pixels.size(); ++i) sum[i % 3] += image.pixels[i];
    const double n = static_cast<double>(image.pixels.size() / 3);
    return {sum[0] / n, sum[1] / n, sum[2] / n};
}

}  // namespace

TEST_CASE("v2 scenes are deterministic in seed and palettes", "[cowc][synthetic][v2]") {
    const SyntheticScene a = render_synthetic_scene_v2(600, 500, 7);
    const SyntheticScene b = render_synthetic_scene_v2(600, 500, 7);
    const SyntheticScene c = render_synthetic_scene_v2(600, 500, 8);
    CHECK(a.image.pixels == b.image.pixels);
    CHECK(a.cars == b.cars);
    CHECK(a.negatives == b.negatives);
    CHECK(a.image.pixels != c.image.pixels);
    CHECK(a.image.pixels != render_synthetic_scene(600, 500, 7).image.pixels);
    // One palette given: the scene uses it. The held-out autumn palette has orange foliage and
    // brown lawns: more red than green on average, which no training palette gives.
    const auto autumn = mean_colour(render_synthetic_scene_v2(600, 500, 7, {"autumn-dusk"}).image);
    const auto summer = mean_colour(render_synthetic_scene_v2(600, 500, 7, {"summer"}).image);
    CHECK(autumn[0] > autumn[1]);
    CHECK(summer[1] > summer[0]);
    CHECK_THROWS_WITH(render_synthetic_scene_v2(255, 500, 1),
                      "synthetic COWC scene must be at least 256 x 256 pixels, got 255 x 500");
    CHECK_THROWS_WITH(render_synthetic_scene_v2(300, 300, 1, {"summer", "winter"}),
                      "synthetic COWC: unknown palette 'winter'; expected one of summer, arid, overcast, "
                      "fresh-asphalt, autumn-dusk");
    CHECK(synthetic_training_palettes() == std::vector<std::string>{"summer", "arid", "overcast", "fresh-asphalt"});
}

TEST_CASE("v2 scenes are dense, with unique car dots at least a car width apart", "[cowc][synthetic][v2]") {
    std::size_t cars = 0, v1_cars = 0;
    for (uint64_t seed : {3, 4, 5}) {
        const SyntheticScene s = render_synthetic_scene_v2(1000, 1000, seed);
        cars += s.cars.size();
        v1_cars += render_synthetic_scene(1000, 1000, seed).cars.size();
        std::set<std::pair<int, int>> dots;
        for (const auto& p : s.cars) {
            CHECK(p.x >= 0);
            CHECK(p.y >= 0);
            CHECK(p.x < 1000);
            CHECK(p.y < 1000);
            dots.insert({p.x, p.y});
        }
        CHECK(dots.size() == s.cars.size());
        for (const auto& p : s.negatives) CHECK(dots.count({p.x, p.y}) == 0);
        // Cars are >= 1.6 m wide at >= 0.135 m/px (15 cm - 10%): dots of two cars are > 8 px apart.
        const ObjectPositions positions(1000, 1000, s.cars);
        int close = 0;
        for (const auto& p : positions.positions()) close += positions.count_in_window(p.x - 4, p.y - 4, p.x + 5, p.y + 5) > 1;
        CHECK(close == 0);
    }
    // 150 m x 150 m of town, mostly lots and streets: denser than v1 on the same seeds (measured
    // 595 against 435 cars).
    INFO("v2 " << cars << " cars, v1 " << v1_cars);
    CHECK(cars > v1_cars + v1_cars / 4);
}

TEST_CASE("generate_synthetic_cowc --style v2: lists agree with the annotations", "[cowc][synthetic][v2]") {
    TempDir dir("synthetic-v2");
    SyntheticCowcOptions o;
    o.root = dir.path() + "/a";
    o.scene_width = o.scene_height = 512;
    o.train_scenes = 1;
    o.test_scenes = 1;
    o.seed = 5;
    o.patch_stride = 128;
    o.patch_angles = {0, 45};
    o.style = "v2";
    o.palettes = {"arid", "autumn-dusk"};
    const SyntheticCowcResult r = generate_synthetic_cowc(o);
    REQUIRE(r.scenes.size() == 2);
    std::size_t checked = 0;
    for (const std::string& list : {r.train_list, r.test_list}) {
        for (const auto& e : read_counting_list(list)) {
            const int scene = e.name.x / 512;
            const SceneAnnotations truth = read_scene_annotations(r.scenes[static_cast<std::size_t>(scene)].scene_png);
            CHECK(e.count == count_in_patch(truth.cars, e.name.x - scene * 512, e.name.y, e.name.angle));
            ++checked;
        }
    }
    CHECK(checked == 2 * 3 * 3 * 2);
    SyntheticCowcOptions same = o;
    same.root = dir.path() + "/b";
    generate_synthetic_cowc(same);
    CHECK(read_bytes(o.root + "/ground_truth_sets/Synthetic_SATSAL/syn-02.5%_t.png") ==
          read_bytes(same.root + "/ground_truth_sets/Synthetic_SATSAL/syn-02.5%_t.png"));

    SyntheticCowcOptions bad = o;
    bad.root = dir.path() + "/c";
    bad.style = "v3";
    CHECK_THROWS_WITH(generate_synthetic_cowc(bad), "synthetic COWC: style 'v3' is not known; expected v1 or v2");
    bad.style = "v1";
    CHECK_THROWS_WITH(generate_synthetic_cowc(bad), "synthetic COWC: palettes are a v2 option (style is v1)");
    bad.style = "v2";
    bad.palettes = {"dusk"};
    CHECK_THROWS_WITH(generate_synthetic_cowc(bad), Catch::Contains("unknown palette 'dusk'"));
    CHECK_FALSE(std::filesystem::exists(bad.root));
}
