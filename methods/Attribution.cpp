#include "methods/Attribution.hpp"

#include "model/TorchText.hpp"

#include <torch/csrc/autograd/autograd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {



// The network output as [N, classes].
torch::Tensor as_logits(const torch::Tensor& output, int64_t batch, const std::string& model_path) {
    if (output.dim() < 2 || output.size(0) != batch) {
        throw std::invalid_argument("model '" + model_path + "': gradient methods need an output of shape [N, classes], got " +
                                    shape_string(output.sizes()));
    }
    return output.flatten(1);
}

// The module's forward with autograd on (the first element of a tuple module's output).
torch::Tensor differentiable_forward(const TappedModel& model, const torch::Tensor& batch) {
    torch::jit::Module module = model.module();
    c10::IValue out;
    try {
        out = module.forward({batch});
    } catch (const std::exception& e) {
        throw std::runtime_error("model '" + model.path() + "': forward of a " + shape_string(batch.sizes()) +
                                 " batch failed: " + torch_message(e));
    }
    return out.isTuple() ? out.toTuple()->elements()[0].toTensor() : out.toTensor();
}

torch::Tensor check_inputs(const torch::Tensor& inputs, const torch::Tensor& targets, const std::string& model_path) {
    if (inputs.dim() != 4) {
        throw std::invalid_argument("model '" + model_path + "': expected a [N, C, H, W] batch, got " +
                                    shape_string(inputs.sizes()));
    }
    if (targets.dim() != 1 || targets.size(0) != inputs.size(0)) {
        throw std::invalid_argument("model '" + model_path + "': expected one target class per image (" +
                                    std::to_string(inputs.size(0)) + "), got " + shape_string(targets.sizes()));
    }
    return inputs.to(torch::kFloat32).contiguous();
}

}  // namespace

GradientMethods::GradientMethods(const TappedModel& model, int max_batch) : model_(model), max_batch_(max_batch) {
    if (max_batch < 1) throw std::invalid_argument("gradient methods: at least 1 image per pass, got " + std::to_string(max_batch));
    if (model.precision() != Precision::Fp32) {
        // bf16 weights give bf16 gradients (and guided backprop's graph rewrite assumes fp32):
        // callers load a float32 copy instead (methods/MethodRun.hpp fp32_model).
        throw std::invalid_argument("model '" + model.path() + "' computes in " + precision_name(model.precision()) +
                                    "; gradient methods need it in fp32 (precision = fp32, or a float32 copy)");
    }
}

const GuidedForward& GradientMethods::guided_forward() const {
    if (!guided_) guided_ = std::make_unique<GuidedForward>(model_.module(), model_.path());
    return *guided_;
}

size_t GradientMethods::tap_index(const std::string& name) const {
    const auto& taps = model_.taps();
    if (taps.empty()) throw std::invalid_argument("model '" + model_.path() + "' has no taps for Grad-CAM");
    if (name.empty()) return taps.size() - 1;
    std::string names;
    for (size_t i = 0; i < taps.size(); ++i) {
        if (taps[i].name == name) return i;
        names += (i ? ", " : "") + taps[i].name;
    }
    throw std::invalid_argument("Grad-CAM tap '" + name + "' is not one of the model's taps (" + names +
                                "); add it to --taps");
}

torch::Tensor GradientMethods::targets(const torch::Tensor& inputs, std::optional<int64_t> target) const {
    const int64_t n = inputs.size(0);
    std::vector<torch::Tensor> predicted;
    int64_t classes = 0;
    for (int64_t first = 0; first < n; first += max_batch_) {
        const int64_t last = std::min(n, first + max_batch_);
        const torch::Tensor logits = as_logits(model_.forward_plain(inputs.slice(0, first, last)), last - first, model_.path());
        classes = logits.size(1);
        if (target) break;
        predicted.push_back(logits.argmax(1));
    }
    if (target) {
        if (*target < 0 || *target >= classes) {
            throw std::invalid_argument("--class " + std::to_string(*target) + ": model '" + model_.path() + "' has " +
                                        std::to_string(classes) + " outputs (classes 0.." + std::to_string(classes - 1) + ")");
        }
        return torch::full({n}, *target, torch::kLong);
    }
    return torch::cat(predicted);
}

