#pragma once
// Gradient-based saliency on a TappedModel: input gradients (plain and guided), integrated
// gradients, SmoothGrad-Sq on top of them, Grad-CAM and Grad-CAM++ (definitions in
// methods/MethodOptions.hpp). Everything runs in fp32 with autograd on, in passes of at most
// `max_batch` images (IG steps and SmoothGrad samples included), so memory stays bounded by one
// such pass whatever the step and sample counts.
//
// Thread rule: one GradientMethods per thread, like the TappedModel it refers to (which must
// outlive it).
#include "methods/GuidedBackprop.hpp"
#include "methods/MethodOptions.hpp"
#include "model/TappedModel.hpp"

#include <memory>
#include <optional>
#include <string>

namespace satsal {

class GradientMethods {
public:
    explicit GradientMethods(const TappedModel& model, int max_batch = 8);

    /// The class whose logit is the score, per image: `target` for all, or each image's arg-max
    /// logit. Returns int64 [N]. Throws std::invalid_argument when target is not a class of the
    /// model (naming the number of outputs) or the output is not [N, classes].
    torch::Tensor targets(const torch::Tensor& inputs, std::optional<int64_t> target) const;

    /// d logit[target_i] / d input_i for each image of inputs [N, C, H, W]; guided: with guided
    /// ReLUs (GuidedForward, built on first use). Returns [N, C, H, W].
    torch::Tensor input_gradient(const torch::Tensor& inputs, const torch::Tensor& targets, bool guided) const;
    /// (x - x') * mean_k gradient(x' + a_k (x - x')), a_k = (k - 1/2) / steps, x' = baseline everywhere.
    torch::Tensor integrated_gradients(const torch::Tensor& inputs, const torch::Tensor& targets, int steps,
                                       double baseline) const;
    /// The attribution of an input-attribution method (gradient, guided-backprop,
    /// integrated-gradients), with SmoothGrad-Sq if options.smoothgrad_sq: mean over samples s of
    /// attribution(x + n_s)^2, n_s = sigma_i * randn (drawn [N, C, H, W] per sample, in sample order,
    /// from a CPU generator seeded with options.seed), sigma_i = noise * (max - min) of image i.
    torch::Tensor attribution(const torch::Tensor& inputs, const torch::Tensor& targets,
                              const MethodOptions& options) const;

    struct Cam {
        torch::Tensor map;         // [N, H, W] at input size, min-max normalized per image
        torch::Tensor raw;         // [N, h, w] ReLU(sum_k w_k A_k) at the tap's resolution
        torch::Tensor weights;     // [N, K] the channel weights w_k
    };
    /// Grad-CAM (plus_plus: Grad-CAM++) on tap `tap_index` of the model: w_k = spatial mean of
    /// d score / d A_k (Grad-CAM++: sum of relu(g) * g^2 / (2 g^2 + sum(A) g^3 + 1e-7), zero where
    /// g = 0); map = ReLU(sum_k w_k A_k) upsampled bilinearly (half-pixel centres) to the input
    /// size, then (m - min) / (max - min) per image (0 where max = min). Throws
    /// std::runtime_error when the tap carries no gradient or the score does not depend on it.
    Cam grad_cam(const torch::Tensor& inputs, const torch::Tensor& targets, size_t tap_index, bool plus_plus) const;

    /// The index of a tap by name (empty: the last tap); throws std::invalid_argument listing
    /// the taps otherwise.
    size_t tap_index(const std::string& name) const;

    const TappedModel& model() const { return model_; }
    int max_batch() const { return max_batch_; }
    /// The guided forward (built on first use); exposed for tests and benchmarks.
    const GuidedForward& guided_forward() const;
    /// The most images any single forward/backward pass has held so far (never above max_batch):
    /// what bounds the memory of IG and SmoothGrad.
    int64_t largest_pass() const { return largest_pass_; }

private:
    torch::Tensor gradient_pass(const torch::Tensor& inputs, const torch::Tensor& targets, bool guided) const;
    torch::Tensor base_attribution(const torch::Tensor& inputs, const torch::Tensor& targets,
                                   const MethodOptions& options) const;

    const TappedModel& model_;
    int max_batch_;
    mutable std::unique_ptr<GuidedForward> guided_;
    mutable int64_t largest_pass_ = 0;
};

/// [N, C, H, W] -> [N, H, W]: max_c |a_c| (abs-max) or sum_c |a_c| (sum-abs).
torch::Tensor reduce_channels(const torch::Tensor& attribution, ChannelReduction reduction);
/// [N, H, W] -> the same, (m - min) / (max - min) per image; 0 where max = min.
torch::Tensor normalize_min_max(const torch::Tensor& maps);

}  // namespace satsal
