#include "model/ModuleTree.hpp"

#include "model/TorchText.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace satsal::module_tree {
namespace {

bool starts_with_linear(Module m) {
    for (;;) {
        const auto children = children_of(m);
        if (children.empty()) return short_type(m) == "Linear";
        m = children.front().second;
    }
}

bool is_pooling(const std::string& type) { return type.find("Pool") != std::string::npos; }

// Largest absolute difference, or -1 if the shapes differ.
double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.sizes() != b.sizes()) return -1.0;
    if (a.numel() == 0) return 0.0;
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

std::string child_path(const std::string& parent, const std::string& name) {
    return parent.empty() ? name : parent + "." + name;
}

bool is_4d(const std::vector<int64_t>& s) { return s.size() == 4; }

}  // namespace

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

// Runs node on a copy of input (input itself is never modified), records the output and tries the
// children-run. Exceptions from the node's own forward propagate.
torch::Tensor probe_node(Node& node, const torch::Tensor& input, const std::vector<std::string>* inside) {
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
    if (inside && !node.path.empty() &&
        std::none_of(inside->begin(), inside->end(), [&](const std::string& path) {
            return path.size() > node.path.size() && path.compare(0, node.path.size(), node.path) == 0 &&
                   path[node.path.size()] == '.';
        })) {
        node.not_expandable_because = "not probed below: no requested tap lies inside it";
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
            y = probe_node(child, y, inside);
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

}  // namespace satsal::module_tree
