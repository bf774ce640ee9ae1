#include "methods/MethodOptions.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

struct MethodEntry {
    Method method;
    const char* name;
};

constexpr MethodEntry kMethods[] = {
    {Method::Smoe, "smoe"},
    {Method::Gradient, "gradient"},
    {Method::GuidedBackprop, "guided-backprop"},
    {Method::IntegratedGradients, "integrated-gradients"},
    {Method::GradCam, "gradcam"},
    {Method::GradCamPlusPlus, "gradcam++"},
    {Method::FastCam, "fastcam"},
};

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
}

}  // namespace

Method parse_method(const std::string& name) {
    for (const auto& entry : kMethods) {
        if (name == entry.name) return entry.method;
    }
    throw std::invalid_argument("method '" + name + "' is not known; choose one of: " + join(method_names()));
}

std::string method_name(Method method) {
    for (const auto& entry : kMethods) {
        if (method == entry.method) return entry.name;
    }
    return "?";
}

std::vector<std::string> method_names() {
    std::vector<std::string> names;
    for (const auto& entry : kMethods) names.push_back(entry.name);
    return names;
}

bool is_input_attribution(Method method) {
    return method == Method::Gradient || method == Method::GuidedBackprop || method == Method::IntegratedGradients;
}

bool is_cam(Method method) {
    return method == Method::GradCam || method == Method::GradCamPlusPlus || method == Method::FastCam;
}

ChannelReduction parse_channel_reduction(const std::string& name) {
    if (name == "abs-max") return ChannelReduction::AbsMax;
    if (name == "sum-abs") return ChannelReduction::SumAbs;
    throw std::invalid_argument("channel reduction '" + name + "' is not known; choose abs-max or sum-abs");
}

std::string channel_reduction_name(ChannelReduction reduction) {
    return reduction == ChannelReduction::AbsMax ? "abs-max" : "sum-abs";
}

void validate(const MethodOptions& options) {
    if (options.steps < 1) {
        throw std::invalid_argument("--steps " + std::to_string(options.steps) + ": integrated gradients needs at least 1 step");
    }
    if (options.samples < 1) {
        throw std::invalid_argument("--samples " + std::to_string(options.samples) + ": SmoothGrad-Sq needs at least 1 sample");
    }
    if (options.max_batch < 1) {
        throw std::invalid_argument("--batch " + std::to_string(options.max_batch) + ": at least 1 image per pass");
    }
    if (!std::isfinite(options.noise) || options.noise < 0) {
        std::ostringstream value;
        value << options.noise;
        throw std::invalid_argument("--noise " + value.str() + ": expected a finite number >= 0 (sigma / (max - min))");
    }
    if (!std::isfinite(options.baseline)) throw std::invalid_argument("--baseline: expected a finite number");
    if (options.smoothgrad_sq && !is_input_attribution(options.method)) {
        throw std::invalid_argument("--smoothgrad-sq applies to gradient, guided-backprop or integrated-gradients, not to " +
                                    method_name(options.method));
    }
    if (options.target_class && *options.target_class < 0) {
        throw std::invalid_argument("--class " + std::to_string(*options.target_class) + ": expected a class index >= 0");
    }
}

std::string describe(const MethodOptions& options) {
    std::ostringstream out;
    out << method_name(options.method);
    if (options.method == Method::Smoe) return out.str();
    if (options.smoothgrad_sq) out << "+smoothgrad-sq";
    out << " class=" << (options.target_class ? std::to_string(*options.target_class) : std::string("predicted"));
    if (options.method == Method::IntegratedGradients) {
        out << " steps=" << options.steps << " baseline=" << options.baseline << " rule=riemann-midpoint";
    }
    if (options.smoothgrad_sq) out << " samples=" << options.samples << " noise=" << options.noise << " seed=" << options.seed;
    if (is_input_attribution(options.method)) out << " reduce=" << channel_reduction_name(options.reduction);
    if (is_cam(options.method)) out << " tap=" << (options.cam_tap.empty() ? std::string("last") : options.cam_tap);
    return out.str();
}

}  // namespace satsal
