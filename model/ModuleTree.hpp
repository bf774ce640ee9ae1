#pragma once
// Tap discovery for TappedModel (internal to model/): the module tree as far as running its
// children in order is exact, probed on a deterministic input, and the end-of-scale tap rule.
// Also the small module-call and comparison helpers shared by loading, the children-run and
// the optimized segments. Not part of satsal's interface: include only from model/*.cpp.
#include <torch/script.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace satsal::module_tree {

using torch::jit::Module;

// Probe sizes tried in turn: a model may need a larger input (deep strides, valid convolutions).
constexpr int64_t kProbeSizes[] = {64, 128, 256, 512};

// A failure that a larger probe input may cure (too small for the network, a 1x1 tap, ...).
struct ProbeTooSmall : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "a, b, c", or "(none)".
std::string join_names(const std::vector<std::string>& names);
// Unqualified class name of a module (ReLU, Sequential, ...).
std::string short_type(const Module& m);
std::vector<std::pair<std::string, Module>> children_of(const Module& m);
// The submodule at a dotted path below root.
Module resolve(const Module& root, const std::string& path);
// m.forward(x), which must return a tensor (the error names path otherwise).
torch::Tensor call_module(const Module& m, const torch::Tensor& x, const std::string& path);
// Same values up to float rounding, relative to the reference's magnitude.
bool same_values(const torch::Tensor& a, const torch::Tensor& reference);
// "max difference D", or the two shapes when they differ.
std::string difference_text(const torch::Tensor& a, const torch::Tensor& reference);
// Deterministic probe/test pattern in [-1, 1], [1, 3, size, size]: integer arithmetic and one
// division, so Python (tools/make_test_models.py test_input) computes the same bits.
torch::Tensor probe_input(int64_t size);

// The module tree as far as children-running is exact, with what the probe saw at each node.
struct Node {
    std::string path;  // dotted, "" for the root
    std::string type;  // unqualified class name (ReLU, Sequential, BasicBlock, ...)
    Module module;
    bool expandable = false;      // running `children` in order reproduces this node's forward
    std::string not_expandable_because;
    bool flatten_before = false;  // the parent flattens its input (a Linear follows a 4-D tensor)
    bool modifies_input = false;  // writes into its input tensor (in-place ReLU)
    bool non_negative = false;    // 4-D output with no negative value (post-activation)
    std::vector<int64_t> out_sizes;
    std::vector<Node> children;   // only when expandable
    int first_leaf = -1, last_leaf = -1;
};

// Runs node on a copy of input (input itself is never modified), records the output and tries the
// children-run. Exceptions from the node's own forward propagate. With `inside` (dotted paths), a
// node below the root is expanded only if one of those paths lies strictly inside it: taps named
// in the config need no probe of the rest of the tree (each module's first call compiles its
// TorchScript method, which made a full probe of ResNet-50 cost seconds).
torch::Tensor probe_node(Node& node, const torch::Tensor& input, const std::vector<std::string>* inside = nullptr);
// Numbers the leaves of the expanded tree in run order (sets first_leaf/last_leaf).
void number_leaves(Node& node, std::vector<const Node*>& leaves);
// Every node below node by dotted path; the paths of 4-D outputs go to tappable.
void index_paths(const Node& node, std::map<std::string, const Node*>& by_path, std::vector<std::string>& tappable);
// The outermost node below the root whose output is leaf k's output ("layer1", not "layer1.2").
const Node* outermost_ending_at(const Node& root, int k);
// End-of-scale taps: the last non-negative, non-pooling output before each spatial downsampling, and
// the last one before the trailing pooling/flatten if it is at a deeper scale than the others.
// Scales skipped go to notes.
std::vector<int> detect_tap_leaves(const std::vector<const Node*>& leaves, std::vector<std::string>& notes);
// A torchvision BasicBlock/Bottleneck by its children's names.
bool is_residual_block(const Module& m, bool& bottleneck, bool& has_downsample);

}  // namespace satsal::module_tree
