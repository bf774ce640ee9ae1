#pragma once
// Reference values for tests/methods: tests/fixtures/methods/reference.pt, written by
// tools/make_method_fixtures.py with PyTorch autograd on eager models (see that script for every
// quantity). Large tensors are stored as float16 of value / max|value| with exact float64 sums.
#include <catch2/catch.hpp>

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace satsal::mtest {

inline std::string fixture(const std::string& name) { return std::string(SATSAL_FIXTURES_DIR) + "/" + name; }
inline std::string methods_fixture(const std::string& name) { return fixture("methods/" + name); }

/// Same bits as test_input() in tools/make_test_models.py.
inline torch::Tensor test_input(int64_t n = 2, int64_t size = 64) {
    const int64_t count = n * 3 * size * size;
    auto x = (torch::arange(count, torch::kLong) * 37).remainder(101);
    return (x.to(torch::kFloat) / 50.0 - 1.0).reshape({n, 3, size, size});
}

inline torch::jit::Module& reference_module() {
    static torch::jit::Module module = torch::jit::load(methods_fixture("reference.pt"));
    return module;
}

inline bool has_reference(const std::string& key) { return reference_module().hasattr(key); }

/// The reference tensor (decoded to float32 when stored as scaled float16).
inline torch::Tensor reference(const std::string& key) {
    auto& module = reference_module();
    if (!module.hasattr(key)) throw std::runtime_error("reference.pt has no '" + key + "'; rerun tools/make_method_fixtures.py");
    torch::Tensor value = module.attr(key).toTensor();
    if (module.hasattr(key + "__scale")) value = value.to(torch::kFloat32) * module.attr(key + "__scale").toTensor();
    return value;
}

/// actual against the reference `key`:
///  - every value within `tolerance` x max|reference| (the float16 storage alone is within 2.5e-4);
///  - for float16-stored tensors, the sum and the sum of |value| within 1e-4 of the exact float64
///    sums (relative to the sum of |value|): a float-rounding-level check on all values at once.
inline void check_reference(const std::string& key, const torch::Tensor& actual, double tolerance = 2e-3) {
    INFO("reference " << key);
    const torch::Tensor expected = reference(key).to(torch::kFloat64);
    const torch::Tensor got = actual.detach().to(torch::kFloat64);
    REQUIRE(got.sizes() == expected.sizes());
    const double scale = std::max(expected.abs().max().item<double>(), 1e-30);
    const double difference = (got - expected).abs().max().item<double>();
    INFO("max |difference| " << difference << ", max |reference| " << scale);
    CHECK(difference <= tolerance * scale);
    auto& module = reference_module();
    if (module.hasattr(key + "__sum")) {
        const double sum = module.attr(key + "__sum").toTensor().item<double>();
        const double abs_sum = module.attr(key + "__abs_sum").toTensor().item<double>();
        INFO("sum " << got.sum().item<double>() << " vs " << sum << ", sum |x| " << got.abs().sum().item<double>() << " vs "
                    << abs_sum);
        CHECK(std::abs(got.sum().item<double>() - sum) <= 1e-4 * abs_sum);
        CHECK(std::abs(got.abs().sum().item<double>() - abs_sum) <= 1e-4 * abs_sum);
    }
}

/// The message of the exception `body` throws ("" when it throws none).
template <typename Body>
std::string error_of(Body&& body) {
    try {
        body();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace satsal::mtest
