#pragma once
// Which saliency method `satsal explain` / `satsal bench methods` run, and its parameters.
// No LibTorch here: the command line and pipeline/Explain.hpp include this header.
//
// Methods (definitions as the reference implementations use them, FACTS.md "Gradient baselines"):
//  smoe                  the paper's SMOE Scale combined map (saliency/), no gradients;
//  gradient              d score / d input (Simonyan et al.);
//  guided-backprop       the same with every ReLU's backward replaced by grad * [x > 0] * [grad > 0]
//                        (Springenberg et al.), see methods/GuidedBackprop.hpp;
//  integrated-gradients  (x - x') * mean over `steps` of d score / d input at x' + a (x - x'),
//                        a = (k - 1/2) / steps, k = 1..steps (Riemann midpoint rule), baseline x'
//                        constant `baseline` (0 by default: the normalized input's zero, i.e. the
//                        mean colour);
//  gradcam / gradcam++   class activation map on one tap (Selvaraju et al.; Chattopadhay et al. as
//                        pytorch-grad-cam computes it), upsampled bilinearly, min-max normalized;
//  fastcam               the SMOE combined map x the Grad-CAM map (LLNL/fastcam), plus the
//                        non-class map combined x (1 - cam).
// smoothgrad_sq wraps gradient, guided-backprop or integrated-gradients: the mean over `samples`
// noisy copies (sigma = noise x (max - min) of each input image) of the squared attribution
// (Smilkov et al.; Hooker et al.'s squared form).
//
// The score is the logit of `target_class`, or of each image's predicted class when unset (for a
// counting network, whose classes are counts, that is the predicted count).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

enum class Method { Smoe, Gradient, GuidedBackprop, IntegratedGradients, GradCam, GradCamPlusPlus, FastCam };

/// Names: smoe, gradient, guided-backprop, integrated-gradients, gradcam, gradcam++, fastcam.
/// Throws std::invalid_argument naming the value and the choices.
Method parse_method(const std::string& name);
std::string method_name(Method method);
std::vector<std::string> method_names();
/// gradient, guided-backprop and integrated-gradients: attributions on the input pixels.
bool is_input_attribution(Method method);
/// gradcam, gradcam++ and fastcam: maps from one tap's activations and gradients.
bool is_cam(Method method);

/// How an attribution [C, H, W] becomes a map [H, W]: the largest |a_c| (abs-max, the
/// reference implementations' default for Saliency/Guided Backprop) or the sum of |a_c|.
enum class ChannelReduction { AbsMax, SumAbs };
ChannelReduction parse_channel_reduction(const std::string& name);
std::string channel_reduction_name(ChannelReduction reduction);

struct MethodOptions {
    Method method = Method::Smoe;
    bool smoothgrad_sq = false;
    std::optional<int64_t> target_class;  // unset: each image's predicted class
    int steps = 50;                       // integrated gradients
    double baseline = 0.0;                // integrated gradients, in network input units
    int samples = 15;                     // SmoothGrad-Sq
    double noise = 0.15;                  // SmoothGrad-Sq sigma / (max - min) of the input
    uint64_t seed = 0;                    // SmoothGrad-Sq noise (torch's CPU generator)
    ChannelReduction reduction = ChannelReduction::AbsMax;
    std::string cam_tap;                  // empty: the model's last tap
    int max_batch = 8;                    // images per forward/backward pass (IG steps, SmoothGrad samples)
};

/// Throws std::invalid_argument naming the option and what is expected: steps, samples, max_batch
/// >= 1; noise finite and >= 0; baseline finite; --smoothgrad-sq only with an input-attribution
/// method; a negative class.
void validate(const MethodOptions& options);

/// The method and the parameters it uses, one line, e.g.
/// "integrated-gradients steps=50 baseline=0 class=predicted reduce=abs-max" (the `method`
/// attribute of saliency.h5 and the label of `bench methods`).
std::string describe(const MethodOptions& options);

}  // namespace satsal
