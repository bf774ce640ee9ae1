// TappedModel on the fixtures written by tools/make_test_models.py. Expected tap values come from
// tests/model/expected_taps.txt, computed by that script in eager PyTorch with forward hooks on the
// original Python modules (independent of satsal's children-running).
#include "model/TappedModel.hpp"
#include "model/Sha256.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include <ATen/Parallel.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

using satsal::ForwardResult;
using satsal::TappedModel;

namespace {

std::string fixture(const std::string& name) { return std::string(SATSAL_FIXTURES_DIR) + "/" + name; }

// Same bits as test_input() in tools/make_test_models.py.
torch::Tensor test_input(int64_t n = 2, int64_t size = 64) {
    const int64_t count = n * 3 * size * size;
    auto x = (torch::arange(count, torch::kLong) * 37).remainder(101);
    return (x.to(torch::kFloat) / 50.0 - 1.0).reshape({n, 3, size, size});
}

struct Expected {
    std::vector<int64_t> shape;
    double sum = 0, abs_sum = 0;
    double first = 0, middle = 0, last = 0;
};

// key: "<fixture> <kind> <name>"
const std::map<std::string, Expected>& expected_values() {
    static const std::map<std::string, Expected> values = [] {
        std::map<std::string, Expected> parsed;
        std::ifstream in(std::string(SATSAL_SOURCE_DIR) + "/tests/model/expected_taps.txt");
        if (!in) throw std::runtime_error("tests/model/expected_taps.txt is missing");
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            std::string model, kind, name, shape;
            Expected e;
            fields >> model >> kind >> name >> shape >> e.sum >> e.abs_sum >> e.first >> e.middle >> e.last;
            std::stringstream dims(shape);
            for (std::string d; std::getline(dims, d, ',');) e.shape.push_back(std::stoll(d));
            parsed[model + " " + kind + " " + name] = e;
        }
        return parsed;
    }();
    return values;
}

void check_against_python(const std::string& key, const torch::Tensor& actual) {
    INFO(key);
    const auto found = expected_values().find(key);
    REQUIRE(found != expected_values().end());
    const Expected& e = found->second;
    REQUIRE(actual.sizes().vec() == e.shape);
    const auto flat = actual.reshape({-1}).to(torch::kDouble);
    const double abs_sum = flat.abs().sum().item<double>();
    CHECK(abs_sum == Approx(e.abs_sum).epsilon(1e-4));
    // The plain sum can cancel; compare it relative to the sum of magnitudes.
    CHECK(std::abs(flat.sum().item<double>() - e.sum) <= 1e-4 * e.abs_sum);
    const double typical = e.abs_sum / double(flat.numel());
    const int64_t n = flat.numel();
    CHECK(std::abs(flat[0].item<double>() - e.first) <= 1e-4 * std::max(std::abs(e.first), typical));
    CHECK(std::abs(flat[n / 2].item<double>() - e.middle) <= 1e-4 * std::max(std::abs(e.middle), typical));
    CHECK(std::abs(flat[n - 1].item<double>() - e.last) <= 1e-4 * std::max(std::abs(e.last), typical));
}

void check_taps(const TappedModel& model, const std::vector<std::string>& names, const std::vector<int64_t>& channels,
                const std::vector<int64_t>& strides) {
    REQUIRE(model.taps().size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        INFO("tap " << i);
        CHECK(model.taps()[i].name == names[i]);
        CHECK(model.taps()[i].channels == channels[i]);
        CHECK(model.taps()[i].stride == strides[i]);
    }
}

double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char pattern[] = "/tmp/satsal_model_test_XXXXXX";
        path = mkdtemp(pattern);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace

TEST_CASE("tiny ResNet: auto-detected taps are relu, layer1..layer4 with their channels and strides", "[model]") {
    const TappedModel model(fixture("tiny_resnet.pt"));
    check_taps(model, {"relu", "layer1", "layer2", "layer3", "layer4"}, {8, 8, 16, 32, 64}, {2, 4, 8, 16, 32});
    CHECK(model.deepest_stride() == 32);
    CHECK_FALSE(model.returns_tuple());
    CHECK(model.describe() ==
          "L1 relu: 8 channels, stride 2\nL2 layer1: 8 channels, stride 4\nL3 layer2: 16 channels, stride 8\n"
          "L4 layer3: 32 channels, stride 16\nL5 layer4: 64 channels, stride 32\n");
}

