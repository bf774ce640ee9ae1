#include "methods/GuidedBackprop.hpp"

#include "model/TorchText.hpp"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/library.h>

#include <functional>
#include <stdexcept>

namespace satsal {
namespace {

class GuidedReluFunction : public torch::autograd::Function<GuidedReluFunction> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x) {
        torch::Tensor y = at::relu(x);
        context->save_for_backward({y});  // y > 0 exactly where x > 0
        return y;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                   torch::autograd::variable_list grads) {
        const torch::Tensor y = context->get_saved_variables()[0];
        return {grads[0].clamp_min(0) * (y > 0).to(grads[0].scalar_type())};
    }
};

torch::Tensor guided_relu_op(const torch::Tensor& x) { return GuidedReluFunction::apply(x); }

const char* const kGuidedReluName = "satsal::guided_relu";


// Replaces aten::relu / aten::relu_ in `block` and its sub-blocks; returns how many.
int replace_relus(torch::jit::Block* block) {
    using torch::jit::Node;
    const auto relu = c10::Symbol::fromQualString("aten::relu");
    const auto relu_inplace = c10::Symbol::fromQualString("aten::relu_");
    const auto guided = c10::Symbol::fromQualString(kGuidedReluName);
    int count = 0;
    std::vector<Node*> targets;
    for (Node* node : block->nodes()) {
        for (torch::jit::Block* sub : node->blocks()) count += replace_relus(sub);
        if (node->kind() == relu || node->kind() == relu_inplace) targets.push_back(node);
    }
    for (Node* node : targets) {
        torch::jit::Graph* graph = node->owningGraph();
        torch::jit::Value* input = node->input(0);
        Node* replacement = graph->create(guided, {input}, 1);
        replacement->output()->setType(node->output()->type());
        replacement->insertBefore(node);
        node->output()->replaceAllUsesWith(replacement->output());
        if (node->kind() == relu_inplace) {
            // relu_ changed its input: later readers of the input saw the rectified values.
            input->replaceAllUsesAfterNodeWith(node, replacement->output());
        }
        node->destroy();
        ++count;
    }
    return count;
}

int count_calls(torch::jit::Block* block) {
    int count = 0;
    for (torch::jit::Node* node : block->nodes()) {
        for (torch::jit::Block* sub : node->blocks()) count += count_calls(sub);
        if (node->kind() == c10::prim::CallMethod || node->kind() == c10::prim::CallFunction) ++count;
    }
    return count;
}

}  // namespace

torch::Tensor guided_relu(const torch::Tensor& x) { return guided_relu_op(x); }

GuidedForward::GuidedForward(const torch::jit::Module& module, const std::string& model_label)
    : module_(module), label_(model_label) {
    std::shared_ptr<torch::jit::Graph> graph;
    try {
        graph = module_.get_method("forward").graph()->copy();
        torch::jit::Inline(*graph);
    } catch (const std::exception& e) {
        throw std::runtime_error("model '" + label_ + "': guided backprop could not inline its forward: " + torch_message(e));
    }
    if (const int calls = count_calls(graph->block()); calls > 0) {
        throw std::runtime_error("model '" + label_ + "': guided backprop needs every module and function call inlined, " +
                                 std::to_string(calls) + " call(s) remain (a method that is not TorchScript?)");
    }
    relu_count_ = replace_relus(graph->block());
    if (relu_count_ == 0) {
        throw std::runtime_error("model '" + label_ +
                                 "': guided backprop found no ReLU (aten::relu / aten::relu_, nn.ReLU or F.relu) in the "
                                 "inlined forward graph; it changes the backward of ReLUs only, so it is not defined "
                                 "for this model (use --method gradient)");
    }
    torch::jit::EliminateDeadCode(graph);
    function_ = std::make_unique<torch::jit::GraphFunction>("satsal_guided_forward", graph, nullptr);
}

GuidedForward::~GuidedForward() = default;
GuidedForward::GuidedForward(GuidedForward&&) noexcept = default;
GuidedForward& GuidedForward::operator=(GuidedForward&&) noexcept = default;

torch::Tensor GuidedForward::operator()(const torch::Tensor& batch) const {
    c10::IValue out;
    try {
        std::vector<c10::IValue> stack{module_._ivalue(), batch};
        function_->run(stack);
        out = stack.front();
    } catch (const std::exception& e) {
        throw std::runtime_error("model '" + label_ + "': guided forward of a batch failed: " + torch_message(e));
    }
    if (out.isTuple()) return out.toTuple()->elements()[0].toTensor();
    return out.toTensor();
}

}  // namespace satsal

TORCH_LIBRARY(satsal, m) {
    m.def("guided_relu(Tensor x) -> Tensor");
}

TORCH_LIBRARY_IMPL(satsal, CompositeImplicitAutograd, m) {
    m.impl("guided_relu", &satsal::guided_relu);
}
