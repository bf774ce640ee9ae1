// Guided backprop on scripted graphs: every ReLU found after inlining (nn.ReLU in submodules,
// F.relu in forwards), the module's own forward left alone, the guided ReLU's backward rule, and
// the error for a model without ReLU. Values against PyTorch are in test_attribution.cpp.
#include "methods/Attribution.hpp"
#include "methods/GuidedBackprop.hpp"
#include "method_support.hpp"

#include <torch/csrc/autograd/autograd.h>

#include <ATen/Parallel.h>

using namespace satsal;
using namespace satsal::mtest;

TEST_CASE("guided ReLU: relu forward, grad * [x > 0] * [grad > 0] backward", "[methods][guided]") {
    const torch::Tensor x = torch::tensor({-1.0f, 0.0f, 2.0f, 3.0f, 4.0f}).requires_grad_(true);
    const torch::Tensor y = guided_relu(x);
    CHECK(torch::equal(y.detach(), torch::tensor({0.0f, 0.0f, 2.0f, 3.0f, 4.0f})));
    const torch::Tensor upstream = torch::tensor({1.0f, 1.0f, -1.0f, 2.0f, 0.0f});
    const torch::Tensor g = torch::autograd::grad({y}, {x}, {upstream})[0];
    CHECK(torch::equal(g, torch::tensor({0.0f, 0.0f, 0.0f, 2.0f, 0.0f})));
}

TEST_CASE("guided forward: one guided ReLU per ReLU call in the graph, same output as the module", "[methods][guided]") {
    at::set_num_threads(2);
    // ReLU calls per forward, counted in PyTorch by tools/make_method_fixtures.py (nn.ReLU modules
    // and F.relu, including a module called twice per residual block).
    const std::vector<std::pair<std::string, int>> models = {
        {fixture("tiny_resnet.pt"), 15},
        {fixture("tiny_vgg.pt"), 7},
        {fixture("tiny_densenet.pt"), 21},
        {std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt", 17},
        {methods_fixture("resnet18_strided.pt"), 17},
    };
    const torch::Tensor x = test_input(1, 64);
    for (const auto& [path, relus] : models) {
        INFO(path);
        const TappedModel model(path);
        const GuidedForward guided(model.module(), path);
        CHECK(guided.relu_count() == relus);
        c10::NoGradGuard no_grad;
        const torch::Tensor plain = model.forward_plain(x);
        CHECK(torch::allclose(guided(x), plain, 1e-5, 1e-5));
    }
}

TEST_CASE("guided backprop leaves the model's ordinary gradients unchanged", "[methods][guided]") {
    at::set_num_threads(2);
    const TappedModel model(fixture("tiny_resnet.pt"));
    const GradientMethods methods(model);
    const torch::Tensor x = test_input(2, 64);
    const torch::Tensor targets = reference("tiny_resnet__targets");
    methods.input_gradient(x, targets, true);
    check_reference("tiny_resnet__gradient", methods.input_gradient(x, targets, false));
}

TEST_CASE("guided backprop refuses a model without ReLU", "[methods][guided][errors]") {
    at::set_num_threads(2);
    const std::string path = methods_fixture("no_relu.pt");
    const TappedModel model(path);
    const GradientMethods methods(model);
    const torch::Tensor x = test_input(1, 32);
    const torch::Tensor targets = methods.targets(x, std::nullopt);
    const std::string message = error_of([&] { methods.input_gradient(x, targets, true); });
    CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("found no ReLU") && Catch::Contains("--method gradient"));
    // Plain gradients still work on it.
    CHECK(methods.input_gradient(x, targets, false).abs().sum().item<double>() > 0);
}