TEST_CASE("tiny ResNet: output equals the plain forward and taps equal PyTorch's hooks", "[model]") {
    const TappedModel model(fixture("tiny_resnet.pt"));
    const torch::Tensor x = test_input();
    const torch::Tensor x_copy = x.clone();
    const ForwardResult result = model.forward(x);
    CHECK(torch::equal(x, x_copy));  // the caller's batch is left untouched
    CHECK(max_abs_difference(result.output, model.forward_plain(x)) <= 1e-5);
    CHECK(result.pre_activation.empty());
    check_against_python("tiny_resnet output -", result.output);
    const std::vector<std::string> names = {"relu", "layer1", "layer2", "layer3", "layer4"};
    REQUIRE(result.taps.size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        check_against_python("tiny_resnet tap " + names[i], result.taps[i]);
        CHECK(result.taps[i].min().item<float>() >= 0.0f);
    }
}

TEST_CASE("tiny ResNet: explicit taps, including a pre-ReLU tensor followed by an in-place ReLU", "[model]") {
    // bn1 feeds the in-place ReLU: its captured value must stay the pre-ReLU one (negative values).
    const TappedModel model(fixture("tiny_resnet.pt"), {"bn1", "maxpool", "layer2.0", "layer4"});
    check_taps(model, {"bn1", "maxpool", "layer2.0", "layer4"}, {8, 8, 16, 64}, {2, 4, 8, 32});
    const torch::Tensor x = test_input();
    const ForwardResult result = model.forward(x);
    CHECK(max_abs_difference(result.output, model.forward_plain(x)) <= 1e-5);
    check_against_python("tiny_resnet tap bn1", result.taps[0]);
    CHECK(result.taps[0].min().item<float>() < 0.0f);
    check_against_python("tiny_resnet tap maxpool", result.taps[1]);
    check_against_python("tiny_resnet tap layer2.0", result.taps[2]);
    check_against_python("tiny_resnet tap layer4", result.taps[3]);
}

TEST_CASE("tiny ResNet: named taps probe only the modules on the way to them, with auto-detection's results",
          "[model]") {
    const TappedModel detected(fixture("tiny_resnet.pt"));
    const TappedModel named(fixture("tiny_resnet.pt"), detected.tap_names());
    // Auto-detection probed the whole tree; named top-level taps need none of layer1.0 etc.
    CHECK(std::count(detected.available_taps().begin(), detected.available_taps().end(), "layer1.0") == 1);
    CHECK(std::count(named.available_taps().begin(), named.available_taps().end(), "layer1.0") == 0);
    REQUIRE(named.taps().size() == detected.taps().size());
    for (std::size_t i = 0; i < named.taps().size(); ++i) {
        CHECK(named.taps()[i].name == detected.taps()[i].name);
        CHECK(named.taps()[i].channels == detected.taps()[i].channels);
        CHECK(named.taps()[i].stride == detected.taps()[i].stride);
    }
    const torch::Tensor x = test_input();
    const ForwardResult a = named.forward(x), b = detected.forward(x);
    CHECK(torch::equal(a.output, b.output));
    for (std::size_t i = 0; i < a.taps.size(); ++i) CHECK(torch::equal(a.taps[i], b.taps[i]));
    // A tap inside a container: the container is probed, its siblings are not.
    const TappedModel inner(fixture("tiny_resnet.pt"), {"layer2.1"});
    CHECK(std::count(inner.available_taps().begin(), inner.available_taps().end(), "layer2.1") == 1);
    CHECK(std::count(inner.available_taps().begin(), inner.available_taps().end(), "layer1.0") == 0);
    CHECK(inner.taps()[0].stride == 8);
}

TEST_CASE("tiny ResNet: pre-activations of the stem ReLU and of residual blocks", "[model]") {
    const TappedModel model(fixture("tiny_resnet.pt"), {}, true);
    CHECK(model.has_pre_activation());
    const torch::Tensor x = test_input();
    const ForwardResult result = model.forward(x);
    CHECK(max_abs_difference(result.output, model.forward_plain(x)) <= 1e-5);
    const std::vector<std::string> names = {"relu", "layer1", "layer2", "layer3", "layer4"};
    REQUIRE(result.pre_activation.size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        check_against_python("tiny_resnet pre " + names[i], result.pre_activation[i]);
        check_against_python("tiny_resnet tap " + names[i], result.taps[i]);
        CHECK(torch::equal(torch::relu(result.pre_activation[i]), result.taps[i]));
    }
}

TEST_CASE("tiny VGG: auto-detected taps are the ReLUs before each max-pool inside features", "[model]") {
    const TappedModel model(fixture("tiny_vgg.pt"));
    check_taps(model, {"features.2", "features.5", "features.11", "features.14", "features.17"}, {8, 16, 16, 24, 32},
               {1, 2, 4, 8, 16});
    const torch::Tensor x = test_input();
    const ForwardResult result = model.forward(x);
    CHECK(max_abs_difference(result.output, model.forward_plain(x)) <= 1e-5);
    check_against_python("tiny_vgg output -", result.output);
    for (size_t i = 0; i < model.taps().size(); ++i) check_against_python("tiny_vgg tap " + model.taps()[i].name, result.taps[i]);
}

