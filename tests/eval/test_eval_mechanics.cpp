// Mechanics of `satsal evaluate` (eval/Masks, eval/Imputation, eval/Scores, eval/EvalConfig) on
// hand-computed cases.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#include "eval/EvalConfig.hpp"
#include "eval/Imputation.hpp"
#include "eval/Masks.hpp"
#include "eval/Scores.hpp"

using namespace satsal::eval;

namespace {
std::vector<int> kept_indices(const std::vector<std::uint8_t>& mask) {
    std::vector<int> out;
    for (std::size_t i = 0; i < mask.size(); ++i)
        if (mask[i]) out.push_back(static_cast<int>(i));
    return out;
}
}  // namespace

TEST_CASE("KAR keeps and ROAR removes the most salient pixels, ties by index", "[eval][masks]") {
    const std::vector<float> map = {0.1f, 0.9f, 0.5f, 0.9f, 0.3f};
    CHECK(kept_indices(salience_mask(map.data(), 5, 0.4, MaskMode::Keep)) == std::vector<int>{1, 3});
    CHECK(kept_indices(salience_mask(map.data(), 5, 0.4, MaskMode::Remove)) == std::vector<int>{0, 2, 4});
    CHECK(kept_indices(salience_mask(map.data(), 5, 0.6, MaskMode::Keep)) == std::vector<int>{1, 2, 3});
    // A tie at the cut: the lower index counts as more salient.
    CHECK(kept_indices(salience_mask(map.data(), 5, 0.2, MaskMode::Keep)) == std::vector<int>{1});
    const std::vector<float> flat(4, 1.0f);
    CHECK(kept_indices(salience_mask(flat.data(), 4, 0.5, MaskMode::Keep)) == std::vector<int>{0, 1});
    CHECK(kept_indices(salience_mask(flat.data(), 4, 0.5, MaskMode::Remove)) == std::vector<int>{2, 3});
    // NaN is the least salient.
    const std::vector<float> with_nan = {NAN, 0.0f, -1.0f};
    CHECK(kept_indices(salience_mask(with_nan.data(), 3, 1.0 / 3, MaskMode::Keep)) == std::vector<int>{1});
    CHECK(salience_order(with_nan.data(), 3) == std::vector<std::int64_t>{1, 2, 0});
    // ROAD: most / least relevant first.
    CHECK(kept_indices(road_removed(map.data(), 5, 0.4, true)) == std::vector<int>{1, 3});
    CHECK(kept_indices(road_removed(map.data(), 5, 0.4, false)) == std::vector<int>{0, 4});
    CHECK_THROWS_WITH(selected_count(1.5, 10), Catch::Contains("[0, 1]"));
}

TEST_CASE("masks select exactly round(fraction * n) pixels", "[eval][masks]") {
    for (const std::int64_t n : {1, 7, 100, 12544}) {
        const std::vector<float> map = random_map(n, 5, static_cast<std::uint64_t>(n));
        for (const double f : {0.025, 0.1, 0.3, 0.5, 0.9, 1.0}) {
            const auto expected = static_cast<std::size_t>(std::llround(f * static_cast<double>(n)));
            CHECK(kept_indices(salience_mask(map.data(), n, f, MaskMode::Keep)).size() == expected);
            CHECK(kept_indices(salience_mask(map.data(), n, f, MaskMode::Remove)).size() == static_cast<std::size_t>(n) - expected);
            CHECK(kept_indices(road_removed(map.data(), n, f, false)).size() == expected);
        }
    }
    // Every kept pixel is at least as salient as every blanked one.
    const std::vector<float> map = random_map(1000, 9, 1);
    const auto keep = salience_mask(map.data(), 1000, 0.3, MaskMode::Keep);
    float lowest_kept = 2, highest_blanked = -1;
    for (int i = 0; i < 1000; ++i) {
        if (keep[static_cast<std::size_t>(i)]) lowest_kept = std::min(lowest_kept, map[static_cast<std::size_t>(i)]);
        else highest_blanked = std::max(highest_blanked, map[static_cast<std::size_t>(i)]);
    }
    CHECK(lowest_kept >= highest_blanked);
}

