#include "model/TappedModel.hpp"

#include "model/TorchText.hpp"

#include "io/PathPolicy.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Context.h>

#include "model/Sha256.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <thread>

namespace satsal {
namespace {

using torch::jit::Module;

// Probe sizes tried in turn: a model may need a larger input (deep strides, valid convolutions).
constexpr int64_t kProbeSizes[] = {64, 128, 256, 512};

// A failure that a larger probe input may cure (too small for the network, a 1x1 tap, ...).
struct ProbeTooSmall : std::runtime_error {
    using std::runtime_error::runtime_error;
};



std::string join_names(const std::vector<std::string>& names) {
    std::string joined;
    for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
    return joined.empty() ? "(none)" : joined;
}

std::string short_type(const Module& m) {
    const auto name = m.type()->name();
    return name ? name->name() : std::string("?");
}

std::vector<std::pair<std::string, Module>> children_of(const Module& m) {
    std::vector<std::pair<std::string, Module>> children;
    for (const auto& child : m.named_children()) children.emplace_back(child.name, child.value);
    return children;
}

bool starts_with_linear(Module m) {
    for (;;) {
        const auto children = children_of(m);
        if (children.empty()) return short_type(m) == "Linear";
        m = children.front().second;
    }
}

bool is_pooling(const std::string& type) { return type.find("Pool") != std::string::npos; }

Module resolve(const Module& root, const std::string& path) {
    Module m = root;
    std::stringstream parts(path);
    std::string part;
    while (std::getline(parts, part, '.')) m = m.attr(part).toModule();
    return m;
}

torch::Tensor call_module(const Module& m, const torch::Tensor& x, const std::string& path) {
    Module handle = m;  // a cheap handle copy: Module::forward is not const
    const c10::IValue out = handle.forward({x});
    if (!out.isTensor()) {
        throw std::runtime_error("module '" + path + "' returned a " + out.tagKind() + " rather than a tensor");
    }
    return out.toTensor();
}

// Largest absolute difference, or -1 if the shapes differ.
double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.sizes() != b.sizes()) return -1.0;
    if (a.numel() == 0) return 0.0;
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// Same values up to float rounding, relative to the reference's magnitude.
bool same_values(const torch::Tensor& a, const torch::Tensor& reference) {
    const double difference = max_difference(a, reference);
    if (difference < 0) return false;
    const double scale = reference.numel() ? std::max(1.0, reference.abs().max().item<double>()) : 1.0;
    return difference <= 1e-5 * scale;
}

std::string difference_text(const torch::Tensor& a, const torch::Tensor& reference) {
    const double difference = max_difference(a, reference);
    if (difference < 0) return "shape " + shape_string(a.sizes()) + " instead of " + shape_string(reference.sizes());
    std::ostringstream out;
    out << "max difference " << difference;
    return out.str();
}

// Deterministic probe/test pattern in [-1, 1]: integer arithmetic and one division, so Python
// (tools/make_test_models.py test_input) computes the same bits.
torch::Tensor probe_input(int64_t size) {
    const int64_t count = 3 * size * size;
    auto x = (torch::arange(count, torch::kLong) * 37).remainder(101);
    return (x.to(torch::kFloat) / 50.0 - 1.0).reshape({1, 3, size, size});
}

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

std::string child_path(const std::string& parent, const std::string& name) {
    return parent.empty() ? name : parent + "." + name;
}

// Runs node on a copy of input (input itself is never modified), records the output and tries the
// children-run. Exceptions from the node's own forward propagate.
torch::Tensor probe_node(Node& node, const torch::Tensor& input) {
    torch::Tensor x = input.clone();
    torch::Tensor out = call_module(node.module, x, node.path.empty() ? "<model>" : node.path);
    node.modifies_input = !at::equal(x, input);
    node.out_sizes = out.sizes().vec();
    node.non_negative = out.dim() == 4 && out.numel() > 0 && out.min().item<float>() >= 0.0f;
    const auto children = children_of(node.module);
    if (children.empty()) {
        node.not_expandable_because = "it has no children";
        return out;
    }
    std::vector<Node> built;
    try {
        torch::Tensor y = input;
        for (const auto& [name, module] : children) {
            Node child;
            child.path = child_path(node.path, name);
            child.type = short_type(module);
            child.module = module;
            if (y.dim() > 2 && starts_with_linear(module)) {
                y = y.flatten(1);
                child.flatten_before = true;
            }
            y = probe_node(child, y);
            built.push_back(std::move(child));
        }
        if (same_values(y, out)) {
            node.expandable = true;
            node.children = std::move(built);
        } else {
            node.not_expandable_because = difference_text(y, out);
        }
    } catch (const std::exception& e) {
        node.not_expandable_because = "running its children failed: " + torch_message(e);
    }
    return out;
}

void number_leaves(Node& node, std::vector<const Node*>& leaves) {
    node.first_leaf = int(leaves.size());
    if (node.expandable) {
        for (auto& child : node.children) number_leaves(child, leaves);
    } else {
        leaves.push_back(&node);
    }
    node.last_leaf = int(leaves.size()) - 1;
}

void index_paths(const Node& node, std::map<std::string, const Node*>& by_path, std::vector<std::string>& tappable) {
    for (const auto& child : node.children) {
        by_path[child.path] = &child;
        if (child.out_sizes.size() == 4) tappable.push_back(child.path);
        index_paths(child, by_path, tappable);
    }
}

// The outermost node below the root whose output is leaf k's output ("layer1", not "layer1.2").
const Node* outermost_ending_at(const Node& root, int k) {
    const Node* node = &root;
    for (;;) {
        const Node* next = nullptr;
        for (const auto& child : node->children) {
            if (child.first_leaf <= k && k <= child.last_leaf) next = &child;
        }
        if (next == nullptr) return nullptr;
        if (next->last_leaf == k) return next;
        node = next;
    }
}

bool is_4d(const std::vector<int64_t>& s) { return s.size() == 4; }

// End-of-scale taps: the last non-negative, non-pooling output before each spatial downsampling, and
// the last one before the trailing pooling/flatten if it is at a deeper scale than the others.
std::vector<int> detect_tap_leaves(const std::vector<const Node*>& leaves, std::vector<std::string>& notes) {
    const auto walk_back = [&](int j) {
        const auto& size = leaves[size_t(j)]->out_sizes;
        for (int k = j; k >= 0; --k) {
            const auto& s = leaves[size_t(k)]->out_sizes;
            if (!is_4d(s) || s[2] != size[2] || s[3] != size[3]) break;
            if (leaves[size_t(k)]->non_negative && !is_pooling(leaves[size_t(k)]->type)) return k;
        }
        return -1;
    };
    const auto skipped = [&](int j, const std::string& where) {
        const auto& s = leaves[size_t(j)]->out_sizes;
        notes.push_back("no non-negative (post-activation) output at " + std::to_string(s[2]) + "x" +
                        std::to_string(s[3]) + " on the probe " + where + "; that scale has no tap");
    };
    std::set<int> chosen;
    const int n = int(leaves.size());
    for (int i = 1; i < n; ++i) {
        const auto& prev = leaves[size_t(i - 1)]->out_sizes;
        const auto& cur = leaves[size_t(i)]->out_sizes;
        if (!is_4d(prev) || !is_4d(cur)) continue;
        const bool shrinks = cur[2] * 3 <= prev[2] * 2 || cur[3] * 3 <= prev[3] * 2;
        if (!shrinks) continue;
        const int k = walk_back(i - 1);
        if (k >= 0) {
            chosen.insert(k);
        } else {
            skipped(i - 1, "before '" + leaves[size_t(i)]->path + "'");
        }
    }
    int end = 0;
    while (end < n && is_4d(leaves[size_t(end)]->out_sizes)) ++end;
    int e = end - 1;
    while (e >= 0 && is_pooling(leaves[size_t(e)]->type)) --e;
    if (e >= 0) {
        const int k = walk_back(e);
        const auto deeper = [&](int a) {
            return chosen.empty() || leaves[size_t(a)]->out_sizes[2] < leaves[size_t(*chosen.rbegin())]->out_sizes[2];
        };
        if (k >= 0 && !chosen.count(k) && deeper(k)) chosen.insert(k);
        if (k < 0 && deeper(e)) skipped(e, "at the end of the network");
    }
    return {chosen.begin(), chosen.end()};
}

bool is_residual_block(const Module& m, bool& bottleneck, bool& has_downsample) {
    std::set<std::string> names;
    for (const auto& [name, child] : children_of(m)) names.insert(name);
    static const std::set<std::string> allowed = {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample"};
    for (const auto& name : names) {
        if (!allowed.count(name)) return false;
    }
    for (const char* required : {"conv1", "bn1", "conv2", "bn2", "relu"}) {
        if (!names.count(required)) return false;
    }
    bottleneck = names.count("conv3") && names.count("bn3");
    if (names.count("conv3") != names.count("bn3")) return false;
    has_downsample = names.count("downsample") > 0;
    return true;
}

// Adapts an in-memory file to std::istream without copying it (torch::jit::load seeks).
class MemoryBuffer : public std::streambuf {
public:
    MemoryBuffer(char* data, size_t size) { setg(data, data, data + size); }

protected:
    pos_type seekoff(off_type offset, std::ios_base::seekdir dir, std::ios_base::openmode) override {
        char* base = dir == std::ios_base::beg ? eback() : dir == std::ios_base::cur ? gptr() : egptr();
        char* target = base + offset;
        if (target < eback() || target > egptr()) return pos_type(off_type(-1));
        setg(eback(), target, egptr());
        return pos_type(target - eback());
    }
    pos_type seekpos(pos_type position, std::ios_base::openmode which) override {
        return seekoff(off_type(position), std::ios_base::beg, which);
    }
};

std::string read_model_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (const std::string problem = input_file_problem(path); !problem.empty() && problem != "is a folder, not a file") {
        throw std::runtime_error("model file '" + path + "' " + problem);
    }
    if (fs::is_directory(path, ec)) {
        throw std::runtime_error("model file '" + path + "' is a directory, not a TorchScript file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("model file '" + path + "' cannot be opened for reading");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw std::runtime_error("reading model file '" + path + "' failed");
    return bytes;
}

std::string not_torchscript_message(const std::string& path, const std::string& bytes, const std::string& why) {
    const std::string hint = " Export the network with torch.jit.script or torch.jit.trace and torch.jit.save "
                             "(tools/export_model.py does this for torchvision models).";
    if (bytes.compare(0, 4, "PK\x03\x04") == 0) {
        if (bytes.find("data.pkl") != std::string::npos && bytes.find("/code/") == std::string::npos) {
            return "model file '" + path + "' is not a TorchScript module: it is a torch.save() archive "
                   "(for example a state dict) without TorchScript code." + hint;
        }
        return "model file '" + path + "' is a zip archive but not a loadable TorchScript module (" + why + ")." + hint;
    }
    return "model file '" + path + "' is not a TorchScript module (TorchScript files are zip archives written "
           "by torch.jit.save; LibTorch says: " + why + ")." + hint;
}

}  // namespace

TappedModel::TappedModel(const std::string& path, std::vector<std::string> tap_names, bool want_pre_activation,
                         const InferenceOptions& inference)
    : TappedModel(LoadTag{}, path, std::move(tap_names), want_pre_activation) {
    prepare_inference(inference);
}

TappedModel::TappedModel(LoadTag, const std::string& path, std::vector<std::string> tap_names,
                         bool want_pre_activation)
    : path_(path), want_pre_(want_pre_activation) {
    std::string bytes = read_model_file(path);
    sha256_ = sha256_hex(bytes);
    try {
        MemoryBuffer buffer(bytes.data(), bytes.size());
        std::istream stream(&buffer);
        module_ = torch::jit::load(stream, torch::kCPU);
    } catch (const std::exception& e) {
        throw std::runtime_error(not_torchscript_message(path, bytes, torch_message(e)));
    }
    bytes.clear();
    bytes.shrink_to_fit();
    module_.eval();

    {
        std::set<std::string> seen;
        for (const auto& name : tap_names) {
            if (name.empty()) throw std::runtime_error("model '" + path + "': empty tap name in the tap list");
            if (!seen.insert(name).second) {
                throw std::runtime_error("model '" + path + "': tap '" + name + "' is listed twice");
            }
        }
    }

    std::string retry_reasons;
    for (const int64_t probe_size : kProbeSizes) {
        steps_.clear();
        taps_.clear();
        available_.clear();
        notes_.clear();
        tuple_tap_index_.clear();
        const torch::Tensor probe = probe_input(probe_size);
        probe_size_ = probe_size;
        const std::string probe_text = "a 1x3x" + std::to_string(probe_size) + "x" + std::to_string(probe_size) + " probe";
        try {
            c10::NoGradGuard no_grad;
            c10::IValue plain;
            try {
                plain = module_.forward({probe});
            } catch (const std::exception& e) {
                throw ProbeTooSmall("forward of " + probe_text + " failed: " + torch_message(e));
            }
            // A model whose output is not finite on a plain probe is broken (NaN weights, say);
            // say so instead of blaming the children-run check or the statistic later.
            {
                const torch::Tensor out = plain.isTuple() && !plain.toTuple()->elements().empty() &&
                                                  plain.toTuple()->elements()[0].isTensor()
                                              ? plain.toTuple()->elements()[0].toTensor()
                                              : (plain.isTensor() ? plain.toTensor() : torch::Tensor());
                if (out.defined() && out.is_floating_point()) {
                    const int64_t bad = out.numel() - torch::isfinite(out).sum().item<int64_t>();
                    if (bad > 0) {
                        throw std::runtime_error("model '" + path + "': its forward gives " + std::to_string(bad) +
                                                 " NaN or infinite values of " + std::to_string(out.numel()) +
                                                 " on " + probe_text +
                                                 " with values in [-1, 1]; the model itself is broken "
                                                 "(NaN or infinite weights?)");
                    }
                }
            }
            // Stride of a tap from its probe size; a 1x1 or uneven map does not determine it.
            const auto tap_info = [&](const std::string& name, at::IntArrayRef sizes) {
                if (sizes.size() != 4) {
                    throw std::runtime_error("model '" + path + "': tap '" + name + "' has output shape " +
                                             shape_string(sizes) + " on " + probe_text +
                                             "; a tap must be a 4-D [N, C, H, W] tensor");
                }
                if (sizes[2] < 2 || sizes[3] < 2 || probe_size % sizes[2] != 0 || probe_size % sizes[3] != 0 ||
                    probe_size / sizes[2] != probe_size / sizes[3]) {
                    throw ProbeTooSmall("tap '" + name + "' is " + std::to_string(sizes[2]) + "x" +
                                        std::to_string(sizes[3]) + " for " + probe_text +
                                        ", which gives no integer stride");
                }
                return TapInfo{name, sizes[1], probe_size / sizes[2]};
            };

            if (plain.isTuple()) {
                tuple_module_ = true;
                const auto elements = plain.toTuple()->elements();
                if (elements.size() < 2) {
                    throw std::runtime_error("model '" + path + "': forward returns a tuple of " +
                                             std::to_string(elements.size()) +
                                             " element(s); expected (output, tap_1, ..., tap_n)");
                }
                for (size_t i = 0; i < elements.size(); ++i) {
                    if (!elements[i].isTensor()) {
                        throw std::runtime_error("model '" + path + "': element " + std::to_string(i) +
                                                 " of the forward tuple is a " + elements[i].tagKind() +
                                                 "; expected (output, tap_1, ..., tap_n) of tensors");
                    }
                }
                tuple_tap_count_ = elements.size() - 1;
                if (module_.hasattr("tap_names")) {
                    const c10::IValue names = module_.attr("tap_names");
                    if (names.isList()) {
                        for (const auto& item : names.toListRef()) {
                            if (item.isString()) available_.push_back(item.toStringRef());
                        }
                    }
                    if (available_.size() != tuple_tap_count_) {
                        throw std::runtime_error("model '" + path + "': attribute tap_names must be a list of " +
                                                 std::to_string(tuple_tap_count_) +
                                                 " strings, one per tap the forward returns");
                    }
                } else {
                    for (size_t i = 0; i < tuple_tap_count_; ++i) available_.push_back("tap" + std::to_string(i + 1));
                }
                const std::vector<std::string> wanted = tap_names.empty() ? available_ : tap_names;
                for (const auto& name : wanted) {
                    const auto found = std::find(available_.begin(), available_.end(), name);
                    if (found == available_.end()) {
                        throw std::runtime_error("model '" + path + "' has no tap '" + name +
                                                 "'; its forward returns the taps: " + join_names(available_));
                    }
                    const size_t index = size_t(found - available_.begin());
                    tuple_tap_index_.push_back(index);
                    taps_.push_back(tap_info(name, elements[1 + index].toTensor().sizes()));
                }
                if (want_pre_) {
                    if (!module_.find_method("forward_with_pre_activation")) {
                        throw std::runtime_error(
                            "model '" + path + "': tap '" + taps_.front().name +
                            "': truncated-normal statistics need the pre-activation tensor, and this module "
                            "(whose forward returns its taps) has no method forward_with_pre_activation "
                            "returning (output, tap_1..tap_n, pre_1..pre_n)");
                    }
                    const auto with_pre = module_.get_method("forward_with_pre_activation")({probe});
                    const bool ok_shape = with_pre.isTuple() &&
                                          with_pre.toTuple()->elements().size() == 2 * tuple_tap_count_ + 1;
                    if (!ok_shape) {
                        throw std::runtime_error("model '" + path + "': forward_with_pre_activation must return a tuple of " +
                                                 std::to_string(2 * tuple_tap_count_ + 1) +
                                                 " tensors (output, tap_1..tap_n, pre_1..pre_n)");
                    }
                    const auto pre_elements = with_pre.toTuple()->elements();
                    for (size_t i = 0; i <= tuple_tap_count_; ++i) {
                        if (!pre_elements[i].isTensor() || !same_values(pre_elements[i].toTensor(), elements[i].toTensor())) {
                            throw std::runtime_error("model '" + path + "': forward_with_pre_activation element " +
                                                     std::to_string(i) + " differs from forward's");
                        }
                    }
                    for (size_t i = 0; i < tuple_tap_count_; ++i) {
                        const auto& pre = pre_elements[1 + tuple_tap_count_ + i];
                        if (!pre.isTensor() || pre.toTensor().sizes() != elements[1 + i].toTensor().sizes()) {
                            throw std::runtime_error("model '" + path + "': pre-activation " + std::to_string(i + 1) +
                                                     " of forward_with_pre_activation is not shaped like tap " +
                                                     available_[i]);
                        }
                    }
                }
            } else {
                tuple_module_ = false;
                if (!plain.isTensor()) {
                    throw std::runtime_error("model '" + path + "': forward returns a " + plain.tagKind() +
                                             "; expected a tensor or a tuple (output, tap_1, ..., tap_n)");
                }
                Node root;
                root.module = module_;
                root.type = short_type(module_);
                probe_node(root, probe);
                if (!root.expandable) {
                    std::vector<std::string> names;
                    for (const auto& [name, child] : children_of(module_)) names.push_back(name);
                    throw std::runtime_error(
                        "model '" + path + "': running its top-level children in order (" + join_names(names) +
                        "; flattening before a Linear) does not reproduce its forward on " + probe_text + " (" +
                        root.not_expandable_because +
                        "), so taps cannot be captured that way. Its forward probably applies functions between "
                        "children (torchvision's DenseNet applies relu and pooling after `features`). Export a "
                        "module whose forward returns (output, tap_1, ..., tap_n) instead; tools/export_model.py "
                        "does this for DenseNet.");
                }
                std::vector<const Node*> leaves;
                number_leaves(root, leaves);
                std::map<std::string, const Node*> by_path;
                index_paths(root, by_path, available_);

                std::vector<const Node*> tap_nodes;
                if (tap_names.empty()) {
                    for (const int k : detect_tap_leaves(leaves, notes_)) tap_nodes.push_back(outermost_ending_at(root, k));
                    if (tap_nodes.empty()) {
                        throw std::runtime_error("model '" + path + "': found no end-of-scale taps automatically; "
                                                 "name them (available: " + join_names(available_) + ")");
                    }
                } else {
                    for (const auto& name : tap_names) {
                        const auto found = by_path.find(name);
                        if (found != by_path.end()) {
                            tap_nodes.push_back(found->second);
                            continue;
                        }
                        // A path inside a module whose forward is not its children in order?
                        std::string prefix = name;
                        for (auto dot = prefix.rfind('.'); dot != std::string::npos; dot = prefix.rfind('.')) {
                            prefix.resize(dot);
                            const auto outer = by_path.find(prefix);
                            if (outer != by_path.end()) {
                                throw std::runtime_error(
                                    "model '" + path + "': tap '" + name + "' lies inside '" + prefix + "' (" +
                                    outer->second->type + "), whose forward is not its children run in order (" +
                                    outer->second->not_expandable_because +
                                    "), so it cannot be captured; available taps: " + join_names(available_));
                            }
                        }
                        throw std::runtime_error("model '" + path + "' has no module '" + name +
                                                 "' to tap; available taps: " + join_names(available_));
                    }
                }
                for (const Node* node : tap_nodes) taps_.push_back(tap_info(node->path, node->out_sizes));

                // Where each pre-activation comes from: the input of the ReLU a tap ends in, or the
                // recomputed pre-ReLU sum of the residual block it ends in.
                struct PreSource {
                    const Node* leaf;
                    bool residual;
                    bool bottleneck;
                    bool has_downsample;
                };
                std::vector<PreSource> pre_sources;
                std::set<const Node*> required(tap_nodes.begin(), tap_nodes.end());
                if (want_pre_) {
                    for (const Node* tap : tap_nodes) {
                        const Node* leaf = tap;
                        while (leaf->expandable) leaf = &leaf->children.back();
                        PreSource source{leaf, false, false, false};
                        if (leaf->type != "ReLU") {
                            if (!is_residual_block(leaf->module, source.bottleneck, source.has_downsample)) {
                                throw std::runtime_error(
                                    "model '" + path + "': tap '" + tap->path +
                                    "': truncated-normal statistics need a pre-activation tensor, but the tap ends in '" +
                                    leaf->path + "' (" + leaf->type +
                                    "), which is neither a ReLU module nor a torchvision residual block "
                                    "(BasicBlock/Bottleneck); tap a ReLU module instead or use another statistic");
                            }
                            source.residual = true;
                        }
                        pre_sources.push_back(source);
                        required.insert(leaf);
                    }
                }

                // The children-run: expand a node only where a required node lies strictly inside it.
                std::map<const Node*, size_t> step_of;
                std::function<bool(const Node&)> contains_required = [&](const Node& node) {
                    for (const auto& child : node.children) {
                        if (required.count(&child) || contains_required(child)) return true;
                    }
                    return false;
                };
                std::function<void(const Node&, bool)> emit = [&](const Node& node, bool flatten_first) {
                    const bool flatten = node.flatten_before || flatten_first;
                    if (node.expandable && contains_required(node)) {
                        for (size_t i = 0; i < node.children.size(); ++i) emit(node.children[i], i == 0 && flatten);
                    } else {
                        Step step;
                        step.path = node.path;
                        step.flatten_before = flatten;
                        step.modifies_input = node.modifies_input;
                        steps_.push_back(std::move(step));
                    }
                    step_of[&node] = steps_.size() - 1;
                };
                for (const auto& child : root.children) emit(child, false);
                for (size_t i = 0; i < tap_nodes.size(); ++i) steps_[step_of.at(tap_nodes[i])].tap_slots.push_back(i);
                for (size_t i = 0; i < pre_sources.size(); ++i) {
                    Step& step = steps_[step_of.at(pre_sources[i].leaf)];
                    if (pre_sources[i].residual) {
                        step.pre_residual_slots.push_back(i);
                        ResidualParts parts;
                        parts.bottleneck = pre_sources[i].bottleneck;
                        parts.has_downsample = pre_sources[i].has_downsample;
                        step.residual = parts;
                    } else {
                        step.pre_input_slots.push_back(i);
                    }
                }
                bind_modules();

                // The children-run must reproduce the module's own forward, taps included.
                const ForwardResult check = run_children(probe, true);
                if (!same_values(check.output, plain.toTensor())) {
                    throw std::runtime_error("model '" + path + "': the children-run differs from its forward on " +
                                             probe_text + " (" + difference_text(check.output, plain.toTensor()) +
                                             "); refusing to capture taps from it");
                }
                for (size_t i = 0; i < tap_nodes.size(); ++i) {
                    if (check.taps[i].sizes().vec() != tap_nodes[i]->out_sizes) {
                        throw std::runtime_error("model '" + path + "': tap '" + tap_nodes[i]->path +
                                                 "' changed shape between probes");
                    }
                }
            }
            return;
        } catch (const ProbeTooSmall& e) {
            retry_reasons += std::string(retry_reasons.empty() ? "" : "; ") + e.what();
        }
    }
    throw std::runtime_error("model '" + path + "': probing it with 3-channel inputs of 64 to 512 pixels failed: " +
                             retry_reasons);
}

void TappedModel::bind_modules() {
    for (Step& step : steps_) {
        step.module = resolve(module_, step.path);
        if (step.residual) {
            ResidualParts& parts = *step.residual;
            parts.conv1 = resolve(step.module, "conv1");
            parts.bn1 = resolve(step.module, "bn1");
            parts.conv2 = resolve(step.module, "conv2");
            parts.bn2 = resolve(step.module, "bn2");
            if (parts.bottleneck) {
                parts.conv3 = resolve(step.module, "conv3");
                parts.bn3 = resolve(step.module, "bn3");
            }
            if (parts.has_downsample) parts.downsample = resolve(step.module, "downsample");
        }
    }
}

ForwardResult TappedModel::run_children(const torch::Tensor& batch, bool verify, bool grad) const {
    c10::AutoGradMode grad_mode(grad);
    ForwardResult result;
    result.taps.resize(taps_.size());
    if (want_pre_) result.pre_activation.resize(taps_.size());
    torch::Tensor x = batch;
    for (const Step& step : steps_) {
        try {
            if (step.flatten_before && x.dim() > 2) x = x.flatten(1);
            for (const size_t slot : step.pre_input_slots) result.pre_activation[slot] = x;
            if (step.modifies_input) {
                // An in-place module must not overwrite captured tensors or the caller's batch.
                for (auto* captured : {&result.taps, &result.pre_activation}) {
                    for (auto& t : *captured) {
                        if (t.defined() && t.is_alias_of(x)) t = t.clone();
                    }
                }
                if (x.is_alias_of(batch)) x = x.clone();
            }
            if (step.residual) {
                const ResidualParts& parts = *step.residual;
                const torch::Tensor identity = parts.has_downsample ? call_module(parts.downsample, x, step.path + ".downsample") : x;
                torch::Tensor out = at::relu(call_module(parts.bn1, call_module(parts.conv1, x, step.path), step.path));
                out = call_module(parts.bn2, call_module(parts.conv2, out, step.path), step.path);
                if (parts.bottleneck) {
                    out = call_module(parts.bn3, call_module(parts.conv3, at::relu(out), step.path), step.path);
                }
                const torch::Tensor pre = out + identity;
                const torch::Tensor post = at::relu(pre);
                if (verify) {
                    const torch::Tensor reference = call_module(step.module, x, step.path);
                    if (!same_values(post, reference)) {
                        throw std::runtime_error("recomputing residual block '" + step.path +
                                                 "' up to its pre-ReLU sum does not reproduce its output (" +
                                                 difference_text(post, reference) +
                                                 "); it is not a torchvision BasicBlock/Bottleneck");
                    }
                }
                for (const size_t slot : step.pre_residual_slots) result.pre_activation[slot] = pre;
                x = post;
            } else {
                x = call_module(step.module, x, step.path);
            }
        } catch (const std::exception& e) {
            throw std::runtime_error("model '" + path_ + "': running '" + step.path + "' on a " +
                                     shape_string(x.sizes()) + " tensor failed: " + torch_message(e));
        }
        for (const size_t slot : step.tap_slots) result.taps[slot] = x;
    }
    result.output = x;
    return result;
}

ForwardResult TappedModel::run_tuple(const Module& module, const torch::Tensor& batch, bool grad) const {
    c10::AutoGradMode grad_mode(grad);
    c10::IValue out;
    Module handle = module;  // Module::forward is not const
    try {
        out = want_pre_ ? handle.get_method("forward_with_pre_activation")({batch}) : handle.forward({batch});
    } catch (const std::exception& e) {
        throw std::runtime_error("model '" + path_ + "': forward of a " + shape_string(batch.sizes()) +
                                 " batch failed: " + torch_message(e));
    }
    const auto elements = out.toTuple()->elements();
    ForwardResult result;
    result.output = elements[0].toTensor();
    for (const size_t index : tuple_tap_index_) {
        result.taps.push_back(elements[1 + index].toTensor());
        if (want_pre_) result.pre_activation.push_back(elements[1 + tuple_tap_count_ + index].toTensor());
    }
    return result;
}

ForwardResult TappedModel::forward(const torch::Tensor& batch) const {
    if (batch.dim() != 4) {
        throw std::invalid_argument("model '" + path_ + "': expected a [N, C, H, W] batch, got " +
                                    shape_string(batch.sizes()));
    }
    const torch::Tensor x = to_compute(batch);
    if (tuple_module_) return finish(run_tuple(optimized_tuple_ ? *optimized_tuple_ : module_, x));
    return finish(segments_.empty() ? run_children(x, false) : run_segments(x));
}

ForwardResult TappedModel::forward_with_grad(const torch::Tensor& batch) const {
    if (batch.dim() != 4) {
        throw std::invalid_argument("model '" + path_ + "': expected a [N, C, H, W] batch, got " +
                                    shape_string(batch.sizes()));
    }
    return tuple_module_ ? run_tuple(module_, batch, true) : run_children(batch, false, true);
}

torch::Tensor TappedModel::forward_plain(const torch::Tensor& batch) const {
    c10::NoGradGuard no_grad;
    if (optimize_ && !optimized_plain_) {
        if (optimized_tuple_) {
            optimized_plain_ = *optimized_tuple_;
        } else if (!segments_.empty()) {
            // The whole module frozen and optimized: the baseline the tapped run is compared with.
            Module frozen = torch::jit::freeze(module_);
            optimized_plain_ = torch::jit::optimize_for_inference(frozen);
        }
    }
    Module handle = optimized_plain_ ? *optimized_plain_ : module_;
    c10::IValue out;
    try {
        try {
            out = handle.forward({to_compute(batch)});
        } catch (const std::exception&) {
            if (!optimized_plain_ || optimized_tuple_ || optimization_.find("frozen only") != std::string::npos) throw;
            // oneDNN graphs refuse some shapes (adaptive pooling to a size that does not divide the
            // input); the frozen module without oneDNN conversion runs them. Said in optimization().
            optimization_ += "; forward_plain: optimize_for_inference failed on a " + shape_string(batch.sizes()) +
                             " batch, the whole module runs frozen only";
            optimized_plain_ = torch::jit::freeze(module_);
            handle = *optimized_plain_;
            out = handle.forward({to_compute(batch)});
        }
    } catch (const std::exception& e) {
        throw std::runtime_error("model '" + path_ + "': forward of a " + shape_string(batch.sizes()) +
                                 " batch failed: " + torch_message(e));
    }
    const torch::Tensor output = out.isTuple() ? out.toTuple()->elements()[0].toTensor() : out.toTensor();
    return output.to(torch::kCPU, torch::kFloat);
}

torch::Tensor TappedModel::to_compute(const torch::Tensor& batch) const {
    torch::Tensor x = batch;
    if (precision_ == Precision::Bf16) {
        x = x.to(device_, torch::kBFloat16);
    } else if (!device_.is_cpu()) {
        x = x.to(device_);
    }
    if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    return x;
}

ForwardResult TappedModel::finish(ForwardResult result) const {
    result.output = result.output.to(torch::kCPU, torch::kFloat);
    if (!device_.is_cpu()) {
        for (auto* tensors : {&result.taps, &result.pre_activation}) {
            for (auto& t : *tensors) t = t.to(torch::kCPU);
        }
    }
    return result;
}

ForwardResult TappedModel::run_segments(const torch::Tensor& batch) const {
    c10::NoGradGuard no_grad;
    ForwardResult result;
    result.taps.resize(taps_.size());
    torch::Tensor x = batch;
    for (size_t i = 0; i < segments_.size(); ++i) {
        const Segment& segment = segments_[i];
        try {
            if (segment.clone_input) x = x.clone();  // x is the batch or a captured tap
            x = call_module(segment.module, x, "segment " + std::to_string(i + 1));
        } catch (const std::exception& e) {
            // The plain children-run names the module that fails (and throws); if it does not
            // fail, report the segment.
            run_children(batch, false);
            throw std::runtime_error("model '" + path_ + "': running optimized segment " + std::to_string(i + 1) +
                                     " on a " + shape_string(x.sizes()) + " tensor failed: " + torch_message(e));
        }
        for (const size_t slot : segment.tap_slots) result.taps[slot] = x;
    }
    result.output = x;
    return result;
}

InferenceOptions make_inference_options(const std::string& precision, const std::string& device) {
    InferenceOptions options;
    options.precision = parse_precision(precision);
    parse_device(device);
    options.device = device;
    return options;
}

c10::Device checked_device(const std::string& name) {
    const DeviceSpec device = parse_device(name);
    if (!device.cuda) return c10::Device(c10::kCPU);
    if (!at::hasCUDA()) {
        throw std::runtime_error("device '" + device.text() + "' requested, but this satsal was built against a "
                                 "CPU-only LibTorch (" TORCH_VERSION ", no CUDA support compiled in); use "
                                 "device = cpu, or rebuild satsal against a CUDA LibTorch (cmake -DTorch_DIR=...)");
    }
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (count == 0 || device.index >= count) {
        throw std::runtime_error("device '" + device.text() + "' requested, but LibTorch sees " +
                                 std::to_string(count) + " CUDA device(s)");
    }
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::max(0, device.index)));
}