TEST_CASE("tiny VGG: a conv output followed by an in-place ReLU keeps its negative values", "[model]") {
    const TappedModel model(fixture("tiny_vgg.pt"), {"features.4", "features.2"}, false);
    const ForwardResult result = model.forward(test_input());
    check_against_python("tiny_vgg tap features.4", result.taps[0]);
    CHECK(result.taps[0].min().item<float>() < 0.0f);
    check_against_python("tiny_vgg tap features.2", result.taps[1]);
}

TEST_CASE("tiny VGG: pre-activation of a ReLU tap is its input; a non-ReLU tap has none", "[model]") {
    const TappedModel model(fixture("tiny_vgg.pt"), {"features.2"}, true);
    const ForwardResult result = model.forward(test_input());
    check_against_python("tiny_vgg pre features.2", result.pre_activation[0]);
    check_against_python("tiny_vgg tap features.2", result.taps[0]);
    const std::string message = error_of([] { TappedModel(fixture("tiny_vgg.pt"), {"features.3"}, true); });
    CHECK_THAT(message, Catch::Contains("tap 'features.3'") && Catch::Contains("pre-activation") &&
                            Catch::Contains("MaxPool2d"));
}

TEST_CASE("tiny DenseNet (tuple export): taps from tap_names, values and pre-activations match PyTorch", "[model]") {
    const TappedModel model(fixture("tiny_densenet.pt"), {}, true);
    CHECK(model.returns_tuple());
    check_taps(model,
               {"features.relu0", "features.transition1.relu", "features.transition2.relu", "features.transition3.relu",
                "features.norm5.relu"},
               {8, 16, 16, 16, 16}, {2, 4, 8, 16, 32});
    const torch::Tensor x = test_input();
    const ForwardResult result = model.forward(x);
    CHECK(max_abs_difference(result.output, model.forward_plain(x)) <= 1e-5);
    // The plain torchvision DenseNet's output (eager PyTorch) equals the wrapper's.
    check_against_python("tiny_densenet output -", result.output);
    for (size_t i = 0; i < model.taps().size(); ++i) {
        check_against_python("tiny_densenet tap " + model.taps()[i].name, result.taps[i]);
        check_against_python("tiny_densenet pre " + model.taps()[i].name, result.pre_activation[i]);
    }
}

TEST_CASE("tiny DenseNet (tuple export): explicit taps select and order the tuple's taps", "[model]") {
    const TappedModel model(fixture("tiny_densenet.pt"), {"features.norm5.relu", "features.relu0"});
    check_taps(model, {"features.norm5.relu", "features.relu0"}, {16, 8}, {32, 2});
    const ForwardResult result = model.forward(test_input());
    check_against_python("tiny_densenet tap features.norm5.relu", result.taps[0]);
    check_against_python("tiny_densenet tap features.relu0", result.taps[1]);
    const std::string message = error_of([] { TappedModel(fixture("tiny_densenet.pt"), {"layer1"}); });
    CHECK(message == "model '" + fixture("tiny_densenet.pt") +
                         "' has no tap 'layer1'; its forward returns the taps: features.relu0, "
                         "features.transition1.relu, features.transition2.relu, features.transition3.relu, "
                         "features.norm5.relu");
}

TEST_CASE("plain torchvision DenseNet: children-running would change its output, so loading refuses", "[model]") {
    const std::string message = error_of([] { TappedModel(fixture("tiny_densenet_plain.pt")); });
    CHECK_THAT(message, Catch::StartsWith("model '" + fixture("tiny_densenet_plain.pt") +
                                          "': running its top-level children in order (features, classifier;") &&
                            Catch::Contains("does not reproduce its forward") &&
                            Catch::Contains("tools/export_model.py"));
    // Explicit taps do not bypass the check.
    CHECK_THAT(error_of([] { TappedModel(fixture("tiny_densenet_plain.pt"), {"features.relu0"}); }),
               Catch::Contains("does not reproduce its forward"));
}

TEST_CASE("tuple model without tap_names: taps are tap1..tapN", "[model]") {
    const TappedModel model(fixture("tiny_tuple.pt"));
    check_taps(model, {"tap1", "tap2", "tap3"}, {4, 8, 8}, {1, 2, 4});
    const torch::Tensor x = test_input();
    const ForwardResult result = model.forward(x);
    check_against_python("tiny_tuple output -", result.output);
    for (int i = 0; i < 3; ++i) check_against_python("tiny_tuple tap tap" + std::to_string(i + 1), result.taps[size_t(i)]);
    CHECK(max_abs_difference(result.output, model.forward_plain(x)) <= 1e-5);
    CHECK_THAT(error_of([] { TappedModel(fixture("tiny_tuple.pt"), {}, true); }),
               Catch::Contains("has no method forward_with_pre_activation"));
}

