// Counting runs with config `method` (pipeline/MethodWindows.hpp): the method is scored per
// counting window in the COWC layout (the logit of the window's own predicted count), and the
// four half-window phases are blended so that the window grid does not show.
#include "test_support.hpp"

#include "methods/Attribution.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/RasterSeams.hpp"
#include "saliency/Combine.hpp"
#include "saliency/TensorStatistics.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <algorithm>
#include <cmath>

using namespace satsal;
using namespace satsal::ptest;

TEST_CASE("count run, method = gradcam: each counting window scored with its own predicted count, phases blended "
          "without a window grid", "[pipeline][count][methods]") {
    TempDir dir;
    // One synthetic COWC scene of 768 x 768 px: 4 x 4 counting windows; 4 phases of 4 x 4 windows.
    const CommandResult made = run_satsal(
        "make-cowc " + quoted(dir.file("cowc")) + " --scene-size 768 --train-scenes 1 --test-scenes 0 --no-geotiffs", dir);
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    const std::string scene = dir.file("cowc/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_a.png");
    const std::string model = std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt";
    write_text(dir.file("count.ini"), "model = " + model + "\nscene = " + scene + "\noutput_dir = " + dir.file("out") +
                                          "\ntask = count\nmethod = gradcam\ntile_size = 256\nmargin = 64\n"
                                          "threads = 2\nquiet = true\n");
    const CommandResult run = run_satsal("run " + quoted(dir.file("count.ini")), dir);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    const std::string out = dir.file("out/syn-01.5%_a");
    const nlohmann::json method = nlohmann::json::parse(read_text(out + "/run.json")).at("method");
    CHECK(method.at("grid_stride") == 1);
    CHECK_THAT(method.at("score").get<std::string>(), Catch::Contains("the window's predicted count"));
    const nlohmann::json& windows = method.at("windows");
    CHECK(windows.at("windows") == 64);
    CHECK(windows.at("processed") == 64);
    // The counting windows' scored classes are the counts of counts.csv.
    CHECK(windows.at("counting_windows_scored") == 16);
    CHECK(windows.at("counting_windows_class_is_count") == 16);

    // Independently: window (0, 0) alone in its 224 px canvas (mean colour = 0 after
    // standardization), Grad-CAM of its arg-max class on layer4, upsampled to the canvas. Only
    // phase 0 covers x, y < 96 px, so there the run's map is that window's, min-max normalized with
    // the scene range run.json reports.
    const Raster image = read_raster(scene);
    REQUIRE(image.bands >= 3);
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std_dev[3] = {0.229f, 0.224f, 0.225f};
    torch::Tensor input = torch::zeros({1, 3, 224, 224});
    auto a = input.accessor<float, 4>();
    for (int c = 0; c < 3; ++c) {
        for (int64_t y = 0; y < 192; ++y) {
            for (int64_t x = 0; x < 192; ++x) {
                a[0][c][y + 16][x + 16] = (static_cast<float>(image.at(c, x, y)) / 255.0f - mean[c]) / std_dev[c];
            }
        }
    }
    const TappedModel network(model);
    const GradientMethods methods(network);
    const torch::Tensor predicted = methods.targets(input, std::nullopt);
    const double low = method.at("range").at(0), high = method.at("range").at(1);
    REQUIRE(high > low);
    auto normalized_cam = [&](int64_t target) {
        const auto cam = methods.grad_cam(input, torch::full({1}, target, torch::kLong), methods.tap_index(""), false);
        Map up = upsample_bilinear(map_from_tensor(cam.raw[0]), 224, 224);
        for (float& v : up.values) v = static_cast<float>((v - low) / (high - low));
        return up;
    };
    const int64_t count = predicted[0].item<int64_t>();
    const Map expected = normalized_cam(count);
    const Map other = normalized_cam((count + 5) % 65);  // another count's logit as the score
    const H5Array got = read_h5(out + "/saliency.h5", "/gradcam");
    REQUIRE(got.dims == std::vector<int64_t>{768, 768});
    double difference = 0, other_difference = 0;
    for (int64_t y = 0; y < 96; ++y) {
        for (int64_t x = 0; x < 96; ++x) {
            const double value = got.values[static_cast<std::size_t>(y * 768 + x)];
            difference = std::max(difference, std::fabs(value - expected.at(x + 16, y + 16)));
            other_difference = std::max(other_difference, std::fabs(value - other.at(x + 16, y + 16)));
        }
    }
    INFO("window (0, 0) counts " << count << "; largest difference " << difference << ", against another count's map "
                                 << other_difference);
    CHECK(difference <= 1e-4);
    CHECK(other_difference > 1e-2);

    // No window grid: across the 96 px lines (every phase's window edges) the map steps about as
    // much as elsewhere. Phase 0 alone stepped 79x (x) and 76x (y) across the 192 px grid of the
    // demo scene.
    const RasterGridSteps steps = measure_grid_steps(out + "/saliency.tif", 1, 96);
    INFO("x ratio " << steps.x.ratio() << ", y ratio " << steps.y.ratio());
    CHECK(steps.x.ratio() <= 1.5);
    CHECK(steps.y.ratio() <= 1.5);
}
