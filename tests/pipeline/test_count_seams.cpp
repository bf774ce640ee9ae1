// Counting runs (task = count): saliency without the 192 px window grid, counts from the windows.
#include "test_support.hpp"

#include "cowc/CountingInference.hpp"
#include "pipeline/RasterSeams.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace satsal;
using namespace satsal::ptest;

namespace {

std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream row(line);
    for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
    return fields;
}

/// counts.csv's `predicted` column (found by its header), by window.
std::vector<int> predicted_column(const std::string& csv) {
    std::istringstream in(read_text(csv));
    std::string line;
    std::getline(in, line);
    const std::vector<std::string> header = csv_fields(line);
    const auto column = std::find(header.begin(), header.end(), "predicted");
    REQUIRE(column != header.end());
    const std::size_t at = static_cast<std::size_t>(column - header.begin());
    std::vector<int> out;
    while (std::getline(in, line)) {
        const std::vector<std::string> fields = csv_fields(line);
        REQUIRE(fields.size() == header.size());
        out.push_back(std::stoi(fields[at]));
    }
    return out;
}

}  // namespace

TEST_CASE("count run: saliency.tif shows no 192 px window grid, equals a saliency run's, and the windows are counted "
          "in the COWC layout", "[pipeline][count][seams]") {
    TempDir dir;
    // One synthetic COWC scene of 768 x 768 px: 4 x 4 counting windows, 3 window edges per axis.
    const CommandResult made = run_satsal(
        "make-cowc " + quoted(dir.file("cowc")) + " --scene-size 768 --train-scenes 1 --test-scenes 0 --no-geotiffs", dir);
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    const std::string truth = dir.file("cowc/ground_truth_sets/Synthetic_SATSAL");
    const std::string scene = truth + "/syn-01.5%_a.png";
    const std::string model = std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt";
    auto config = [&](const std::string& name, const std::string& task, const std::string& tiling = "tile_size = 256\nmargin = 64") {
        const std::string path = dir.file(name);
        write_text(path, "model = " + model + "\nscene = " + scene + "\noutput_dir = " + dir.file(name + ".out") +
                             "\ntask = " + task + "\n" + tiling + "\nthreads = 2\nquiet = true\n");
        return path;
    };
    const CommandResult count = run_satsal("run " + quoted(config("count.ini", "count")), dir);
    INFO(count.err);
    REQUIRE(count.exit_code == 0);
    const CommandResult saliency = run_satsal("run " + quoted(config("saliency.ini", "saliency")), dir);
    INFO(saliency.err);
    REQUIRE(saliency.exit_code == 0);
    const std::string count_out = dir.file("count.ini.out/syn-01.5%_a");
    const std::string saliency_out = dir.file("saliency.ini.out/syn-01.5%_a");

    // No seams: across the window edges the saliency steps no more than the scene's content makes
    // it step there. The content's own figure comes from one tile over the whole scene (no tile
    // or window edge anywhere): 1.55 (x) and 1.23 (y) with the v3 demo network, whose maps step at
    // this scene's roads, some of which run along the 192 px lines; the count run gave 1.56 and
    // 1.24, and saliency from the windows themselves 2.8x and 2.5x with the v1 network.
    const CommandResult whole = run_satsal("run " + quoted(config("whole.ini", "saliency", "tile_size = 768\nmargin = 0")), dir);
    INFO(whole.err);
    REQUIRE(whole.exit_code == 0);
    const RasterGridSteps content = measure_grid_steps(dir.file("whole.ini.out/syn-01.5%_a") + "/saliency.tif", 1, 192);
    const RasterGridSteps steps = measure_grid_steps(count_out + "/saliency.tif", 1, 192);
    CHECK(steps.x.boundary_steps == 3 * 768);
    CHECK(steps.y.boundary_steps == 3 * 768);
    INFO("count run " << steps.x.ratio() << " / " << steps.y.ratio() << ", one tile " << content.x.ratio() << " / "
                      << content.y.ratio());
    CHECK(steps.x.ratio() <= 1.1 * content.x.ratio());
    CHECK(steps.y.ratio() <= 1.1 * content.y.ratio());
    // The saliency is that of a saliency run with the same tiles, pixel for pixel.
    for (const char* file : {"saliency.tif", "lovi.tif"}) {
        INFO(file);
        const Raster a = read_raster(count_out + "/" + file), b = read_raster(saliency_out + "/" + file);
        REQUIRE(a.values.size() == b.values.size());
        int64_t different = 0;
        for (std::size_t i = 0; i < a.values.size(); ++i) {
            const bool same = a.values[i] == b.values[i] || (std::isnan(a.values[i]) && std::isnan(b.values[i]));
            different += same ? 0 : 1;
        }
        CHECK(different == 0);
    }

    // The counts are the network's on each window alone: 192 px of scene in a 224 px canvas of the
    // mean colour (0 after standardization), computed here one window at a time.
    const std::vector<int> predicted = predicted_column(count_out + "/counts.csv");
    REQUIRE(predicted.size() == 16);
    const Raster image = read_raster(scene);
    REQUIRE(image.bands >= 3);
    int classes = 0;
    torch::jit::Module network = counting::load_counting_model(model, classes);
    torch::NoGradGuard no_grad;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std_dev[3] = {0.229f, 0.224f, 0.225f};
    int64_t total = 0;
    for (int64_t window = 0; window < 16; ++window) {
        const int64_t x0 = (window % 4) * 192, y0 = (window / 4) * 192;
        torch::Tensor input = torch::zeros({1, 3, 224, 224});
        auto a = input.accessor<float, 4>();
        for (int c = 0; c < 3; ++c) {
            for (int64_t y = 0; y < 192; ++y) {
                for (int64_t x = 0; x < 192; ++x) {
                    a[0][c][y + 16][x + 16] =
                        (static_cast<float>(image.at(c, x0 + x, y0 + y)) / 255.0f - mean[c]) / std_dev[c];
                }
            }
        }
        const int expected = static_cast<int>(network.forward({input}).toTensor().argmax(1).item<int64_t>());
        INFO("window " << window);
        CHECK(predicted[static_cast<std::size_t>(window)] == expected);
        total += predicted[static_cast<std::size_t>(window)];
    }
    const nlohmann::json summary = nlohmann::json::parse(read_text(dir.file("count.ini.out/count-summary.json")));
    CHECK(summary.at("scenes").at(0).at("predicted").get<int64_t>() == total);
    // run.json tells the two grids apart.
    const nlohmann::json report = nlohmann::json::parse(read_text(count_out + "/run.json"));
    CHECK(report.at("tiling").at("tile_size") == 256);
    CHECK(report.at("count_windows").at("core") == 192);
    CHECK(report.at("count_windows").at("canvas") == 224);
    CHECK(report.at("count_windows").at("windows") == 16);
}
