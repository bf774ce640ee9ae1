#pragma once
// The counting network (tools/make_count_model.py's CountNet, torchvision ResNet child names) run
// stage by stage, so that an activation can be masked at a tap and only the layers after it
// trained: stage 0 = conv1, bn1, relu (tap L1), stage 1 = maxpool, layer1 (L2), stages 2..4 =
// layer2..layer4 (L3..L5), then the head avgpool, flatten, fc. The same taps as satsal's
// auto-detection finds for this network (model/TappedModel.hpp).
//
// Also the small training loop of the evaluation (eval/Evaluate.cpp): Adam, warm-up + cosine
// learning rate and soft count targets as cowc/CountingTrainer, on tensors held in memory, with
// seeded shuffles and 90-degree rotation / flip augmentation.
//
// Thread rules: one StagedNet per thread; LibTorch's intra-op threads are process-wide.
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cowc/CountingMetrics.hpp"

namespace satsal::eval {

constexpr int kTapCount = 5;

class StagedNet {
public:
    /// Loads the TorchScript file; throws std::runtime_error naming it when a child of CountNet's
    /// layout is missing.
    explicit StagedNet(const std::string& path);
    StagedNet(torch::jit::Module module, std::string name);

    /// An independent copy (own parameters and buffers).
    StagedNet clone() const;
    /// Re-initialises every parameter and buffer from `seed` as CountNet does (Kaiming normal
    /// fan-out convolutions, batch norms 1/0 with the last one of each residual branch 0, PyTorch's
    /// default Linear init, running statistics reset).
    void reinitialize(std::uint64_t seed);

    /// The activation at tap `tap` (0-based, 0..4) of input x.
    at::Tensor to_tap(const at::Tensor& x, int tap);
    /// The logits from the activation at tap `tap`; tap = -1 runs the whole network from the input.
    at::Tensor from_tap(const at::Tensor& activation, int tap);
    /// Parameters of the layers after tap `tap` (tap = -1: all).
    std::vector<at::Tensor> parameters_after(int tap);

    torch::jit::Module& module() { return module_; }
    void save(const std::string& path);

private:
    torch::jit::Module child(const char* name);
    at::Tensor stage(int k, const at::Tensor& x);

    torch::jit::Module module_;
    std::string name_;
};

struct TrainSettings {
    int epochs = 1;
    int batch_size = 32;
    double learning_rate = 0.002;
    double weight_decay = 1e-4;
    double warmup_fraction = 0.03;
    double label_sigma = 0.75;
    bool augment = true;
    int classes = 65;
    std::uint64_t seed = 1;
};

/// Trains `net` on inputs [N, ...] (images for tap = -1, else activations at tap `tap`) with
/// labels int64 [N], updating only parameters_after(tap). Returns the mean loss of the last epoch.
/// Throws std::runtime_error when the loss becomes non-finite.
double train_net(StagedNet& net, int tap, const at::Tensor& inputs, const at::Tensor& labels,
                 const TrainSettings& settings);

/// Arg-max counts of inputs (images or activations at `tap`), eval mode, no gradients.
std::vector<int> predict_net(StagedNet& net, int tap, const at::Tensor& inputs, int batch_size);

/// Exact accuracy and MAE of predict_net against labels.
counting::CountingMetrics score_net(StagedNet& net, int tap, const at::Tensor& inputs, const at::Tensor& labels,
                                    int batch_size);

}  // namespace satsal::eval
