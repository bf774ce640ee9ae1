// `satsal explain --method ...` and `satsal bench methods`: the method's map in saliency.tif and
// overlay.png, the datasets and attributes of saliency.h5 (compared with the library computed on
// the same normalized input), option errors that leave no output, and the CLI.
#include "methods/Attribution.hpp"
#include "pipeline/Explain.hpp"
#include "../pipeline/test_support.hpp"
#include "method_support.hpp"

#include <ATen/Parallel.h>

using namespace satsal;
using namespace satsal::ptest;

namespace {

ExplainOptions options_for(const std::string& image, const std::string& out, Method method) {
    ExplainOptions options;
    options.model_path = ptest::tiny_resnet();
    options.image_path = image;
    options.out_dir = out;
    options.threads = 2;
    options.method.method = method;
    return options;
}

// What explain feeds the network: Byte / 255, ImageNet mean/std, [1, 3, H, W].
torch::Tensor network_input(const Raster& image) {
    torch::Tensor x = torch::empty({1, 3, image.height, image.width});
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std_dev[3] = {0.229f, 0.224f, 0.225f};
    for (int b = 0; b < 3; ++b) {
        for (int64_t y = 0; y < image.height; ++y) {
            for (int64_t xx = 0; xx < image.width; ++xx) {
                x[0][b][y][xx] = (static_cast<float>(image.at(b, xx, y)) / 255.0f - mean[b]) / std_dev[b];
            }
        }
    }
    return x;
}

torch::Tensor tensor_of(const H5Array& array) {
    return torch::tensor(array.values, torch::kFloat64).reshape(array.dims);
}

}  // namespace

