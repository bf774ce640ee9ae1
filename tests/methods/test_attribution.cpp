// Input attributions (gradient, guided backprop, integrated gradients, SmoothGrad-Sq) against
// PyTorch autograd on eager models (tools/make_method_fixtures.py): the tiny fixtures, the
// counting network and a torchvision ResNet-18. Tolerances: see check_reference (every value within
// 2e-3 of the reference's max |value|, sums within 1e-4 of the sum of |value|).
#include "methods/Attribution.hpp"
#include "method_support.hpp"

#include <ATen/Parallel.h>

using namespace satsal;
using namespace satsal::mtest;

namespace {

struct Case {
    std::string name;
    std::string path;
    int64_t images;
};

std::vector<Case> cases() {
    return {
        {"tiny_resnet", fixture("tiny_resnet.pt"), 2},
        {"tiny_vgg", fixture("tiny_vgg.pt"), 1},
        {"tiny_densenet", fixture("tiny_densenet.pt"), 1},
        {"count", std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt", 1},
        {"resnet18", methods_fixture("resnet18_strided.pt"), 1},
    };
}

}  // namespace

TEST_CASE("gradient, guided backprop and integrated gradients match PyTorch autograd", "[methods][attribution]") {
    at::set_num_threads(2);
    for (const Case& c : cases()) {
        INFO("model " << c.name);
        const TappedModel model(c.path);
        const GradientMethods methods(model, /*max_batch=*/3);  // IG's 8 steps run as 3 + 3 + 2
        const torch::Tensor x = test_input(c.images, 64);
        const torch::Tensor targets = methods.targets(x, std::nullopt);
        CHECK(torch::equal(targets, reference(c.name + "__targets")));
        check_reference(c.name + "__logits", model.forward_plain(x).flatten(1), 1e-4);
        check_reference(c.name + "__gradient", methods.input_gradient(x, targets, false));
        check_reference(c.name + "__guided", methods.input_gradient(x, targets, true));
        check_reference(c.name + "__ig", methods.integrated_gradients(x, targets, 8, 0.0));
        // Guided and plain gradients differ (otherwise the guided test proves nothing).
        CHECK((reference(c.name + "__guided") - reference(c.name + "__gradient")).abs().max().item<double>() >
              0.1 * reference(c.name + "__gradient").abs().max().item<double>());
    }
}

TEST_CASE("integrated gradients with a configured baseline and class; SmoothGrad-Sq on all three", "[methods][attribution]") {
    at::set_num_threads(2);
    const TappedModel model(fixture("tiny_resnet.pt"));
    const GradientMethods methods(model, 4);
    const torch::Tensor x0 = test_input(2, 64).slice(0, 0, 1);
    const torch::Tensor class3 = methods.targets(x0, 3);
    CHECK(class3.item<int64_t>() == 3);
    check_reference("tiny_resnet__ig_b05_c3", methods.integrated_gradients(x0, class3, 5, 0.5));

    const torch::Tensor t0 = reference("tiny_resnet__targets").slice(0, 0, 1);
    MethodOptions options;
    options.smoothgrad_sq = true;
    options.noise = 0.15;
    options.seed = 7;
    options.max_batch = 4;
    options.method = Method::Gradient;
    options.samples = 3;
    check_reference("tiny_resnet__sg_gradient", methods.attribution(x0, t0, options));
    options.method = Method::GuidedBackprop;
    options.samples = 2;
    check_reference("tiny_resnet__sg_guided", methods.attribution(x0, t0, options));
    options.method = Method::IntegratedGradients;
    options.steps = 3;
    check_reference("tiny_resnet__sg_ig", methods.attribution(x0, t0, options));
    // Squared attributions are never negative.
    CHECK(methods.attribution(x0, t0, options).min().item<float>() >= 0.0f);
}

TEST_CASE("integrated gradients run in passes of at most max_batch images, with the same result", "[methods][attribution]") {
    at::set_num_threads(2);
    const TappedModel model(fixture("tiny_resnet.pt"));
    const torch::Tensor x = test_input(2, 64);
    const GradientMethods bounded(model, 4);
    const GradientMethods one_pass(model, 50);
    const torch::Tensor targets = bounded.targets(x, std::nullopt);
    const torch::Tensor small = bounded.integrated_gradients(x, targets, 50, 0.0);
    const torch::Tensor large = one_pass.integrated_gradients(x, targets, 50, 0.0);
    CHECK(bounded.largest_pass() == 4);
    CHECK(one_pass.largest_pass() == 50);
    CHECK((small - large).abs().max().item<double>() <= 1e-5 * large.abs().max().item<double>());

    // Completeness (Sundararajan et al.): the attributions of an image sum to
    // logit(x) - logit(baseline), up to the quadrature error of 50 midpoint steps.
    const torch::Tensor logits = model.forward_plain(x).flatten(1);
    const torch::Tensor base_logits = model.forward_plain(torch::zeros_like(x)).flatten(1);
    for (int64_t i = 0; i < 2; ++i) {
        const int64_t t = targets[i].item<int64_t>();
        const double expected = logits[i][t].item<double>() - base_logits[i][t].item<double>();
        const double total = large[i].sum().item<double>();
        INFO("image " << i << ": sum of IG " << total << ", logit difference " << expected);
        CHECK(std::abs(total - expected) <= 0.05 * std::abs(expected));
    }

    // SmoothGrad samples go through the same bounded passes.
    MethodOptions options;
    options.method = Method::Gradient;
    options.smoothgrad_sq = true;
    options.samples = 5;
    const GradientMethods sg(model, 1);
    sg.attribution(x, targets, options);
    CHECK(sg.largest_pass() == 1);
}

TEST_CASE("class targets: the predicted class per image, or a given class that must exist", "[methods][attribution]") {
    at::set_num_threads(2);
    const TappedModel model(fixture("tiny_resnet.pt"));
    const GradientMethods methods(model);
    const torch::Tensor x = test_input(2, 64);
    CHECK(torch::equal(methods.targets(x, std::nullopt), model.forward_plain(x).argmax(1)));
    CHECK(torch::equal(methods.targets(x, 7), torch::full({2}, 7, torch::kLong)));
    const std::string message = error_of([&] { methods.targets(x, 10); });
    CHECK_THAT(message, Catch::Contains("--class 10") && Catch::Contains("has 10 outputs (classes 0..9)"));
}

TEST_CASE("channel reduction and min-max normalization", "[methods][attribution]") {
    // [1, 3, 1, 2]: pixel 0 has channels (1, -4, 2), pixel 1 (0, 0.5, -0.5).
    const torch::Tensor a = torch::tensor({1.0f, 0.0f, -4.0f, 0.5f, 2.0f, -0.5f}).view({1, 3, 1, 2});
    const torch::Tensor abs_max = reduce_channels(a, ChannelReduction::AbsMax);
    CHECK(abs_max[0][0][0].item<float>() == 4.0f);
    CHECK(abs_max[0][0][1].item<float>() == 0.5f);
    const torch::Tensor sum_abs = reduce_channels(a, ChannelReduction::SumAbs);
    CHECK(sum_abs[0][0][0].item<float>() == 7.0f);
    CHECK(sum_abs[0][0][1].item<float>() == 1.0f);
    const torch::Tensor normalized = normalize_min_max(torch::tensor({2.0f, 4.0f, 3.0f, 5.0f, 5.0f, 5.0f}).view({2, 1, 3}));
    CHECK(normalized[0][0][0].item<float>() == 0.0f);
    CHECK(normalized[0][0][1].item<float>() == 1.0f);
    CHECK(normalized[0][0][2].item<float>() == 0.5f);
    CHECK(normalized[1].abs().max().item<float>() == 0.0f);  // constant map -> 0, not NaN
}