void TappedModel::prepare_inference(const InferenceOptions& inference) {
    device_ = checked_device(inference.device);
    const DeviceSpec device = parse_device(inference.device);
    const PrecisionChoice choice =
        device.cuda && inference.precision == Precision::Auto
            ? PrecisionChoice{Precision::Fp32, "auto on CUDA: fp32 (bf16 on GPUs is not measured here)"}
            : resolve_precision(inference.precision, detect_cpu_features());
    precision_ = choice.precision;
    precision_reason_ = choice.reason;
    channels_last_ = precision_ == Precision::Bf16 || inference.channels_last;

    // The plain run on the probe in the target precision, to check the optimized one against.
    if (precision_ == Precision::Bf16) module_.to(torch::kBFloat16);
    if (!device_.is_cpu()) module_.to(device_);
    optimize_ = inference.optimize;
    if (!inference.optimize) {
        optimization_ = "none (requested)";
    } else if (want_pre_) {
        optimize_ = false;
        optimization_ = "none: pre-activation taps recompute residual blocks from unfolded batch norms";
    } else if (!device_.is_cpu()) {
        optimize_ = false;
        optimization_ = "none: frozen oneDNN graphs are a CPU optimization";
    } else if (precision_ == Precision::Bf16) {
        // Freezing folds batch norms into bf16 convolution weights in bf16 arithmetic: measured on the
        // test fixtures, the SMOE maps then move about twice as far from fp32 as with plain bf16.
        optimize_ = false;
        optimization_ = "none: freezing would fold batch norms in bf16 (less accurate); bf16 runs unfrozen";
    } else {
        build_optimized_run();
    }
}

