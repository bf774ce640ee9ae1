#pragma once
// A TorchScript CNN together with the "taps": the post-ReLU tensors at the end of each spatial
// scale, from which the saliency maps are computed (paper Sec. 2, FACTS.md "Taps").
//
// Two kinds of model are supported:
//  * Plain modules (torchvision ResNet, VGG, ...). Taps are child modules named by dotted path
//    ("relu,layer1,layer2,layer3,layer4", "features.3,features.8"). forward() runs the top-level
//    children in order (flattening before a Linear), descending into a container only when a tap lies
//    inside it. A container is descended into only if running its own children in order reproduces
//    its forward on a probe input, and at load the whole children-run must reproduce the module's
//    forward; otherwise loading fails (never a silently different output).
//  * Tuple modules whose forward returns (output, tap_1, ..., tap_n). Tap names come from a
//    `tap_names: List[str]` attribute if present, else tap1..tapn. Pre-activations come from an
//    optional method `forward_with_pre_activation` returning (output, tap_1..tap_n, pre_1..pre_n).
//    tools/export_model.py exports DenseNet this way (its forward applies relu and pooling as functions
//    after `features`, so its children do not reproduce it).
//
// Auto-detection (no tap names): the children are expanded recursively wherever that is exact, and
// the tap list is the last non-negative (post-activation) output before each spatial downsampling,
// plus the last such output before the trailing pooling/flatten if it is at a new scale. ResNet gives
// relu, layer1..layer4; VGG the ReLU before each max-pool inside `features`. Channels and strides are
// measured by probing with a 1x3xPxP input (P = 64, doubled up to 512 if needed) at load.
//
// Precision and device (InferenceOptions): the taps are found and verified in fp32 on the CPU at
// load, exactly as described above; then the module is moved to the chosen precision/device.
//  * fp32: float32 weights, NCHW activations.
//  * bf16: bfloat16 weights (a module.to(bfloat16)), inputs converted to bf16 channels-last, so
//    oneDNN runs bf16 convolutions (AMX / AVX512-BF16 where present). Taps come out as bf16
//    tensors in the channels-last layout the network produced (the SMOE kernel reads them in
//    place); the output is returned as float32.
//  * optimize (opt-in): the children-run is cut after each tap into segments, each compiled
//    into one TorchScript module, frozen (torch::jit::freeze: conv-bn folding, constants) and
//    passed through torch::jit::optimize_for_inference (oneDNN layouts inside the segment);
//    tuple modules are frozen and optimized whole. At load the optimized run must reproduce the
//    plain one on the probe (max difference <= 1e-3 of the output's scale in fp32); if it does not,
//    the plain children-run is used and optimization() says why. bf16 models are not frozen
//    (folding batch norms in bf16 moves the maps further from fp32). Models loaded for pre-activation
//    taps (truncated-normal statistics) are not optimized (the residual recomputation needs the
//    unfolded batch norms).
//  * device cuda[:N] needs a CUDA LibTorch; on a CPU-only build the constructor throws
//    ("this satsal was built against a CPU-only LibTorch ..."). Taps and outputs are returned on
//    the CPU.
// Inputs are always float32 [N, C, H, W] on the CPU from the caller.
//
// Thread rule: one TappedModel per thread. forward()/forward_plain() are const but run the module;
// use clone() to give each inference worker its own instance. LibTorch's intra-op thread count is
// process-wide (set_torch_threads).
#include <torch/script.h>

#include "model/Precision.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

struct TapInfo {
    std::string name;
    int64_t channels = 0;
    int64_t stride = 0;  // input size / tap size
};

struct ForwardResult {
    torch::Tensor output;                       // the network output, equal to forward_plain()
    std::vector<torch::Tensor> taps;            // post-activation tap tensors [N, C, H, W], tap order
    std::vector<torch::Tensor> pre_activation;  // same order; filled only if requested at load
};

// Called by forward() with each tap as soon as the run has produced it (tap order), while the tensor
// is still in cache: the place to compute a statistic on it. The tensor is the one forward() returns
// (on the CPU); it must not be modified.
using TapCallback = std::function<void(std::size_t slot, const torch::Tensor& tap)>;

