// `satsal run` with config `method` (pipeline/MethodPass.hpp): a tiled Grad-CAM scene run against
// `explain --method gradcam` on the whole image, the method's outputs and metadata, config errors
// naming the key, and bf16 runs whose gradients come from a float32 copy.
#include "io/RunConfig.hpp"
#include "methods/Attribution.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/Explain.hpp"
#include "pipeline/SceneRun.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace satsal;
using namespace satsal::ptest;

namespace {

RunConfig method_config(const TempDir& dir, const std::string& scene, const std::string& out,
                        const std::vector<std::string>& lines) {
    std::string text = "model = " + tiny_resnet() + "\noutput_dir = " + out + "\nthreads = 2\nquiet = true\n" +
                       "scene = " + scene + "\n";
    for (const auto& line : lines) text += line + "\n";
    return parse_run_config(text, "method.ini", dir.path());
}

std::string config_error(const TempDir& dir, const std::string& scene, const std::vector<std::string>& lines) {
    try {
        method_config(dir, scene, dir.file("out-error"), lines);
    } catch (const RunConfigError& error) {
        return error.what();
    }
    return "(no error)";
}

nlohmann::json run_json(const std::string& folder) { return nlohmann::json::parse(read_text(folder + "/run.json")); }

/// Largest |a - b| over pixels at least `border` px from every edge of a [H, W] pair.
double interior_difference(const H5Array& a, const H5Array& b, int64_t border) {
    REQUIRE(a.dims == b.dims);
    const int64_t h = a.dims[0], w = a.dims[1];
    double worst = 0;
    for (int64_t y = border; y < h - border; ++y) {
        for (int64_t x = border; x < w - border; ++x) {
            const std::size_t i = static_cast<std::size_t>(y * w + x);
            worst = std::max(worst, std::fabs(a.values[i] - b.values[i]));
        }
    }
    return worst;
}

}  // namespace

TEST_CASE("run: method = gradcam tiled equals explain --method gradcam on the whole image away from the borders",
          "[pipeline][run][methods]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 256, 256, 3, GDT_Byte, texture_value);

    // The whole image at once, class 3 (a fixed class: each tile's predicted class may differ).
    ExplainOptions explain_options;
    explain_options.model_path = tiny_resnet();
    explain_options.image_path = scene;
    explain_options.out_dir = dir.file("explain");
    explain_options.threads = 2;
    explain_options.method.method = Method::GradCam;
    explain_options.method.target_class = 3;
    explain(explain_options);
    const H5Array whole = read_h5(dir.file("explain/saliency.h5"), "/gradcam");

    // Tiles of 64 px with 64 px of context: 16 tiles, each input 192 x 192.
    const std::string out = dir.file("run");
    const RunOutcome outcome = run_scenes(method_config(dir, scene, out, {"method = gradcam", "class = 3",
                                                                          "tile_size = 64", "margin = 64"}));
    REQUIRE(outcome.all_ok());
    const std::string folder = out + "/scene";
    const H5Array tiled = read_h5(folder + "/saliency.h5", "/gradcam");
    REQUIRE(tiled.dims == std::vector<int64_t>{256, 256});
    // saliency.tif holds the method's map; /combined keeps the SMOE map.
    const Raster shown = read_raster(folder + "/saliency.tif");
    double tif_difference = 0;
    for (std::size_t i = 0; i < tiled.values.size(); ++i) {
        tif_difference = std::max(tif_difference, std::fabs(shown.values[i] - tiled.values[i]));
    }
    CHECK(tif_difference == 0.0);
    const H5Array combined = read_h5(folder + "/saliency.h5", "/combined");
    CHECK(interior_difference(combined, tiled, 0) > 0.05);

    // Scene-wide min-max: exactly 0 and 1 somewhere, as explain's per-image normalization.
    CHECK(*std::min_element(tiled.values.begin(), tiled.values.end()) == 0.0);
    CHECK(*std::max_element(tiled.values.begin(), tiled.values.end()) == Approx(1.0).margin(1e-6));
    // Away from the scene's edges (where tiles see reflect padding and the whole image the
    // network's zero padding) the tiled map is the whole-image map. Measured: 1.5e-3 (the tiny
    // ResNet's receptive field is wider than 64 px; the 3x3 layer4 map of each tile sees some
    // tile padding). Tolerance 0.01 of the [0, 1] range.
    const double interior = interior_difference(tiled, whole, 64);
    INFO("largest interior difference " << interior);
    CHECK(interior <= 0.01);

    const nlohmann::json report = run_json(folder);
    CHECK(report["method"]["method"] == "gradcam class=3 tap=layer4");
    CHECK(report["method"]["precision"] == "fp32 (the run's model)");
    CHECK(report["method"]["grid_stride"] == 32);
    CHECK(h5_string_attribute(folder + "/saliency.h5", "method") == "gradcam class=3 tap=layer4");
    GDALDatasetUniquePtr tif(GDALDataset::Open((folder + "/saliency.tif").c_str(), GDAL_OF_RASTER));
    REQUIRE(tif);
    const char* method = tif->GetMetadataItem("method");
    REQUIRE(method != nullptr);
    CHECK(std::string(method) == "gradcam class=3 tap=layer4");
}