void TappedModel::build_optimized_run() {
    c10::NoGradGuard no_grad;
    const torch::Tensor probe = to_compute(probe_input(probe_size_).repeat({2, 1, 1, 1}));
    try {
        ForwardResult reference, optimized;
        if (tuple_module_) {
            reference = finish(run_tuple(module_, probe));
            Module frozen = torch::jit::freeze(module_);
            optimized_tuple_ = torch::jit::optimize_for_inference(frozen);
            optimized = finish(run_tuple(*optimized_tuple_, probe));
            optimization_ = "frozen + optimize_for_inference, whole tuple module";
        } else {
            reference = finish(run_children(probe, false));
            // Cut the children-run after every step that yields a tap.
            size_t first = 0;
            for (size_t i = 0; i < steps_.size(); ++i) {
                if (steps_[i].tap_slots.empty() && i + 1 < steps_.size()) continue;
                const size_t index = segments_.size();
                // In the model's own compilation unit, where its submodules' methods live.
                Module segment(c10::QualifiedName("__torch__.satsal.Segment" + std::to_string(index)),
                               module_._ivalue()->compilation_unit(), /*shouldMangle=*/true);
                std::string source = "def forward(self, x):\n";
                for (size_t k = first; k <= i; ++k) {
                    const std::string name = "s" + std::to_string(k - first);
                    segment.register_module(name, steps_[k].module);
                    if (steps_[k].flatten_before) source += "    x = torch.flatten(x, 1)\n";
                    source += "    x = self." + name + ".forward(x)\n";  // define() sees self as a plain object
                }
                source += "    return x\n";
                segment.define(source);
                segment.eval();
                Module frozen = torch::jit::freeze(segment);
                Segment built;
                // The head after the last tap (pooling, classifier) is only frozen: oneDNN's
                // adaptive pooling refuses output sizes that do not divide the input.
                const bool head = steps_[i].tap_slots.empty();
                built.module = head ? frozen : torch::jit::optimize_for_inference(frozen);
                built.clone_input = steps_[first].modifies_input;
                built.tap_slots = steps_[i].tap_slots;
                segments_.push_back(std::move(built));
                first = i + 1;
            }
            optimized = finish(run_segments(probe));
            optimization_ = "frozen + optimize_for_inference, " + std::to_string(segments_.size()) + " segments";
        }
        // fp32: conv-bn folding moves values by ~1e-6 relative; bf16 rounds folded weights again.
        const double tolerance = precision_ == Precision::Bf16 ? 0.1 : 1e-3;
        const auto check = [&](const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
            const torch::Tensor fa = a.to(torch::kDouble), fb = b.to(torch::kDouble);
            const double scale = std::max(1.0, fb.abs().max().item<double>());
            const double difference = a.sizes() == b.sizes() ? (fa - fb).abs().max().item<double>() : -1.0;
            if (difference < 0 || difference > tolerance * scale) {
                throw std::runtime_error(what + " differs from the plain run (" + difference_text(fa, fb) + ")");
            }
        };
        check(optimized.output, reference.output, "the output");
        for (size_t k = 0; k < taps_.size(); ++k) check(optimized.taps[k], reference.taps[k], "tap '" + taps_[k].name + "'");
    } catch (const std::exception& e) {
        segments_.clear();
        optimized_tuple_.reset();
        optimize_ = false;
        optimization_ = "none: freezing/optimizing failed on the probe: " + torch_message(e);
    }
}