TEST_CASE("the random baseline's masks are uniform over pixels (chi-square, fixed seed)", "[eval][masks]") {
    // 4000 random maps of 100 pixels, KAR 10%: each pixel is kept 400 times in expectation.
    const int images = 4000, pixels = 100;
    std::vector<double> kept(pixels, 0);
    std::vector<double> bins(10, 0);
    for (int i = 0; i < images; ++i) {
        const std::vector<float> map = random_map(pixels, 42, static_cast<std::uint64_t>(i));
        for (const float v : map) {
            REQUIRE(v >= 0.0f);
            REQUIRE(v < 1.0f);
            bins[static_cast<std::size_t>(v * 10)] += 1;
        }
        const auto mask = salience_mask(map.data(), pixels, 0.1, MaskMode::Keep);
        for (int p = 0; p < pixels; ++p) kept[static_cast<std::size_t>(p)] += mask[static_cast<std::size_t>(p)];
    }
    double chi2 = 0;
    const double expected = images * 0.1;
    for (const double k : kept) chi2 += (k - expected) * (k - expected) / expected;
    // The count per pixel is binomial(4000, 0.1); with the binomial variance n p (1 - p) the
    // statistic is chi-square with 99 degrees of freedom (the counts sum to 400 x 100 exactly):
    // its 0.999 quantile is 148.2. A mask that favoured some pixels (e.g. ties by index on a
    // constant map) would give a statistic in the tens of thousands.
    CHECK(chi2 / 0.9 < 148.2);
    double chi2_values = 0;
    const double per_bin = images * pixels / 10.0;
    for (const double b : bins) chi2_values += (b - per_bin) * (b - per_bin) / per_bin;
    CHECK(chi2_values < 27.88);  // 9 degrees of freedom, 0.999 quantile
    // Same seed and stream: the same map; another stream: another map.
    CHECK(random_map(50, 1, 2) == random_map(50, 1, 2));
    CHECK(random_map(50, 1, 2) != random_map(50, 1, 3));
}

TEST_CASE("blanked pixels take the per-channel means", "[eval][masks]") {
    std::vector<float> image = {1, 2, 3, 4, 10, 20, 30, 40};  // 2 channels x 4 pixels
    const std::vector<std::uint8_t> keep = {1, 0, 1, 0};
    replace_with_means(image.data(), 2, 4, keep.data(), {0.5f, -7.0f});
    CHECK(image == std::vector<float>{1, 0.5f, 3, 0.5f, 10, -7, 30, -7});
    CHECK_THROWS_WITH(replace_with_means(image.data(), 2, 4, keep.data(), {0.5f}), Catch::Contains("1 means for 2 channels"));
}

TEST_CASE("linear imputation: a single hole is the weighted mean of its 8 neighbours", "[eval][imputation]") {
    // 3 x 3, centre removed: 1/6 (4-neighbours) and 1/12 (diagonals) sum to 1.
    std::vector<float> image = {1, 2, 3, 4, 99, 6, 7, 8, 9};
    std::vector<std::uint8_t> removed(9, 0);
    removed[4] = 1;
    const ImputationResult r = impute_linear(image.data(), 1, 3, 3, removed.data());
    const double expected = (2 + 4 + 6 + 8) / 6.0 + (1 + 3 + 7 + 9) / 12.0;  // 5
    CHECK(image[4] == Approx(expected).epsilon(1e-6));
    CHECK(r.removed == 1);
    // A corner hole: neighbours outside the image dropped, weights renormalised:
    // (1/6 * (2 + 4) + 1/12 * 5) / (2/6 + 1/12).
    std::vector<float> corner = {0, 2, 3, 4, 5, 6, 7, 8, 9};
    std::vector<std::uint8_t> top_left(9, 0);
    top_left[0] = 1;
    impute_linear(corner.data(), 1, 3, 3, top_left.data());
    CHECK(corner[0] == Approx((6.0 / 6 + 5.0 / 12) / (2.0 / 6 + 1.0 / 12)).epsilon(1e-6));
}

