#include "model/TappedModel.hpp"

#include "model/ModuleTree.hpp"
#include "model/Sha256.hpp"
#include "model/TorchText.hpp"

#include "io/PathPolicy.hpp"

#include <torch/csrc/jit/api/module.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <streambuf>

// Loading and tap discovery. The children-run and forward variants are in TappedForward.cpp, the
// precision/device setup and the optimized segments in InferenceSetup.cpp.

namespace satsal {

using namespace module_tree;

namespace {

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
    // One read of the whole file (character-wise iteration cost ~0.4 s for a 100 MB ResNet-50);
    // then whatever a file still growing has appended, so the bytes are all that could be read.
    std::string bytes;
    const std::uintmax_t size = fs::file_size(path, ec);
    if (!ec && size > 0) {
        bytes.resize(static_cast<std::size_t>(size));
        in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        bytes.resize(static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error("reading model file '" + path + "' failed");
    if (!in.eof()) {
        in.clear();
        bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
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
                // Named taps without pre-activations: probe only the modules on the way to them.
                // If one is not found that way, the whole tree is probed so that the error lists
                // every available tap (and says which container hides it).
                const bool named_only = !tap_names.empty() && !want_pre_;
                probe_node(root, probe, named_only ? &tap_names : nullptr);
                if (named_only && root.expandable) {
                    std::map<std::string, const Node*> probed;
                    std::vector<std::string> ignored;
                    index_paths(root, probed, ignored);
                    const bool all_found = std::all_of(tap_names.begin(), tap_names.end(),
                                                       [&](const std::string& name) { return probed.count(name) > 0; });
                    if (!all_found) {
                        root = Node{};
                        root.module = module_;
                        root.type = short_type(module_);
                        probe_node(root, probe);
                    }
                }
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

}  // namespace satsal
