// Grad-CAM, Grad-CAM++ and FastCAM against PyTorch (tools/make_method_fixtures.py), and the errors
// for taps Grad-CAM cannot use. Tolerance: every map value within 2e-3 (maps are in [0, 1]).
#include "methods/Attribution.hpp"
#include "methods/MethodRun.hpp"
#include "method_support.hpp"
#include "pipeline/ImageSaliency.hpp"
#include "saliency/TensorStatistics.hpp"

#include <ATen/Parallel.h>

#include <map>

using namespace satsal;
using namespace satsal::mtest;

TEST_CASE("Grad-CAM and Grad-CAM++ on the last tap match PyTorch", "[methods][gradcam]") {
    at::set_num_threads(2);
    struct Case {
        std::string name, path, last_tap;
        int64_t images;
    };
    const std::vector<Case> cases = {
        {"tiny_resnet", fixture("tiny_resnet.pt"), "layer4", 2},
        {"tiny_vgg", fixture("tiny_vgg.pt"), "features.17", 1},
        {"tiny_densenet", fixture("tiny_densenet.pt"), "features.norm5.relu", 1},
        {"count", std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt", "layer4", 1},
        {"resnet18", methods_fixture("resnet18_strided.pt"), "layer4", 1},
    };
    for (const Case& c : cases) {
        INFO("model " << c.name);
        const TappedModel model(c.path);
        const GradientMethods methods(model, 1);  // one image per pass: batching must not matter
        const size_t tap = methods.tap_index("");
        CHECK(model.taps()[tap].name == c.last_tap);
        const torch::Tensor x = test_input(c.images, 64);
        const torch::Tensor targets = reference(c.name + "__targets");
        const auto cam = methods.grad_cam(x, targets, tap, false);
        check_reference(c.name + "__gradcam", cam.map);
        CHECK(cam.map.min().item<float>() == 0.0f);
        CHECK(cam.map.max().item<float>() == 1.0f);
        check_reference(c.name + "__gradcampp", methods.grad_cam(x, targets, tap, true).map);
    }
}

TEST_CASE("FastCAM: SMOE combined map x Grad-CAM, and the non-class map combined x (1 - cam)", "[methods][fastcam]") {
    at::set_num_threads(2);
    const TappedModel model(fixture("tiny_resnet.pt"));
    const torch::Tensor x = test_input(2, 64);
    const ForwardResult forward = model.forward(x);
    MethodOptions options;
    options.method = Method::FastCam;
    std::vector<torch::Tensor> combined, fastcam, nonclass, gradcam;
    for (int64_t i = 0; i < 2; ++i) {
        std::vector<Map> raw;
        for (const auto& tap : forward.taps) raw.push_back(map_from_tensor(channel_statistic(Statistic::Smoe, tap)[i]));
        const ImageSaliency saliency = build_image_saliency(std::move(raw), Normalization::Gauss,
                                                            std::vector<double>(5, 1.0), 64, 64);
        combined.push_back(tensor_from_map(saliency.combined));
        const MethodProduct product = run_method(model, x.slice(0, i, i + 1), saliency.combined, options);
        CHECK(product.method == "fastcam class=predicted tap=layer4");
        CHECK(product.target_class == reference("tiny_resnet__targets")[i].item<int64_t>());
        std::map<std::string, torch::Tensor> maps;
        for (const auto& [path, map] : product.maps) maps[path] = tensor_from_map(map);
        REQUIRE(maps.size() == 3);
        gradcam.push_back(maps.at("/gradcam"));
        fastcam.push_back(maps.at("/fastcam"));
        nonclass.push_back(maps.at("/fastcam_nonclass"));
        CHECK(torch::equal(tensor_from_map(product.map), maps.at("/fastcam")));
    }
    check_reference("tiny_resnet__smoe_combined", torch::stack(combined));
    check_reference("tiny_resnet__gradcam", torch::stack(gradcam));
    check_reference("tiny_resnet__fastcam", torch::stack(fastcam));
    check_reference("tiny_resnet__fastcam_nonclass", torch::stack(nonclass));
}

TEST_CASE("Grad-CAM refuses a tap without gradient, a tap the score ignores, and an unknown tap", "[methods][gradcam][errors]") {
    at::set_num_threads(2);
    const std::string path = methods_fixture("tap_grad.pt");
    const torch::Tensor x = test_input(1, 32);
    {
        const TappedModel model(path, {"detached", "used", "unused"});
        const GradientMethods methods(model);
        const torch::Tensor targets = methods.targets(x, std::nullopt);
        CHECK_THAT(error_of([&] { methods.grad_cam(x, targets, methods.tap_index("detached"), false); }),
                   Catch::Contains(path) && Catch::Contains("tap 'detached' carries no gradient"));
        CHECK_THAT(error_of([&] { methods.grad_cam(x, targets, methods.tap_index("unused"), false); }),
                   Catch::Contains("does not depend on Grad-CAM tap 'unused'"));
        const auto cam = methods.grad_cam(x, targets, methods.tap_index("used"), false);
        CHECK(cam.map.sizes() == torch::IntArrayRef({1, 32, 32}));
        CHECK_THAT(error_of([&] { methods.tap_index("layer9"); }),
                   Catch::Contains("'layer9' is not one of the model's taps (detached, used, unused)"));
        CHECK(methods.tap_index("") == 2);
    }
}