TEST_CASE("linear imputation: two adjacent holes solved jointly", "[eval][imputation]") {
    // 3 x 4 image, holes at (1,1) and (2,1) (x, y). Each hole's neighbour weights sum to 1; they
    // are 4-neighbours of each other (1/6). With known sums
    //   b1 = 1/6 (v(1,0) + v(0,1) + v(1,2)) + 1/12 (v(0,0) + v(2,0) + v(0,2) + v(2,2))
    //   b2 = 1/6 (v(2,0) + v(3,1) + v(2,2)) + 1/12 (v(1,0) + v(3,0) + v(1,2) + v(3,2))
    // the system x1 - x2/6 = b1, x2 - x1/6 = b2 gives x1 = (b1 + b2/6) / (1 - 1/36).
    std::vector<float> v = {1, 2, 3, 4,
                            5, 0, 0, 8,
                            9, 10, 11, 12};
    std::vector<std::uint8_t> removed = {0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0};
    const double b1 = (2 + 5 + 10) / 6.0 + (1 + 3 + 9 + 11) / 12.0;
    const double b2 = (3 + 8 + 11) / 6.0 + (2 + 4 + 10 + 12) / 12.0;
    const double x1 = (b1 + b2 / 6) / (1 - 1.0 / 36), x2 = (b2 + b1 / 6) / (1 - 1.0 / 36);
    const std::vector<float> before = v;
    impute_linear(v.data(), 1, 3, 4, removed.data(), {1e-10, 0.0, {}, 0});
    CHECK(v[5] == Approx(x1).epsilon(1e-6));
    CHECK(v[6] == Approx(x2).epsilon(1e-6));
    for (int p = 0; p < 12; ++p)
        if (!removed[static_cast<std::size_t>(p)]) CHECK(v[static_cast<std::size_t>(p)] == before[static_cast<std::size_t>(p)]);
}

TEST_CASE("linear imputation solves the system on a large mask; noise is seeded with sigma", "[eval][imputation]") {
    const int h = 48, w = 56, n = h * w;
    std::vector<float> image(3 * n);
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < n; ++p) image[static_cast<std::size_t>(c * n + p)] = std::sin(0.1f * p + c) + 0.01f * (p % 7);
    const std::vector<float> map = random_map(n, 3, 0);
    const std::vector<std::uint8_t> removed = road_removed(map.data(), n, 0.9, true);
    std::vector<float> solved = image;
    const ImputationResult r = impute_linear(solved.data(), 3, h, w, removed.data(), {1e-7, 0.0, {}, 0});
    CHECK(r.removed == std::llround(0.9 * n));
    for (int c = 0; c < 3; ++c) CHECK(imputation_residual(solved.data() + c * n, h, w, removed.data()) < 1e-6);
    for (int p = 0; p < 3 * n; ++p)
        if (!removed[static_cast<std::size_t>(p % n)]) REQUIRE(solved[static_cast<std::size_t>(p)] == image[static_cast<std::size_t>(p)]);
    // The unsolved image does not satisfy the system (the check can fail).
    CHECK(imputation_residual(image.data(), h, w, removed.data()) > 1e-2);

    // Noise: imputed minus noiseless has std sigma (0.01), zero mean; the same seed repeats.
    std::vector<float> noisy = image, again = image, other = image;
    ImputationOptions options{1e-7, 0.01, {}, 11};
    impute_linear(noisy.data(), 3, h, w, removed.data(), options);
    impute_linear(again.data(), 3, h, w, removed.data(), options);
    options.seed = 12;
    impute_linear(other.data(), 3, h, w, removed.data(), options);
    CHECK(noisy == again);
    CHECK(noisy != other);
    double sum = 0, sq = 0;
    int count = 0;
    for (int p = 0; p < 3 * n; ++p)
        if (removed[static_cast<std::size_t>(p % n)]) {
            const double d = noisy[static_cast<std::size_t>(p)] - solved[static_cast<std::size_t>(p)];
            sum += d;
            sq += d * d;
            ++count;
        }
    const double mean = sum / count;
    CHECK(std::abs(mean) < 0.001);
    CHECK(std::sqrt(sq / count - mean * mean) == Approx(0.01).epsilon(0.05));
    std::vector<std::uint8_t> all(static_cast<std::size_t>(n), 1);
    CHECK_THROWS_WITH(impute_linear(image.data(), 3, h, w, all.data()), Catch::Contains("every pixel is removed"));
}

