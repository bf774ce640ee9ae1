#include "model/TappedModel.hpp"

#include "model/ModuleTree.hpp"
#include "model/TorchText.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

// Precision and device of a loaded TappedModel, the opt-in frozen/optimized segments, and the
// process-wide LibTorch settings (threads, JIT executor).

namespace satsal {

using namespace module_tree;

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