torch::Tensor GradientMethods::gradient_pass(const torch::Tensor& inputs, const torch::Tensor& targets, bool guided) const {
    c10::AutoGradMode grad_mode(true);
    largest_pass_ = std::max(largest_pass_, inputs.size(0));
    const torch::Tensor x = inputs.detach().clone().requires_grad_(true);
    const torch::Tensor output = guided ? guided_forward()(x) : differentiable_forward(model_, x);
    const torch::Tensor logits = as_logits(output, x.size(0), model_.path());
    const torch::Tensor score = logits.gather(1, targets.view({-1, 1})).sum();
    if (!score.requires_grad()) {
        throw std::runtime_error("model '" + model_.path() + "': its output carries no gradient with respect to the input");
    }
    return torch::autograd::grad({score}, {x})[0];
}

torch::Tensor GradientMethods::input_gradient(const torch::Tensor& inputs_in, const torch::Tensor& targets, bool guided) const {
    const torch::Tensor inputs = check_inputs(inputs_in, targets, model_.path());
    std::vector<torch::Tensor> parts;
    for (int64_t first = 0; first < inputs.size(0); first += max_batch_) {
        const int64_t last = std::min(inputs.size(0), first + max_batch_);
        parts.push_back(gradient_pass(inputs.slice(0, first, last), targets.slice(0, first, last), guided));
    }
    return torch::cat(parts);
}

torch::Tensor GradientMethods::integrated_gradients(const torch::Tensor& inputs_in, const torch::Tensor& targets,
                                                    int steps, double baseline) const {
    if (steps < 1) throw std::invalid_argument("integrated gradients: steps must be >= 1, got " + std::to_string(steps));
    const torch::Tensor inputs = check_inputs(inputs_in, targets, model_.path());
    const int64_t n = inputs.size(0);
    const torch::Tensor difference = inputs - baseline;  // [N, C, H, W]
    torch::Tensor sums = torch::zeros_like(inputs);
    // Interpolants (image i, step k) in order p = i * steps + k, max_batch of them per pass, so a
    // pass may hold the last steps of one image and the first of the next.
    const int64_t pairs = n * steps;
    for (int64_t first = 0; first < pairs; first += max_batch_) {
        const int64_t last = std::min(pairs, first + max_batch_);
        const torch::Tensor p = torch::arange(first, last, torch::kLong);
        const torch::Tensor image = p.div(steps, "floor");
        const torch::Tensor alphas =
            (p.remainder(steps).to(torch::kFloat64) + 0.5).div(steps).to(torch::kFloat32).view({-1, 1, 1, 1});
        const torch::Tensor path = alphas * difference.index_select(0, image) + baseline;
        const torch::Tensor gradients = gradient_pass(path, targets.index_select(0, image), false);
        sums.index_add_(0, image, gradients);
    }
    return difference * sums / double(steps);
}

torch::Tensor GradientMethods::base_attribution(const torch::Tensor& inputs, const torch::Tensor& targets,
                                                const MethodOptions& options) const {
    switch (options.method) {
        case Method::Gradient: return input_gradient(inputs, targets, false);
        case Method::GuidedBackprop: return input_gradient(inputs, targets, true);
        case Method::IntegratedGradients:
            return integrated_gradients(inputs, targets, options.steps, options.baseline);
        default:
            throw std::invalid_argument("method " + method_name(options.method) +
                                        " gives no input attribution (gradient, guided-backprop or integrated-gradients)");
    }
}

torch::Tensor GradientMethods::attribution(const torch::Tensor& inputs_in, const torch::Tensor& targets,
                                           const MethodOptions& options) const {
    validate(options);
    const torch::Tensor inputs = check_inputs(inputs_in, targets, model_.path());
    if (!options.smoothgrad_sq) return base_attribution(inputs, targets, options);
    const int64_t n = inputs.size(0);
    const auto flat = inputs.view({n, -1});
    const torch::Tensor sigma = ((flat.amax(1) - flat.amin(1)) * options.noise).view({n, 1, 1, 1});
    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    torch::Tensor sum = torch::zeros_like(inputs);
    for (int s = 0; s < options.samples; ++s) {
        const torch::Tensor noise = at::randn(inputs.sizes(), generator, torch::kFloat32);
        const torch::Tensor a = base_attribution(inputs + noise * sigma, targets, options);
        sum += a * a;
    }
    return sum / double(options.samples);
}

