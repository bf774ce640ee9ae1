// The shipped demo counting model: size, classes, taps, and the same logits in LibTorch as in
// PyTorch (models/cowc-count-demo.json "reference" holds PyTorch's logits on an integer-pattern
// input, printed by `tools/make_count_model.py --reference models/cowc-count-demo.pt`).
#include <torch/script.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cowc/CountingInference.hpp"
#include "model/TappedModel.hpp"

using namespace satsal::counting;

namespace {

const std::string kDemoModel = std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt";
const std::string kDemoJson = std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.json";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The numbers of the first `"key": [ ... ]` array after `"section"` in the JSON text.
std::vector<double> json_array(const std::string& text, const std::string& section, const std::string& key) {
    const std::size_t at = text.find("\"" + section + "\"");
    REQUIRE(at != std::string::npos);
    const std::size_t open = text.find("[", text.find("\"" + key + "\"", at));
    const std::size_t close = text.find("]", open);
    std::vector<double> values;
    std::stringstream items(text.substr(open + 1, close - open - 1));
    std::string item;
    while (std::getline(items, item, ',')) values.push_back(std::stod(item));
    return values;
}

// x[0,c,h,w] = ((7h + 3w + 11c) mod 17) / 8 - 1, as in tools/make_count_model.py.
at::Tensor reference_input() {
    at::Tensor x = at::empty({1, 3, 224, 224}, at::kFloat);
    float* p = x.data_ptr<float>();
    for (int c = 0; c < 3; ++c)
        for (int h = 0; h < 224; ++h)
            for (int w = 0; w < 224; ++w) *p++ = static_cast<float>((7 * h + 3 * w + 11 * c) % 17) / 8.0f - 1.0f;
    return x;
}

}  // namespace

TEST_CASE("the demo counting model is small, has 65 classes and gives PyTorch's logits", "[counting][demo]") {
    REQUIRE(std::filesystem::exists(kDemoModel));
    CHECK(std::filesystem::file_size(kDemoModel) <= 20u * 1024 * 1024);
    int classes = 0;
    torch::jit::Module module = load_counting_model(kDemoModel, classes);
    CHECK(classes == 65);

    const std::vector<double> expected = json_array(read_text(kDemoJson), "reference", "logits");
    REQUIRE(expected.size() == 65);
    at::Tensor logits;
    {
        at::NoGradGuard no_grad;
        logits = module.forward({reference_input()}).toTensor();
    }
    double worst = 0, scale = 0;
    for (int k = 0; k < 65; ++k) {
        worst = std::max(worst, std::abs(logits[0][k].item<double>() - expected[static_cast<std::size_t>(k)]));
        scale = std::max(scale, std::abs(expected[static_cast<std::size_t>(k)]));
    }
    INFO("max |LibTorch - PyTorch| = " << worst << ", max |logit| = " << scale);
    CHECK(worst <= 1e-4 * std::max(1.0, scale));
}

TEST_CASE("satsal finds the demo model's five taps at strides 2..32", "[counting][demo]") {
    const satsal::TappedModel model(kDemoModel, {}, /*want_pre_activation=*/true);
    REQUIRE(model.taps().size() == 5);
    const std::vector<std::string> names = {"relu", "layer1", "layer2", "layer3", "layer4"};
    const std::vector<int64_t> channels = {32, 32, 64, 128, 256};
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(model.taps()[i].name == names[i]);
        CHECK(model.taps()[i].channels == channels[i]);
        CHECK(model.taps()[i].stride == (int64_t{2} << i));
    }
    const satsal::ForwardResult result = model.forward(reference_input());
    REQUIRE(result.taps.size() == 5);
    CHECK(result.taps[4].sizes() == c10::IntArrayRef({1, 256, 7, 7}));
    CHECK(result.taps[0].min().item<double>() >= 0.0);
}

TEST_CASE("test-time views: the mean distribution is the same for every view of a patch", "[counting][demo][tta]") {
    int classes = 0;
    torch::jit::Module module = load_counting_model(kDemoModel, classes);
    // P: seeded noise with a bright diagonal bar (no symmetry); R: P turned a quarter; M: P mirrored.
    constexpr int n = kPatchSize;
    std::vector<std::uint8_t> p(CountingPatchSet::kPatchBytes), r(p.size()), m(p.size());
    std::uint32_t state = 12345;
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            for (int c = 0; c < 3; ++c) {
                state = state * 1664525u + 1013904223u;
                const bool bar = std::abs(x - 2 * y + 128) < 10 && x > 60;
                p[(static_cast<std::size_t>(y) * n + x) * 3 + c] = bar ? 240 : static_cast<std::uint8_t>(60 + (state >> 26));
            }
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            for (int c = 0; c < 3; ++c) {
                const std::uint8_t v = p[(static_cast<std::size_t>(y) * n + x) * 3 + c];
                r[(static_cast<std::size_t>(n - 1 - x) * n + y) * 3 + c] = v;
                m[(static_cast<std::size_t>(y) * n + (n - 1 - x)) * 3 + c] = v;
            }
    CountingPatchSet set;
    set.add(p.data(), 0, "P");
    set.add(r.data(), 0, "P turned");
    set.add(m.data(), 0, "P mirrored");
    const std::vector<std::size_t> all = {0, 1, 2};
    const auto gap = [](const at::Tensor& s, int a, int b) { return (s[a] - s[b]).abs().max().item<double>(); };

    // One view sees different patches: the check below would catch views being ignored.
    const at::Tensor one = count_scores(module, set, all, 1).softmax(1);
    INFO("single view: |P - turned| = " << gap(one, 0, 1) << ", |P - mirrored| = " << gap(one, 0, 2));
    CHECK(gap(one, 0, 1) > 1e-3);
    CHECK(gap(one, 0, 2) > 1e-3);
    const at::Tensor two = count_scores(module, set, all, 2), four = count_scores(module, set, all, 4),
                     eight = count_scores(module, set, all, 8);
    CHECK(gap(two, 0, 2) < 1e-5);
    CHECK(gap(four, 0, 1) < 1e-5);
    CHECK(gap(eight, 0, 1) < 1e-5);
    CHECK(gap(eight, 0, 2) < 1e-5);
    CHECK(eight.sum(1).sub(1).abs().max().item<double>() < 1e-5);
    // Eight views of P one by one, averaged here.
    at::Tensor mean = at::zeros({classes});
    for (const PatchTransform& view : test_time_views(8)) {
        at::NoGradGuard no_grad;
        mean += module.forward({make_count_batch(set, {0}, {view})}).toTensor()[0].softmax(0) / 8.0;
    }
    CHECK((eight[0] - mean).abs().max().item<double>() < 1e-6);
    CHECK(predict_counts(module, set, {}, 2, 8) == std::vector<int>(3, static_cast<int>(eight[0].argmax().item<int64_t>())));

    CHECK_THROWS_WITH(test_time_views(3), "test-time augmentation: 3 views; expected 1, 2 (mirror), 4 (right-angle "
                                          "rotations) or 8 (both)");
    CHECK_THROWS_WITH(predict_counts(module, set, {}, 2, 0), Catch::Contains("0 views"));
}