TEST_CASE("run: method = fastcam is the SMOE combined map x the scene's Grad-CAM; gradient writes its maps",
          "[pipeline][run][methods]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 160, 96, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("run");
    REQUIRE(run_scenes(method_config(dir, scene, out, {"method = fastcam", "tile_size = 64", "margin = 32"})).all_ok());
    const std::string h5 = out + "/scene/saliency.h5";
    const H5Array combined = read_h5(h5, "/combined"), cam = read_h5(h5, "/gradcam");
    const H5Array fastcam = read_h5(h5, "/fastcam"), nonclass = read_h5(h5, "/fastcam_nonclass");
    double worst = 0;
    for (std::size_t i = 0; i < combined.values.size(); ++i) {
        worst = std::max(worst, std::fabs(fastcam.values[i] - combined.values[i] * cam.values[i]));
        worst = std::max(worst, std::fabs(nonclass.values[i] - combined.values[i] * (1 - cam.values[i])));
    }
    CHECK(worst <= 1e-6);
    CHECK(run_json(out + "/scene")["method"]["method"] == "fastcam class=predicted tap=layer4");

    const std::string out2 = dir.file("run-gradient");
    REQUIRE(run_scenes(method_config(dir, scene, out2, {"method = gradient", "reduce = sum-abs", "tile_size = 64",
                                                        "margin = 32"}))
                .all_ok());
    const std::string h5g = out2 + "/scene/saliency.h5";
    const H5Array raw = read_h5(h5g, "/attribution_reduced"), normalized = read_h5(h5g, "/saliency");
    const auto [low, high] = std::minmax_element(raw.values.begin(), raw.values.end());
    CHECK(*low >= 0.0);
    double normalization_error = 0;
    for (std::size_t i = 0; i < raw.values.size(); ++i) {
        normalization_error = std::max(normalization_error,
                                       std::fabs(normalized.values[i] - (raw.values[i] - *low) / (*high - *low)));
    }
    CHECK(normalization_error <= 1e-5);
}

TEST_CASE("run config: method errors name the key and what was expected", "[pipeline][run][methods][config]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 64, 64, 3, GDT_Byte, texture_value);
    CHECK_THAT(config_error(dir, scene, {"method = gradcamm"}),
               Catch::Contains("method.ini:6: method: expected one of smoe, gradient, guided-backprop, "
                               "integrated-gradients, gradcam, gradcam++, fastcam, got 'gradcamm'"));
    CHECK_THAT(config_error(dir, scene, {"method = gradcam", "steps = 10"}),
               Catch::Contains("steps: applies to method = integrated-gradients, not to method = gradcam"));
    CHECK_THAT(config_error(dir, scene, {"method = gradcam", "smoothgrad_sq = true"}),
               Catch::Contains("smoothgrad_sq: applies to method = gradient, guided-backprop or integrated-gradients"));
    CHECK_THAT(config_error(dir, scene, {"method = gradient", "samples = 4"}),
               Catch::Contains("samples: applies to smoothgrad_sq = true"));
    CHECK_THAT(config_error(dir, scene, {"method = gradient", "class = -1"}),
               Catch::Contains("class: expected predicted or a class index 0..1000000, got '-1'"));
    CHECK_THAT(config_error(dir, scene, {"class = 2"}), Catch::Contains("class: applies to gradient methods, not to method = smoe (default)"));
    CHECK_THAT(config_error(dir, scene, {"method = gradient", "noise = -1"}), Catch::Contains("noise: expected"));
    CHECK_THAT(config_error(dir, scene, {"method = integrated-gradients", "steps = 0"}), Catch::Contains("steps: expected"));
    CHECK_THAT(config_error(dir, scene, {"method = gradient", "cam_tap = layer3"}),
               Catch::Contains("cam_tap: applies to method = gradcam, gradcam++ or fastcam"));
    // The resolved config reads back as the same config (every method key at its value).
    const RunConfig ig = method_config(dir, scene, dir.file("o"), {"method = integrated-gradients", "steps = 7",
                                                                   "smoothgrad_sq = true", "samples = 3", "class = 1"});
    CHECK(parse_run_config(to_ini(ig), "again.ini", dir.path()) == ig);

    // Checks that need the model stop the run before any scene.
    CHECK_THROWS_WITH(run_scenes(method_config(dir, scene, dir.file("o2"), {"method = gradcam", "cam_tap = fc"})),
                      Catch::Contains("cam_tap: Grad-CAM tap 'fc' is not one of the model's taps"));
    // A class the model does not have fails the scene, naming the class and the outputs.
    const RunOutcome bad_class = run_scenes(method_config(dir, scene, dir.file("o3"), {"method = gradcam", "class = 1000",
                                                                                       "tile_size = 32", "margin = 32"}));
    REQUIRE(bad_class.scenes.size() == 1);
    CHECK_FALSE(bad_class.scenes[0].ok);
    CHECK_THAT(bad_class.scenes[0].error, Catch::Contains("1000") && Catch::Contains("has 10 outputs"));
    CHECK(folder_entries(dir.file("o3/scene")).empty());
}

