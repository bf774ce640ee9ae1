#pragma once
// Guided backpropagation for TorchScript models whose ReLUs sit anywhere: in submodules
// (torchvision's nn.ReLU calls F.relu, scripted as a function call), as F.relu in a forward, in
// place or not.
//
// How: the module's forward graph is copied and fully inlined (every prim::CallMethod and
// prim::CallFunction replaced by the callee's graph, the module object itself untouched), then
// every aten::relu / aten::relu_ node is replaced by the custom operator satsal::guided_relu. Its
// forward is relu(x); its backward, a torch::autograd::Function, returns grad * [x > 0] * [grad > 0]
// (Springenberg et al.). For an in-place relu_ every later use of its input is redirected to the
// new output, which is what the aliasing meant. The rewritten graph runs as a standalone
// function on the module's object (its parameters), so the ordinary forward of the same module is
// unaffected. Proved against PyTorch eager models with their ReLUs replaced by a guided autograd
// function (tools/make_method_fixtures.py, tests/methods/).
//
// Thread rule: one GuidedForward per thread (it shares the module's parameters read-only).
#include <torch/script.h>

#include <memory>
#include <string>

namespace torch::jit {
struct GraphFunction;
}

namespace satsal {

class GuidedForward {
public:
    /// Builds the rewritten forward of `module`. model_label names the model in errors. Throws
    /// std::runtime_error when the forward has no aten::relu / aten::relu_ (guided backprop would
    /// be plain gradients) or cannot be inlined.
    GuidedForward(const torch::jit::Module& module, const std::string& model_label);
    ~GuidedForward();
    GuidedForward(GuidedForward&&) noexcept;
    GuidedForward& operator=(GuidedForward&&) noexcept;

    /// The network output (the first element when the forward returns a tuple) with guided ReLUs.
    /// Gradients flow to `batch` if it requires grad.
    torch::Tensor operator()(const torch::Tensor& batch) const;
    /// How many ReLU nodes were replaced (after inlining: one per call site, a module shared by
    /// several call sites counts once per site).
    int relu_count() const { return relu_count_; }

private:
    torch::jit::Module module_;
    std::string label_;
    std::unique_ptr<torch::jit::GraphFunction> function_;
    int relu_count_ = 0;
};

/// The guided ReLU as a plain function (the custom operator's implementation): relu(x) forward,
/// grad * [x > 0] * [grad > 0] backward.
torch::Tensor guided_relu(const torch::Tensor& x);

}  // namespace satsal