TEST_CASE("explain --method gradient: /attribution [C,H,W], /saliency = saliency.tif, method attribute",
          "[methods][explain]") {
    at::set_num_threads(2);
    TempDir dir;
    const std::string image = dir.file("image.tif");
    write_tiff(image, 64, 64, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("out");
    const ExplainResult result = explain(options_for(image, out, Method::Gradient));
    CHECK(result.method == "gradient class=predicted reduce=abs-max");

    const TappedModel model(ptest::tiny_resnet());
    const GradientMethods methods(model);
    const torch::Tensor x = network_input(read_raster(image));
    const torch::Tensor targets = methods.targets(x, std::nullopt);
    const torch::Tensor expected = methods.input_gradient(x, targets, false)[0].to(torch::kFloat64);

    const std::string h5 = out + "/saliency.h5";
    const H5Array attribution = read_h5(h5, "/attribution");
    CHECK(attribution.dims == std::vector<int64_t>{3, 64, 64});
    CHECK((tensor_of(attribution) - expected).abs().max().item<double>() <= 1e-5 * expected.abs().max().item<double>());
    const torch::Tensor reduced = tensor_of(read_h5(h5, "/attribution_reduced"));
    CHECK((reduced - expected.abs().amax(0)).abs().max().item<double>() <= 1e-5 * expected.abs().max().item<double>());
    const torch::Tensor saliency = tensor_of(read_h5(h5, "/saliency"));
    CHECK(saliency.min().item<double>() == 0.0);
    CHECK(saliency.max().item<double>() == 1.0);
    const Raster tif = read_raster(out + "/saliency.tif");
    CHECK(torch::equal(torch::tensor(tif.values, torch::kFloat64).reshape({64, 64}), saliency));
    CHECK(h5_string_attribute(h5, "method") == "gradient class=predicted reduce=abs-max");
    CHECK(h5_numeric_attribute(h5, "target_class") == std::vector<double>{double(targets[0].item<int64_t>())});
    // The SMOE outputs are still there.
    CHECK(read_h5(h5, "/combined").dims == std::vector<int64_t>{64, 64});
}

TEST_CASE("explain --method fastcam: /gradcam, /fastcam = /combined x /gradcam, /fastcam_nonclass", "[methods][explain]") {
    at::set_num_threads(2);
    TempDir dir;
    const std::string image = dir.file("image.tif");
    write_tiff(image, 64, 64, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("out");
    explain(options_for(image, out, Method::FastCam));
    const std::string h5 = out + "/saliency.h5";
    const torch::Tensor combined = tensor_of(read_h5(h5, "/combined"));
    const torch::Tensor cam = tensor_of(read_h5(h5, "/gradcam"));
    const torch::Tensor fastcam = tensor_of(read_h5(h5, "/fastcam"));
    CHECK(cam.max().item<double>() == 1.0);
    CHECK((fastcam - combined * cam).abs().max().item<double>() <= 1e-6);
    CHECK((tensor_of(read_h5(h5, "/fastcam_nonclass")) - combined * (1 - cam)).abs().max().item<double>() <= 1e-6);
    const Raster tif = read_raster(out + "/saliency.tif");
    CHECK(torch::equal(torch::tensor(tif.values, torch::kFloat64).reshape({64, 64}), fastcam));
    CHECK(h5_string_attribute(h5, "method") == "fastcam class=predicted tap=layer4");
}

TEST_CASE("explain: method option errors name the option and leave no output", "[methods][explain][errors]") {
    TempDir dir;
    const std::string image = dir.file("image.tif");
    write_tiff(image, 64, 64, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("out");
    ExplainOptions options = options_for(image, out, Method::GradCam);
    options.method.smoothgrad_sq = true;
    CHECK_THAT(mtest::error_of([&] { explain(options); }),
               Catch::Contains("--smoothgrad-sq applies to gradient, guided-backprop or integrated-gradients, not to gradcam"));
    options = options_for(image, out, Method::IntegratedGradients);
    options.method.steps = 0;
    CHECK_THAT(mtest::error_of([&] { explain(options); }), Catch::Contains("--steps 0"));
    options = options_for(image, out, Method::GradCam);
    options.method.cam_tap = "fc";
    CHECK_THAT(mtest::error_of([&] { explain(options); }), Catch::Contains("Grad-CAM tap 'fc' is not one of the model's taps"));
    CHECK(folder_entries(out).empty());
    CHECK_THAT(mtest::error_of([] { parse_method("lime"); }),
               Catch::Contains("method 'lime' is not known") && Catch::Contains("guided-backprop"));
}

TEST_CASE("satsal explain --method and satsal bench methods on the command line", "[methods][cli]") {
    TempDir dir;
    const std::string image = dir.file("image.tif");
    write_tiff(image, 64, 64, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("out");
    const auto explained = run_satsal("explain --model " + quoted(ptest::tiny_resnet()) + " --image " + quoted(image) +
                                          " --out " + quoted(out) +
                                          " --method guided-backprop --smoothgrad-sq --samples 2 --reduce sum-abs --threads 2",
                                      dir);
    INFO(explained.err);
    REQUIRE(explained.exit_code == 0);
    CHECK(h5_string_attribute(out + "/saliency.h5", "method") ==
          "guided-backprop+smoothgrad-sq class=predicted samples=2 noise=0.15 seed=0 reduce=sum-abs");

    const auto bad = run_satsal("explain --model " + quoted(ptest::tiny_resnet()) + " --image " + quoted(image) +
                                    " --out " + quoted(dir.file("bad")) + " --method gradient --reduce max",
                                dir);
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.err, Catch::Contains("channel reduction 'max' is not known"));
    CHECK(folder_entries(dir.file("bad")).empty());

    const auto bench = run_satsal("bench methods --model " + quoted(ptest::tiny_resnet()) +
                                      " --batch 2 --size 64 --runs 1 --warmup 0 --steps 2 --samples 1 --threads 2",
                                  dir);
    INFO(bench.err);
    REQUIRE(bench.exit_code == 0);
    for (const char* row : {"forward", "smoe", "gradcam", "gradcam++", "fastcam", "gradient", "guided-backprop",
                            "integrated-gradients", "integrated-gradients+smoothgrad-sq"}) {
        CHECK_THAT(bench.out, Catch::Contains(std::string("\n") + row + " "));
    }
    CHECK_THAT(bench.out, Catch::Contains("IG steps run 2 (scaled to 50)") &&
                              Catch::Contains("SmoothGrad-Sq samples run 1 (scaled to 15)"));
}