TEST_CASE("run: precision = bf16 computes the method on a float32 copy; a bf16 model alone is refused",
          "[pipeline][run][methods][precision]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 128, 64, 3, GDT_Byte, texture_value);
    const std::vector<std::string> lines = {"method = gradcam", "class = 2", "tile_size = 64", "margin = 32"};
    std::vector<std::string> bf16_lines = lines, fp32_lines = lines;
    bf16_lines.push_back("precision = bf16");
    fp32_lines.push_back("precision = fp32");
    REQUIRE(run_scenes(method_config(dir, scene, dir.file("bf16"), bf16_lines)).all_ok());
    REQUIRE(run_scenes(method_config(dir, scene, dir.file("fp32"), fp32_lines)).all_ok());
    const nlohmann::json report = run_json(dir.file("bf16/scene"));
    CHECK(report["precision"] == "bf16");
    CHECK(report["method"]["precision"] == "fp32 (a float32 copy of the model; the SMOE forward runs bf16)");
    // The gradients come from the same float32 network on the same tiles: the same map, bit for
    // bit; only the SMOE maps differ.
    const H5Array cam_bf16 = read_h5(dir.file("bf16/scene/saliency.h5"), "/gradcam");
    const H5Array cam_fp32 = read_h5(dir.file("fp32/scene/saliency.h5"), "/gradcam");
    CHECK(cam_bf16.values == cam_fp32.values);
    CHECK(read_h5(dir.file("bf16/scene/saliency.h5"), "/combined").values !=
          read_h5(dir.file("fp32/scene/saliency.h5"), "/combined").values);

    InferenceOptions inference;
    inference.precision = Precision::Bf16;
    const TappedModel bf16_model(tiny_resnet(), {}, false, inference);
    CHECK_THROWS_WITH(GradientMethods(bf16_model),
                      Catch::Contains("computes in bf16; gradient methods need it in fp32"));
}

TEST_CASE("run: margin = auto measures the method's seams; at its margin tiled gradients equal whole-image ones",
          "[pipeline][run][methods][margin]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 512, 512, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("run");
    REQUIRE(run_scenes(method_config(dir, scene, out, {"method = gradient", "class = 5", "tile_size = 128",
                                                       "margin = auto"}))
                .all_ok());
    const nlohmann::json tiling = run_json(out + "/scene")["tiling"];
    const int64_t margin = tiling["margin"];
    const nlohmann::json& measured = tiling["margin_choice"]["measured"];
    REQUIRE(measured.size() >= 1);
    for (const auto& entry : measured) CHECK(entry["errors"].size() == 6);  // 5 taps, then the method
    CHECK(measured.back()["errors"][5].get<double>() <= 0.01);
    CHECK_THAT(tiling["margin_choice"]["method"].get<std::string>(), Catch::Contains("gradient class=5"));

    // Independently of the probe: the scene's raw attribution against explain's on the whole
    // image, each times its network input's pixel count (the global average pool divides the
    // score's gradient by it), compared 128 px away from the scene's edges.
    ExplainOptions options;
    options.model_path = tiny_resnet();
    options.image_path = scene;
    options.out_dir = dir.file("explain");
    options.threads = 2;
    options.method.method = Method::Gradient;
    options.method.target_class = 5;
    explain(options);
    const H5Array whole = read_h5(dir.file("explain/saliency.h5"), "/attribution_reduced");
    H5Array tiled = read_h5(out + "/scene/saliency.h5", "/attribution_reduced");
    H5Array whole_scaled = whole;
    const double side = 128.0 + 2.0 * static_cast<double>(margin);
    for (double& v : tiled.values) v *= side * side;
    for (double& v : whole_scaled.values) v *= 512.0 * 512.0;
    const double peak = *std::max_element(whole_scaled.values.begin(), whole_scaled.values.end());
    const double interior = interior_difference(tiled, whole_scaled, 128) / peak;
    INFO("margin " << margin << ", largest interior difference relative to the max " << interior);
    CHECK(interior <= 0.01);
}
