#include "model/TappedModel.hpp"

#include "model/ModuleTree.hpp"
#include "model/TorchText.hpp"

#include <torch/csrc/jit/api/module.h>

#include <stdexcept>
#include <string>

// The runs of a loaded TappedModel: the children-run with tap capture (plain modules), tuple modules,
// the optimized segments, and the conversions into and out of the compute precision/device.

namespace satsal {

using namespace module_tree;

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

}  // namespace satsal