struct InferenceOptions {
    Precision precision = Precision::Fp32;  // Auto is resolved at load (see Precision.hpp)
    std::string device = "cpu";             // cpu | cuda | cuda:N
    bool optimize = false;                  // frozen + optimize_for_inference segments (opt-in: no
                                            // clear gain measured on this project's machine)
    bool channels_last = false;             // fp32 inputs channels-last too (bf16 always is)
};

class TappedModel {
public:
    // Loads a TorchScript file (eval mode). tap_names empty => auto-detect. want_pre_activation also
    // returns each tap's pre-ReLU tensor (truncated-normal statistics): the input of a tap that is (or
    // ends in) a ReLU module, the pre-ReLU residual sum of a torchvision BasicBlock/Bottleneck (or a
    // container ending in one), or forward_with_pre_activation of a tuple module.
    // Throws std::runtime_error naming the path and the problem: missing file, not TorchScript (text,
    // state dict), unknown tap (lists the available names), non-4-D tap, no pre-activation for a tap,
    // children-run that does not reproduce the forward.
    explicit TappedModel(const std::string& path, std::vector<std::string> tap_names = {},
                         bool want_pre_activation = false, const InferenceOptions& inference = {});

    // Runs the network under NoGradGuard, in eval mode, and captures the taps. The returned tensors
    // are ordinary (non-inference) tensors owned by the caller. batch: float [N, C, H, W] on the CPU.
    // Output float32; taps in the compute precision (bf16 channels-last under bf16), on the CPU.
    ForwardResult forward(const torch::Tensor& batch) const;
    // The same, calling on_tap with each tap right after the step (or optimized segment) that
    // produces it, before the next one runs; tuple modules call it after their forward. Exceptions
    // from on_tap propagate unchanged.
    ForwardResult forward(const torch::Tensor& batch, const TapCallback& on_tap) const;
    // The module's own forward (first tuple element for tuple modules): the benchmark baseline.
    torch::Tensor forward_plain(const torch::Tensor& batch) const;
    // Like forward(), but with autograd on (fp32): the output and taps carry gradients, for the
    // gradient-based methods in methods/ (Grad-CAM needs d score / d tap).
    ForwardResult forward_with_grad(const torch::Tensor& batch) const;
    // The loaded TorchScript module (a handle sharing its parameters), for methods that run their
    // own rewritten graph on it (methods/GuidedBackprop.hpp). Same thread rule as forward().
    torch::jit::Module module() const { return module_; }

    const std::vector<TapInfo>& taps() const { return taps_; }
    std::vector<std::string> tap_names() const;
    // The largest tap stride; tile origins and margins should be multiples of it.
    int64_t deepest_stride() const;
    const std::string& path() const { return path_; }
    // SHA-256 of the model file's bytes, as read at load (the same bytes that were deserialized).
    const std::string& sha256() const { return sha256_; }
    bool returns_tuple() const { return tuple_module_; }
    bool has_pre_activation() const { return want_pre_; }
    // Names accepted as taps (4-D outputs reachable by children-running, or the tuple's tap names).
    // Complete when the taps were auto-detected or pre-activations requested; with named taps only
    // the modules on the way to them were probed, and only those are listed.
    const std::vector<std::string>& available_taps() const { return available_; }
    // The precision in use (never Auto) and why it was chosen, e.g. "auto: fp32, the CPU has no
    // usable native BF16 (avx512f)".
    Precision precision() const { return precision_; }
    const std::string& precision_reason() const { return precision_reason_; }
    std::string device() const { return device_.str(); }
    // What graph optimization is in use: "frozen + optimize_for_inference, 6 segments", "none
    // (requested)", or "none: <why it was not used>".
    const std::string& optimization() const { return optimization_; }
    // An independent deep copy (own parameters) for another inference worker.
    TappedModel clone() const;
    // One line per tap: "L<k> <name>: <channels> channels, stride <s>", then "note: ..." lines for
    // scales auto-detection skipped.
    std::string describe() const;

private:
    // Everything a residual block needs to be recomputed up to its pre-ReLU sum.
    struct ResidualParts {
        torch::jit::Module conv1, bn1, conv2, bn2, conv3, bn3, downsample;
        bool bottleneck = false;
        bool has_downsample = false;
    };
    // One module call of the children-run.
    struct Step {
        std::string path;
        torch::jit::Module module;
        bool flatten_before = false;      // torch.flatten(x, 1) before a Linear
        bool modifies_input = false;      // in-place module: protect captured tensors aliasing its input
        std::vector<size_t> tap_slots;    // taps equal to this step's output
        std::vector<size_t> pre_input_slots;  // pre-activations equal to this step's input (ReLU)
        std::vector<size_t> pre_residual_slots;  // pre-activations from the residual recomputation
        std::optional<ResidualParts> residual;   // set when pre_residual_slots is not empty
    };

