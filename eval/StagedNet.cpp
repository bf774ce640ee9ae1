#include "eval/StagedNet.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "cowc/CountingTrainer.hpp"
#include "cowc/SplitMix64.hpp"

namespace satsal::eval {

StagedNet::StagedNet(const std::string& path) : name_(path) {
    try {
        module_ = torch::jit::load(path, torch::kCPU);
    } catch (const c10::Error& e) {
        throw std::runtime_error("cannot load counting model '" + path + "': " + e.what_without_backtrace());
    }
    module_.eval();
    for (const char* name : {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"})
        child(name);
}

StagedNet::StagedNet(torch::jit::Module module, std::string name) : module_(std::move(module)), name_(std::move(name)) {}

StagedNet StagedNet::clone() const {
    // Without autograd the copies are leaf tensors (an optimizer refuses non-leaf parameters).
    at::NoGradGuard no_grad;
    return StagedNet(module_.clone(), name_);
}

torch::jit::Module StagedNet::child(const char* name) {
    if (!module_.hasattr(name) || !module_.attr(name).isModule())
        throw std::runtime_error("counting model '" + name_ + "' has no child '" + name +
                                 "': satsal evaluate needs the layout of tools/make_count_model.py (conv1, bn1, relu, "
                                 "maxpool, layer1..layer4, avgpool, fc)");
    return module_.attr(name).toModule();
}

at::Tensor StagedNet::stage(int k, const at::Tensor& x) {
    auto run = [&](const char* name, const at::Tensor& in) { return child(name).forward({in}).toTensor(); };
    switch (k) {
        case 0: return run("relu", run("bn1", run("conv1", x)));
        case 1: return run("layer1", run("maxpool", x));
        case 2: return run("layer2", x);
        case 3: return run("layer3", x);
        case 4: return run("layer4", x);
        default: throw std::invalid_argument("StagedNet: no stage " + std::to_string(k));
    }
}

at::Tensor StagedNet::to_tap(const at::Tensor& x, int tap) {
    at::Tensor a = x;
    for (int k = 0; k <= tap; ++k) a = stage(k, a);
    return a;
}

at::Tensor StagedNet::from_tap(const at::Tensor& activation, int tap) {
    at::Tensor a = activation;
    for (int k = tap + 1; k < kTapCount; ++k) a = stage(k, a);
    a = torch::flatten(child("avgpool").forward({a}).toTensor(), 1);
    return child("fc").forward({a}).toTensor();
}

std::vector<at::Tensor> StagedNet::parameters_after(int tap) {
    std::vector<const char*> names;
    if (tap < 0) names = {"conv1", "bn1"};
    const char* layers[] = {"layer1", "layer2", "layer3", "layer4"};
    for (int k = std::max(tap + 1, 1); k < kTapCount; ++k) names.push_back(layers[k - 1]);
    names.push_back("fc");
    std::vector<at::Tensor> out;
    for (const char* name : names)
        for (const at::Tensor& p : child(name).parameters(/*recurse=*/true)) out.push_back(p);
    return out;
}

void StagedNet::reinitialize(std::uint64_t seed) {
    at::NoGradGuard no_grad;
    torch::manual_seed(seed);
    for (const auto& item : module_.named_parameters(/*recurse=*/true)) {
        at::Tensor p = item.value;
        const std::string& name = item.name;
        const bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
        if (p.dim() == 4) {
            const double fan_out = static_cast<double>(p.size(0) * p.size(2) * p.size(3));
            p.normal_(0.0, std::sqrt(2.0 / fan_out));
        } else if (name.rfind("fc.", 0) == 0) {
            const int64_t fan_in = item.name == "fc.weight" ? p.size(1) : module_.attr("fc").toModule().attr("weight").toTensor().size(1);
            const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
            p.uniform_(-bound, bound);
        } else if (is_weight) {
            // Batch-norm scale: 1, but 0 for the last one of each residual branch (every block
            // starts as the identity, as CountNet does).
            p.fill_(name.find(".bn2.") != std::string::npos ? 0.0 : 1.0);
        } else {
            p.zero_();
        }
    }
    for (const auto& item : module_.named_buffers(/*recurse=*/true)) {
        const std::string& name = item.name;
        if (name.find("running_var") != std::string::npos) item.value.fill_(1);
        else item.value.zero_();
    }
}

void StagedNet::save(const std::string& path) {
    module_.eval();
    module_.save(path);
}

namespace {

// The same augmentation for images and activations: k quarter turns and an optional flip.
at::Tensor augment_batch(const at::Tensor& batch, std::uint64_t seed, int epoch, std::size_t first) {
    std::vector<at::Tensor> out;
    out.reserve(static_cast<std::size_t>(batch.size(0)));
    for (int64_t i = 0; i < batch.size(0); ++i) {
        const std::uint64_t h = cowc::splitmix64(cowc::splitmix64(seed * 31 + static_cast<std::uint64_t>(epoch)) ^ (first + static_cast<std::uint64_t>(i)));
        at::Tensor x = batch[i];
        const int turns = static_cast<int>(h & 3U);
        if (turns) x = torch::rot90(x, turns, {1, 2});
        if ((h >> 8) & 1U) x = torch::flip(x, {2});
        out.push_back(x);
    }
    return torch::stack(out);
}

}  // namespace

double train_net(StagedNet& net, int tap, const at::Tensor& inputs, const at::Tensor& labels,
                 const TrainSettings& s) {
    const int64_t n = inputs.size(0);
    std::vector<at::Tensor> parameters = net.parameters_after(tap);
    for (at::Tensor p : net.module().parameters(true)) p.set_requires_grad(false);
    for (auto& p : parameters) p.set_requires_grad(true);
    torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(s.learning_rate).weight_decay(s.weight_decay));
    const auto batch = static_cast<int64_t>(s.batch_size);
    const int64_t steps_per_epoch = n / batch + (n % batch >= 2 ? 1 : 0);
    const long long total = static_cast<long long>(steps_per_epoch) * s.epochs;
    if (steps_per_epoch == 0) throw std::runtime_error("train_net: fewer than 2 training samples");
    net.module().train();
    double last_loss = 0;
    long long global = 0;
    for (int epoch = 0; epoch < s.epochs; ++epoch) {
        const std::vector<std::size_t> order = counting::epoch_order(s.seed, epoch, static_cast<std::size_t>(n));
        const at::Tensor index_all = torch::tensor(std::vector<int64_t>(order.begin(), order.end()), torch::kLong);
        double epoch_loss = 0;
        for (int64_t step = 0; step < steps_per_epoch; ++step, ++global) {
            const int64_t begin = step * batch, end = std::min(n, begin + batch);
            const at::Tensor index = index_all.slice(0, begin, end);
            at::Tensor x = inputs.index_select(0, index);
            if (s.augment) x = augment_batch(x, s.seed, epoch, static_cast<std::size_t>(begin));
            const at::Tensor y = labels.index_select(0, index);
            const double lr = counting::learning_rate_at(global, total, s.learning_rate, s.warmup_fraction);
            for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
            optimizer.zero_grad();
            const at::Tensor logits = net.from_tap(x, tap);
            const at::Tensor loss =
                s.label_sigma > 0
                    ? -(counting::soft_targets(y, s.classes, s.label_sigma) * torch::log_softmax(logits, 1)).sum(1).mean()
                    : torch::nn::functional::cross_entropy(logits, y);
            loss.backward();
            optimizer.step();
            const double value = loss.item<double>();
            if (!std::isfinite(value))
                throw std::runtime_error("evaluate: the training loss became " + std::to_string(value) +
                                         "; lower learning_rate (now " + std::to_string(s.learning_rate) + ")");
            epoch_loss += value;
        }
        last_loss = epoch_loss / static_cast<double>(steps_per_epoch);
    }
    for (at::Tensor p : net.module().parameters(true)) p.set_requires_grad(false);
    net.module().eval();
    return last_loss;
}

std::vector<int> predict_net(StagedNet& net, int tap, const at::Tensor& inputs, int batch_size) {
    at::NoGradGuard no_grad;
    net.module().eval();
    std::vector<int> out;
    out.reserve(static_cast<std::size_t>(inputs.size(0)));
    for (int64_t begin = 0; begin < inputs.size(0); begin += batch_size) {
        const at::Tensor logits = net.from_tap(inputs.slice(0, begin, std::min<int64_t>(inputs.size(0), begin + batch_size)), tap);
        const at::Tensor arg = logits.argmax(1).contiguous();
        for (int64_t i = 0; i < arg.size(0); ++i) out.push_back(static_cast<int>(arg[i].item<int64_t>()));
    }
    return out;
}

counting::CountingMetrics score_net(StagedNet& net, int tap, const at::Tensor& inputs, const at::Tensor& labels,
                                    int batch_size) {
    const std::vector<int> predicted = predict_net(net, tap, inputs, batch_size);
    const at::Tensor l = labels.contiguous();
    std::vector<int> truth(static_cast<std::size_t>(l.size(0)));
    for (int64_t i = 0; i < l.size(0); ++i) truth[static_cast<std::size_t>(i)] = static_cast<int>(l[i].item<int64_t>());
    return counting::compute_counting_metrics(truth, predicted);
}

}  // namespace satsal::eval