std::vector<std::string> TappedModel::tap_names() const {
    std::vector<std::string> names;
    for (const auto& tap : taps_) names.push_back(tap.name);
    return names;
}

int64_t TappedModel::deepest_stride() const {
    int64_t deepest = 0;
    for (const auto& tap : taps_) deepest = std::max(deepest, tap.stride);
    return deepest;
}

TappedModel TappedModel::clone() const {
    TappedModel copy = *this;
    copy.module_ = module_.clone();
    copy.module_.eval();
    copy.bind_modules();
    for (auto& segment : copy.segments_) segment.module = segment.module.clone();
    if (copy.optimized_tuple_) copy.optimized_tuple_ = copy.optimized_tuple_->clone();
    copy.optimized_plain_.reset();
    return copy;
}

std::string TappedModel::describe() const {
    std::ostringstream out;
    for (size_t i = 0; i < taps_.size(); ++i) {
        out << "L" << i + 1 << " " << taps_[i].name << ": " << taps_[i].channels << " channels, stride "
            << taps_[i].stride << "\n";
    }
    for (const auto& note : notes_) out << "note: " << note << "\n";
    return out.str();
}

void use_simple_jit_executor() {
    torch::jit::getProfilingMode() = false;
    torch::jit::getExecutorMode() = false;
}

void set_torch_threads(int threads) {
    if (threads < 0) {
        throw std::invalid_argument("threads must be 0 (all cores) or positive, got " + std::to_string(threads));
    }
    if (threads == 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
}

}  // namespace satsal