TEST_CASE("linear imputation: large connected holes (a smooth map's) are solved to the tolerance", "[eval][imputation]") {
    // A smooth map removes one large connected region: the hard case for iterative solvers.
    const int h = 96, w = 96, n = h * w;
    std::vector<float> image(3 * n), map(n);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int p = y * w + x;
            map[static_cast<std::size_t>(p)] = -static_cast<float>((x - 40) * (x - 40) + (y - 50) * (y - 50));
            for (int c = 0; c < 3; ++c) image[static_cast<std::size_t>(c * n + p)] = std::cos(0.07f * x * (c + 1)) + 0.02f * y;
        }
    for (const bool morf : {true, false}) {
        const std::vector<std::uint8_t> removed = road_removed(map.data(), n, 0.9, morf);
        std::vector<float> solved = image;
        const ImputationResult r = impute_linear(solved.data(), 3, h, w, removed.data(), {1e-9, 0.0, {}, 0});
        CHECK(r.removed == std::llround(0.9 * n));
        CHECK(r.relative_residual < 1e-9);
        // The residual recomputed independently (in double, from the float pixels written back).
        for (int c = 0; c < 3; ++c) CHECK(imputation_residual(solved.data() + c * n, h, w, removed.data()) < 1e-6);
    }
    // A linear image is its own neighbour mean away from the border (the weights are symmetric):
    // an interior hole of a plane is filled with the plane exactly.
    std::vector<float> plane(n), filled(n);
    std::vector<std::uint8_t> hole(static_cast<std::size_t>(n), 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            plane[static_cast<std::size_t>(y * w + x)] = 0.25f + 0.01f * x - 0.005f * y;
            if (x >= 10 && x < 80 && y >= 20 && y < 86) hole[static_cast<std::size_t>(y * w + x)] = 1;
        }
    filled = plane;
    for (int p = 0; p < n; ++p)
        if (hole[static_cast<std::size_t>(p)]) filled[static_cast<std::size_t>(p)] = 0;
    impute_linear(filled.data(), 1, h, w, hole.data(), {1e-9, 0.0, {}, 0});
    for (int p = 0; p < n; ++p) REQUIRE(filled[static_cast<std::size_t>(p)] == Approx(plane[static_cast<std::size_t>(p)]).margin(1e-5));
}

