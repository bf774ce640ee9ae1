#include "cowc/CountingInference.hpp"

#include <numeric>
#include <stdexcept>

namespace satsal::counting {

at::Tensor make_count_batch(const CountingPatchSet& patches, const std::vector<std::size_t>& indices,
                            const std::vector<PatchTransform>& transforms) {
    if (!transforms.empty() && transforms.size() != indices.size()) {
        throw std::invalid_argument("make_count_batch: " + std::to_string(transforms.size()) + " transforms for " +
                                    std::to_string(indices.size()) + " patches");
    }
    const auto n = static_cast<int64_t>(indices.size());
    at::Tensor batch = at::empty({n, 3, kInputSize, kInputSize}, at::kFloat);
    float* data = batch.data_ptr<float>();
    constexpr std::size_t per_image = 3 * static_cast<std::size_t>(kInputSize) * kInputSize;
    std::vector<std::uint8_t> canvas(per_image);
    for (int64_t b = 0; b < n; ++b) {
        const std::size_t index = indices[static_cast<std::size_t>(b)];
        if (index >= patches.size()) {
            throw std::out_of_range("make_count_batch: patch index " + std::to_string(index) + " of " +
                                    std::to_string(patches.size()));
        }
        const PatchTransform transform = transforms.empty() ? PatchTransform{} : transforms[static_cast<std::size_t>(b)];
        compose_count_canvas(patches.pixels(index), kPatchSize, kPatchSize, transform, canvas.data());
        canvas_to_input(canvas.data(), data + static_cast<std::size_t>(b) * per_image);
    }
    return batch;
}

int probe_count_classes(torch::jit::Module& module, const std::string& name) {
    const bool was_training = module.is_training();
    module.eval();
    at::Tensor output;
    {
        at::NoGradGuard no_grad;
        const c10::IValue result = module.forward({at::zeros({1, 3, kInputSize, kInputSize}, at::kFloat)});
        if (!result.isTensor()) {
            if (was_training) module.train();
            throw std::runtime_error("counting model '" + name + "': forward must return a logits tensor [1, K], got " +
                                     result.tagKind());
        }
        output = result.toTensor();
    }
    if (was_training) module.train();
    if (output.dim() != 2 || output.size(0) != 1 || output.size(1) < 2) {
        throw std::runtime_error("counting model '" + name + "': expected logits [1, K] (K >= 2 count classes) for a " +
                                 "1x3x224x224 input, got " + c10::str(output.sizes()));
    }
    return static_cast<int>(output.size(1));
}

torch::jit::Module load_counting_model(const std::string& path, int& classes) {
    torch::jit::Module module;
    try {
        module = torch::jit::load(path, at::kCPU);
    } catch (const c10::Error& e) {
        throw std::runtime_error("cannot load counting model '" + path + "' as TorchScript: " +
                                 e.what_without_backtrace());
    }
    module.eval();
    classes = probe_count_classes(module, path);
    return module;
}

std::vector<PatchTransform> test_time_views(int views) {
    switch (views) {
        case 1: return {PatchTransform{}};
        case 2: return {PatchTransform{}, PatchTransform{0, true}};
        case 4: return {PatchTransform{0, false}, PatchTransform{90, false}, PatchTransform{180, false},
                        PatchTransform{270, false}};
        case 8: {
            std::vector<PatchTransform> all;
            for (const bool flip : {false, true})
                for (const int degrees : {0, 90, 180, 270}) all.push_back(PatchTransform{degrees, flip});
            return all;
        }
        default:
            throw std::invalid_argument("test-time augmentation: " + std::to_string(views) +
                                        " views; expected 1, 2 (mirror), 4 (right-angle rotations) or 8 (both)");
    }
}

at::Tensor count_scores(torch::jit::Module& module, const CountingPatchSet& patches,
                        const std::vector<std::size_t>& slice, int views) {
    const std::vector<PatchTransform> transforms = test_time_views(views);
    at::NoGradGuard no_grad;
    // Batches follow the weights: bf16 weights get bf16 channels-last batches (oneDNN), CUDA ones CUDA.
    at::ScalarType weight_type = at::kFloat;
    c10::Device weight_device(c10::kCPU);
    for (const auto& parameter : module.parameters()) {
        weight_type = parameter.scalar_type();
        weight_device = parameter.device();
        break;
    }
    at::Tensor score;  // logits for one view, else the sum of the views' softmax distributions
    for (const PatchTransform& transform : transforms) {
        at::Tensor batch = transforms.size() == 1
                               ? make_count_batch(patches, slice)
                               : make_count_batch(patches, slice, std::vector<PatchTransform>(slice.size(), transform));
        if (weight_type != at::kFloat || !weight_device.is_cpu()) {
            batch = batch.to(weight_device, weight_type);
            if (weight_type == at::kBFloat16) batch = batch.contiguous(at::MemoryFormat::ChannelsLast);
        }
        const at::Tensor logits = module.forward({batch}).toTensor().to(at::kCPU, at::kFloat);
        if (transforms.size() == 1) return logits;
        const at::Tensor distribution = logits.softmax(1);
        score = score.defined() ? score + distribution : distribution;
    }
    return score / static_cast<double>(transforms.size());
}

std::vector<int> predict_counts(torch::jit::Module& module, const CountingPatchSet& patches,
                                const std::vector<std::size_t>& indices, int batch_size, int views,
                                std::vector<float>* distributions) {
    if (batch_size < 1) throw std::invalid_argument("predict_counts: batch_size must be >= 1");
    test_time_views(views);
    std::vector<std::size_t> all;
    const std::vector<std::size_t>* chosen = &indices;
    if (indices.empty()) {
        all.resize(patches.size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        chosen = &all;
    }
    module.eval();
    std::vector<int> predicted;
    predicted.reserve(chosen->size());
    if (distributions != nullptr) distributions->clear();
    for (std::size_t start = 0; start < chosen->size(); start += static_cast<std::size_t>(batch_size)) {
        const std::size_t end = std::min(chosen->size(), start + static_cast<std::size_t>(batch_size));
        const std::vector<std::size_t> slice(chosen->begin() + static_cast<std::ptrdiff_t>(start),
                                             chosen->begin() + static_cast<std::ptrdiff_t>(end));
        const at::Tensor scores = count_scores(module, patches, slice, views);
        if (distributions != nullptr) {
            const at::Tensor distribution = (views == 1 ? scores.softmax(1) : scores).contiguous();
            distributions->insert(distributions->end(), distribution.data_ptr<float>(),
                                  distribution.data_ptr<float>() + distribution.numel());
        }
        const at::Tensor best = scores.argmax(1).to(at::kLong).contiguous();
        const int64_t* p = best.data_ptr<int64_t>();
        for (int64_t i = 0; i < best.size(0); ++i) predicted.push_back(static_cast<int>(p[i]));
    }
    return predicted;
}

}  // namespace satsal::counting