GradientMethods::Cam GradientMethods::grad_cam(const torch::Tensor& inputs_in, const torch::Tensor& targets,
                                               size_t tap_index, bool plus_plus) const {
    const torch::Tensor inputs = check_inputs(inputs_in, targets, model_.path());
    if (tap_index >= model_.taps().size()) {
        throw std::invalid_argument("Grad-CAM: tap index " + std::to_string(tap_index) + " out of range");
    }
    const std::string tap_name = model_.taps()[tap_index].name;
    std::vector<torch::Tensor> maps, raws, weight_parts;
    for (int64_t first = 0; first < inputs.size(0); first += max_batch_) {
        const int64_t last = std::min(inputs.size(0), first + max_batch_);
        torch::Tensor activation, gradient;
        {
            c10::AutoGradMode grad_mode(true);
            // The input requires grad so that every tap is on the autograd graph even when the
            // model's parameters do not; autograd::grad below walks only from the score to the tap.
            const torch::Tensor x = inputs.slice(0, first, last).detach().clone().requires_grad_(true);
            largest_pass_ = std::max(largest_pass_, x.size(0));
            ForwardResult forward = model_.forward_with_grad(x);
            activation = forward.taps[tap_index];
            if (!activation.requires_grad()) {
                throw std::runtime_error("model '" + model_.path() + "': Grad-CAM tap '" + tap_name +
                                         "' carries no gradient (the model detaches it or computes it without autograd)");
            }
            const torch::Tensor logits = as_logits(forward.output, last - first, model_.path());
            const torch::Tensor score = logits.gather(1, targets.slice(0, first, last).view({-1, 1})).sum();
            gradient = torch::autograd::grad({score}, {activation}, {}, false, false, /*allow_unused=*/true)[0];
            if (!gradient.defined()) {
                throw std::runtime_error("model '" + model_.path() + "': the score does not depend on Grad-CAM tap '" +
                                         tap_name + "', so it has no gradient there");
            }
        }
        c10::NoGradGuard no_grad;
        activation = activation.detach();
        torch::Tensor weights;
        if (plus_plus) {
            const torch::Tensor g2 = gradient.pow(2);
            const torch::Tensor g3 = g2 * gradient;
            const torch::Tensor activation_sum = activation.sum({2, 3}, true);
            torch::Tensor alpha = g2 / (2 * g2 + activation_sum * g3 + 1e-7);
            alpha = torch::where(gradient != 0, alpha, torch::zeros_like(alpha));
            weights = (gradient.clamp_min(0) * alpha).sum({2, 3}, true);
        } else {
            weights = gradient.mean({2, 3}, true);
        }
        const torch::Tensor raw = (weights * activation).sum(1, true).clamp_min(0);  // [n, 1, h, w]
        const torch::Tensor up = at::upsample_bilinear2d(raw, {inputs.size(2), inputs.size(3)}, false);
        maps.push_back(normalize_min_max(up.squeeze(1)));
        raws.push_back(raw.squeeze(1));
        weight_parts.push_back(weights.flatten(1));
    }
    return Cam{torch::cat(maps), torch::cat(raws), torch::cat(weight_parts)};
}

torch::Tensor reduce_channels(const torch::Tensor& attribution, ChannelReduction reduction) {
    if (attribution.dim() != 4) {
        throw std::invalid_argument("reduce_channels: expected [N, C, H, W], got " + shape_string(attribution.sizes()));
    }
    return reduction == ChannelReduction::AbsMax ? attribution.abs().amax(1) : attribution.abs().sum(1);
}

torch::Tensor normalize_min_max(const torch::Tensor& maps) {
    if (maps.dim() != 3) throw std::invalid_argument("normalize_min_max: expected [N, H, W], got " + shape_string(maps.sizes()));
    const int64_t n = maps.size(0);
    const auto flat = maps.reshape({n, -1});
    const torch::Tensor low = flat.amin(1).view({n, 1, 1});
    const torch::Tensor range = (flat.amax(1).view({n, 1, 1}) - low);
    const torch::Tensor safe = torch::where(range > 0, range, torch::ones_like(range));
    return torch::where(range > 0, (maps - low) / safe, torch::zeros_like(maps));
}

}  // namespace satsal