    struct LoadTag {};
    // A segment of the optimized children-run: one compiled module running consecutive steps.
    struct Segment {
        torch::jit::Module module;
        bool clone_input = false;      // its first module writes into its input
        std::vector<size_t> tap_slots;  // taps equal to its output
    };

    TappedModel() = default;
    TappedModel(LoadTag, const std::string& path, std::vector<std::string> tap_names, bool want_pre_activation);
    void prepare_inference(const InferenceOptions& inference);
    void build_optimized_run();
    torch::Tensor to_compute(const torch::Tensor& batch) const;  // device, dtype, layout of the run
    ForwardResult run_segments(const torch::Tensor& batch, const TapCallback* on_tap = nullptr) const;
    void deliver(std::size_t slot, const torch::Tensor& tap, const TapCallback* on_tap) const;
    ForwardResult finish(ForwardResult result) const;  // output to float32 CPU, taps to the CPU
    void bind_modules();  // (re)resolves Step::module and residual parts from paths in module_
    ForwardResult run_children(const torch::Tensor& batch, bool verify, bool grad = false,
                               const TapCallback* on_tap = nullptr) const;
    ForwardResult run_tuple(const torch::jit::Module& module, const torch::Tensor& batch, bool grad = false) const;

    std::string path_;
    std::string sha256_;
    mutable torch::jit::Module module_;  // jit methods are non-const; see the thread rule above
    bool tuple_module_ = false;
    bool want_pre_ = false;
    std::vector<Step> steps_;               // children-run (plain modules)
    std::vector<size_t> tuple_tap_index_;   // tuple modules: index among the tuple's taps
    size_t tuple_tap_count_ = 0;
    std::vector<TapInfo> taps_;
    std::vector<std::string> available_;
    std::vector<std::string> notes_;

    Precision precision_ = Precision::Fp32;
    std::string precision_reason_ = "fp32 (default)";
    c10::Device device_ = c10::Device(c10::kCPU);
    bool optimize_ = false;
    bool channels_last_ = false;
    int64_t probe_size_ = 64;  // the probe size that worked at load
    mutable std::string optimization_ = "none (requested)";  // forward_plain may append a note
    std::vector<Segment> segments_;               // optimized children-run, empty if not used
    std::optional<torch::jit::Module> optimized_tuple_;  // optimized tuple module
    mutable std::optional<torch::jit::Module> optimized_plain_;  // forward_plain, built on first use
};

// InferenceOptions from config/command-line text (precision fp32|bf16|auto, device cpu|cuda[:N]).
// Throws std::invalid_argument naming a bad value.
InferenceOptions make_inference_options(const std::string& precision, const std::string& device);

// The torch device for a device name (cpu | cuda | cuda:N). Throws std::invalid_argument for a bad
// name and std::runtime_error when CUDA is asked of a CPU-only LibTorch build ("this satsal was built
// against a CPU-only LibTorch ...") or the device does not exist.
c10::Device checked_device(const std::string& name);

// Sets LibTorch's intra-op threads (at::set_num_threads); 0 => all cores
// (std::thread::hardware_concurrency). Negative values throw std::invalid_argument.
void set_torch_threads(int threads);

// Runs TorchScript with the simple executor (no profiling runs, no JIT fusion), process-wide.
// The default profiling executor makes the first two calls of every method several times slower
// while it records shapes; tap capture calls each child's method separately, so those warm-ups
// multiply, and on CPU the convolutions (oneDNN) dominate anyway. Call before running a model.
void use_simple_jit_executor();

}  // namespace satsal