TEST_CASE("errors: missing file, text file, state dict, unknown or unusable tap names", "[model]") {
    CHECK(error_of([] { TappedModel("/nonexistent/model.pt"); }) == "model file '/nonexistent/model.pt' does not exist");

    TempDir dir;
    const std::string text = (dir.path / "notes.pt").string();
    std::ofstream(text) << "this is not a model\n";
    CHECK_THAT(error_of([&] { TappedModel{text}; }),
               Catch::StartsWith("model file '" + text + "' is not a TorchScript module (TorchScript files are zip"));
    CHECK_THAT(error_of([&] { TappedModel{dir.path.string()}; }), Catch::Contains("is a directory"));

    const std::string state_dict = fixture("tiny_resnet_state_dict.pt");
    CHECK_THAT(error_of([&] { TappedModel{state_dict}; }),
               Catch::StartsWith("model file '" + state_dict + "' is not a TorchScript module: it is a torch.save() archive"));

    const std::string resnet = fixture("tiny_resnet.pt");
    const std::string unknown = error_of([&] { TappedModel(resnet, {"relu", "layer5"}); });
    CHECK_THAT(unknown, Catch::StartsWith("model '" + resnet + "' has no module 'layer5' to tap; available taps: conv1, "
                                          "bn1, relu, maxpool, layer1, layer1.0, layer1.1, layer2, layer2.0, layer2.1, "
                                          "layer3, layer3.0, layer4, layer4.0, avgpool"));
    CHECK_THAT(error_of([&] { TappedModel(resnet, {"layer1.0.conv1"}); }),
               Catch::Contains("tap 'layer1.0.conv1' lies inside 'layer1.0' (BasicBlock)"));
    CHECK(error_of([&] { TappedModel(resnet, {"fc"}); }) ==
          "model '" + resnet + "': tap 'fc' has output shape [1, 10] on a 1x3x64x64 probe; a tap must be a 4-D "
          "[N, C, H, W] tensor");
    CHECK(error_of([&] { TappedModel(resnet, {"relu", "relu"}); }) == "model '" + resnet + "': tap 'relu' is listed twice");
    CHECK_THAT(error_of([&] { TappedModel(resnet, {"avgpool"}); }), Catch::Contains("gives no integer stride"));
    CHECK_THAT(error_of([&] { TappedModel(resnet, {"bn1"}, true); }),
               Catch::Contains("tap 'bn1': truncated-normal statistics need a pre-activation tensor"));

    const TappedModel model(resnet);
    CHECK_THAT(error_of([&] { model.forward(torch::zeros({3, 64, 64})); }), Catch::Contains("expected a [N, C, H, W] batch"));
    CHECK_THAT(error_of([&] { model.forward(torch::zeros({1, 4, 64, 64})); }),
               Catch::StartsWith("model '" + resnet + "': running 'conv1' on a [1, 4, 64, 64] tensor failed"));
}

TEST_CASE("clone gives an independent instance with the same results", "[model]") {
    const TappedModel model(fixture("tiny_resnet.pt"), {}, true);
    const TappedModel copy = model.clone();
    const torch::Tensor x = test_input();
    const ForwardResult a = model.forward(x);
    const ForwardResult b = copy.forward(x);
    CHECK(torch::equal(a.output, b.output));
    for (size_t i = 0; i < a.taps.size(); ++i) {
        CHECK(torch::equal(a.taps[i], b.taps[i]));
        CHECK(torch::equal(a.pre_activation[i], b.pre_activation[i]));
    }
    CHECK(copy.sha256() == model.sha256());
    CHECK(copy.describe() == model.describe());
    // Run both on two threads at once: the thread rule is one instance per thread.
    ForwardResult from_thread;
    std::thread worker([&] { from_thread = copy.forward(x); });
    const ForwardResult here = model.forward(x);
    worker.join();
    CHECK(torch::equal(from_thread.output, here.output));
}

TEST_CASE("sha256 of the model file is recorded at load", "[model]") {
    const TappedModel model(fixture("tiny_vgg.pt"));
    CHECK(model.sha256().size() == 64);
    CHECK(model.sha256() == satsal::sha256_file(fixture("tiny_vgg.pt")));
    CHECK(model.path() == fixture("tiny_vgg.pt"));
}

TEST_CASE("set_torch_threads sets LibTorch's intra-op threads; 0 means all cores", "[model]") {
    const int before = at::get_num_threads();
    satsal::set_torch_threads(1);
    CHECK(at::get_num_threads() == 1);
    satsal::set_torch_threads(0);
    CHECK(at::get_num_threads() == int(std::max(1u, std::thread::hardware_concurrency())));
    CHECK_THROWS_WITH(satsal::set_torch_threads(-2), "threads must be 0 (all cores) or positive, got -2");
    satsal::set_torch_threads(before);
}