TEST_CASE("difference score (Eq. 8) and information score (Eq. 9) on hand inputs", "[eval][scores]") {
    const std::vector<double> zr = {0.7, 0.6}, rho = {0.4, 0.5}, kappa = {0.6, 0.7}, zk = {0.5, 0.5};
    CHECK(difference_score(zr, rho, kappa, zk) == Approx((0.3 + 0.1) + (0.1 + 0.2)));
    // 0.4 log2(0.7/0.4) + 0.5 log2(0.6/0.5) + 0.5 log2(0.6/0.5) + 0.5 log2(0.7/0.5)
    CHECK(information_score(zr, rho, kappa, zk) == Approx(0.322942 + 0.131517 + 0.131517 + 0.242713).epsilon(1e-5));
    // A method equal to random scores 0 on both.
    CHECK(difference_score(zr, zr, zk, zk) == Approx(0.0).margin(1e-12));
    CHECK(information_score(zr, zr, zk, zk) == Approx(0.0).margin(1e-12));
    // The paper's Table 4 (COWC, SMOE Scale against Random) gives Table 1's D = 1.61.
    const std::vector<double> random_kar = {0.6505, 0.5743, 0.5230, 0.6431, 0.6555};
    const std::vector<double> random_roar = {0.7738, 0.7544, 0.7111, 0.7825, 0.7732};
    const std::vector<double> smoe_kar = {0.6419, 0.6302, 0.7105, 0.6287, 0.8065};
    const std::vector<double> smoe_roar = {0.4516, 0.4409, 0.4397, 0.6278, 0.5949};
    CHECK(difference_score(random_roar, smoe_roar, smoe_kar, random_kar) == Approx(1.61).margin(0.005));
    CHECK_THROWS_WITH(difference_score({1}, {1, 2}, {1}, {1}), Catch::Contains("one value per layer"));
    CHECK(std::isnan(information_score({0.5}, {0.2}, {0.0}, {0.5})));
}

TEST_CASE("image-level sums and the ROAD area", "[eval][scores]") {
    const KarRoarSums s = kar_roar_sums({0.5, 0.6, 0.7}, {0.4, 0.3, 0.2});
    CHECK(s.kar == Approx(1.8));
    CHECK(s.roar == Approx(-0.9));
    CHECK(s.total == Approx(0.9));
    // Trapezoids of (upper - lower) = 0.2, 0.4, 0.2 over x 0.1, 0.5, 0.9.
    CHECK(area_between({0.1, 0.5, 0.9}, {0.6, 0.8, 0.5}, {0.4, 0.4, 0.3}) == Approx(0.4 * 0.3 + 0.4 * 0.3));
    CHECK_THROWS(area_between({0.5, 0.1}, {1, 1}, {0, 0}));
    const MeanSpread m = mean_spread({1, 2, 3, 4});
    CHECK(m.mean == Approx(2.5));
    CHECK(m.std == Approx(std::sqrt(5.0 / 3.0)));
}

TEST_CASE("evaluate config: defaults, lists and errors naming the key", "[eval][config]") {
    const EvalOptions o = parse_eval_config("output = out\ninit_model = " SATSAL_FIXTURES_DIR "/eval/tiny-count.pt\n"
                                            "statistics = smoe,std\nseeds = 1,2,3\n",
                                            "t.ini", "/tmp");
    CHECK(o.statistics == std::vector<std::string>{"smoe", "std", "random"});
    CHECK(o.seed_values == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(o.threshold_values == std::vector<int>{10, 30, 50, 70, 90});
    CHECK(o.data_root == "/tmp/out/data");
    CHECK(o.layer_kar_keep == 0.025);
    CHECK(o.layer_roar_keep == 0.1);
    CHECK(o.methods.size() == 9);
    const std::string base = "output = out\ninit_model = " SATSAL_FIXTURES_DIR "/eval/tiny-count.pt\n";
    CHECK_THROWS_WITH(parse_eval_config(base + "statistics = smoe,bogus\n", "t.ini", "/tmp"),
                      Catch::Contains("t.ini:3: statistics: expected a comma list of"));
    CHECK_THROWS_WITH(parse_eval_config(base + "thresholds = 50,10\n", "t.ini", "/tmp"),
                      Catch::Contains("thresholds: expected a comma list of integers in 1..99, ascending"));
    CHECK_THROWS_WITH(parse_eval_config(base + "list = " SATSAL_FIXTURES_DIR "/eval/tiny-count.pt\n", "t.ini", "/tmp"),
                      Catch::Contains("needs test_list and root"));
    CHECK_THROWS_WITH(parse_eval_config("output = out\n", "t.ini", "/tmp"), Catch::Contains("missing required key 'init_model'"));
}
