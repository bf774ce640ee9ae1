#include "eval/EvalData.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cowc/CountingInference.hpp"
#include "cowc/CountingLayout.hpp"
#include "cowc/CountingPatchSet.hpp"
#include "cowc/CountingTrainer.hpp"
#include "cowc/Synthetic.hpp"
#include "eval/Imputation.hpp"
#include "eval/Masks.hpp"
#include "io/AtomicFile.hpp"
#include "methods/Attribution.hpp"
#include "model/TappedModel.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/TensorStatistics.hpp"

namespace satsal::eval {
namespace {

namespace fs = std::filesystem;

// The synthetic COWC options in one line: a data_root made with other options is refused.
std::string synth_stamp(const EvalOptions& o) {
    std::ostringstream out;
    out << "satsal evaluate synthetic COWC: train_scenes=" << o.synth_train_scenes
        << " test_scenes=" << o.synth_test_scenes << " scene_size=" << o.synth_scene_size
        << " patch_stride=" << o.synth_patch_stride << " seed=" << o.synth_seed << "\n";
    return out.str();
}

void ensure_synthetic(const EvalOptions& o, std::ostream& log) {
    const fs::path stamp = fs::path(o.data_root) / "evaluate-synthetic.txt";
    const std::string wanted = synth_stamp(o);
    if (fs::exists(stamp)) {
        std::ifstream in(stamp);
        std::stringstream text;
        text << in.rdbuf();
        if (text.str() != wanted)
            throw std::runtime_error("data_root '" + o.data_root + "' holds a synthetic COWC made with other options (" +
                                     stamp.string() + ": " + text.str() + "): delete it or choose another data_root");
        log << "[evaluate] reusing the synthetic COWC in " << o.data_root << "\n";
        return;
    }
    if (fs::exists(o.data_root) && !fs::is_empty(o.data_root))
        throw std::runtime_error("data_root '" + o.data_root + "' exists without " + stamp.filename().string() +
                                 ": not a folder satsal evaluate made; choose another data_root");
    cowc::SyntheticCowcOptions s;
    s.root = o.data_root;
    s.scene_width = s.scene_height = o.synth_scene_size;
    s.train_scenes = o.synth_train_scenes;
    s.test_scenes = o.synth_test_scenes;
    s.seed = o.synth_seed;
    s.patch_stride = o.synth_patch_stride;
    s.write_geotiffs = false;
    log << "[evaluate] generating a synthetic COWC in " << o.data_root << " (" << o.synth_train_scenes << "+"
        << o.synth_test_scenes << " scenes of " << o.synth_scene_size << " px)\n"
        << std::flush;
    cowc::generate_synthetic_cowc(s);
    write_text_file(stamp.string(), wanted);
}

// The first `max` patches of a seeded shuffle (all when max = 0), as network inputs.
void load_split(const std::string& list, const std::string& root, const EvalOptions& o, int max, std::uint64_t salt,
                at::Tensor& inputs, at::Tensor& labels) {
    const counting::CountingPatchSet set = counting::CountingPatchSet::load(list, root, o.classes, std::max(1, o.threads));
    std::vector<std::size_t> order = counting::epoch_order(o.synth_seed ^ salt, -3, set.size());
    if (max > 0 && order.size() > static_cast<std::size_t>(max)) order.resize(static_cast<std::size_t>(max));
    std::sort(order.begin(), order.end());
    if (order.size() < 2) throw std::runtime_error("list '" + list + "' gives fewer than 2 patches");
    std::vector<at::Tensor> chunks;
    std::vector<int64_t> counts;
    for (std::size_t begin = 0; begin < order.size(); begin += 64) {
        const std::vector<std::size_t> part(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                            order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), begin + 64)));
        at::Tensor batch = counting::make_count_batch(set, part);
        if (o.input_size != counting::kInputSize)
            batch = torch::nn::functional::interpolate(
                batch, torch::nn::functional::InterpolateFuncOptions()
                           .size(std::vector<int64_t>{o.input_size, o.input_size})
                           .mode(torch::kArea));
        chunks.push_back(batch.contiguous());
        for (const std::size_t i : part) counts.push_back(set.count(i));
    }
    inputs = torch::cat(chunks).contiguous();
    labels = torch::tensor(counts, torch::kLong);
}

}  // namespace

EvalData load_eval_data(const EvalOptions& o, std::ostream& log) {
    std::string list = o.list, test_list = o.test_list, root = o.root;
    if (list.empty()) {
        ensure_synthetic(o, log);
        list = (fs::path(o.data_root) / "COWC_train_list_64_class.txt").string();
        test_list = (fs::path(o.data_root) / "COWC_test_list_64_class.txt").string();
        root = o.data_root;
    }
    EvalData data;
    load_split(list, root, o, o.max_train_patches, 0x7124, data.train_inputs, data.train_labels);
    load_split(test_list, root, o, o.max_test_patches, 0x7E57, data.test_inputs, data.test_labels);
    const at::Tensor means = data.train_inputs.mean({0, 2, 3});
    for (int c = 0; c < 3; ++c) data.channel_means.push_back(means[c].item<float>());
    return data;
}

at::Tensor random_maps(int64_t n, int64_t h, int64_t w, std::uint64_t seed, std::uint64_t salt, int64_t first_index) {
    at::Tensor out = torch::empty({n, h, w}, torch::kFloat);
    for (int64_t i = 0; i < n; ++i) {
        const std::vector<float> values = random_map(h * w, seed, salt * 0x100000000ULL + static_cast<std::uint64_t>(first_index + i));
        std::copy(values.begin(), values.end(), out[i].data_ptr<float>());
    }
    return out;
}

at::Tensor keep_masks(const at::Tensor& maps, double fraction, bool keep_mode) {
    const at::Tensor m = maps.contiguous().to(torch::kFloat);
    const int64_t n = m.size(0), h = m.size(1), w = m.size(2);
    at::Tensor out = torch::empty({n, 1, h, w}, torch::kFloat);
    const float* src = m.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const std::vector<std::uint8_t> keep =
                salience_mask(src + i * h * w, h * w, fraction, keep_mode ? MaskMode::Keep : MaskMode::Remove);
            for (int64_t p = 0; p < h * w; ++p) dst[i * h * w + p] = keep[static_cast<std::size_t>(p)];
        }
    });
    return out;
}

at::Tensor replace_blanked(const at::Tensor& inputs, const at::Tensor& masks, const std::vector<float>& means) {
    const at::Tensor mean = torch::tensor(means, torch::kFloat).view({1, -1, 1, 1});
    return (inputs * masks + mean * (1 - masks)).contiguous();
}

at::Tensor road_impute(const at::Tensor& inputs, const at::Tensor& maps, double fraction, bool morf, double noise,
                       std::uint64_t seed) {
    at::Tensor out = inputs.clone().contiguous();
    const at::Tensor m = maps.contiguous();
    const int64_t n = out.size(0), c = out.size(1), h = out.size(2), w = out.size(3);
    ImputationOptions options;
    options.noise_sigma = noise;
    // Noise is given in [0,1] pixel units; inputs are (pixel - mean) / std.
    for (const float s : counting::kNormStd) options.noise_scale.push_back(1.0f / s);
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const std::vector<std::uint8_t> removed = road_removed(m.data_ptr<float>() + i * h * w, h * w, fraction, morf);
            ImputationOptions mine = options;
            mine.seed = seed * 1000003ULL + static_cast<std::uint64_t>(i);
            impute_linear(out.data_ptr<float>() + i * c * h * w, static_cast<int>(c), static_cast<int>(h),
                          static_cast<int>(w), removed.data(), mine);
        }
    });
    return out;
}

std::vector<std::uint8_t> to_rgb(const at::Tensor& input) {
    const at::Tensor x = input.contiguous();
    const int64_t h = x.size(1), w = x.size(2);
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(h * w * 3));
    for (int c = 0; c < 3; ++c) {
        const float* plane = x[c].data_ptr<float>();
        for (int64_t p = 0; p < h * w; ++p) {
            const float v = (plane[p] * counting::kNormStd[c] + counting::kNormMean[c]) * 255.0f;
            rgb[static_cast<std::size_t>(p * 3 + c)] = static_cast<std::uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
        }
    }
    return rgb;
}

LayerMaps layer_maps(const std::string& model_path, const at::Tensor& inputs, const EvalOptions& o) {
    bool pre = false;
    for (const auto& name : o.statistics)
        if (name != "random" && statistic_uses_pre_activation(parse_statistic(name))) pre = true;
    TappedModel model(model_path, {}, pre);
    if (model.taps().size() != static_cast<std::size_t>(5))
        throw std::runtime_error("model '" + model_path + "' has " + std::to_string(model.taps().size()) +
                                 " taps; satsal evaluate expects the 5 of a ResNet-style counting network");
    LayerMaps maps;
    std::map<std::string, std::vector<std::vector<at::Tensor>>> parts;
    for (int64_t begin = 0; begin < inputs.size(0); begin += 32) {
        const ForwardResult r = model.forward(inputs.slice(0, begin, std::min<int64_t>(inputs.size(0), begin + 32)));
        for (const auto& name : o.statistics) {
            if (name == "random") continue;
            const Statistic statistic = parse_statistic(name);
            auto& per_tap = parts[name];
            per_tap.resize(5);
            for (int t = 0; t < 5; ++t) {
                const at::Tensor& tap = statistic_uses_pre_activation(statistic) ? r.pre_activation[static_cast<std::size_t>(t)]
                                                                                 : r.taps[static_cast<std::size_t>(t)];
                per_tap[static_cast<std::size_t>(t)].push_back(channel_statistic(statistic, tap.to(torch::kFloat)));
            }
        }
    }
    for (auto& [name, per_tap] : parts)
        for (auto& chunks : per_tap) maps[name].push_back(torch::cat(chunks));
    return maps;
}

namespace {

// The SMOE combined map of each image for several weight presets: [N, S, S] per preset.
std::map<std::string, at::Tensor> smoe_combined(const TappedModel& model, const at::Tensor& inputs,
                                                const std::vector<std::string>& presets) {
    const int64_t n = inputs.size(0), h = inputs.size(2), w = inputs.size(3);
    std::map<std::string, at::Tensor> out;
    std::map<std::string, std::vector<double>> weights;
    for (const auto& preset : presets) {
        out[preset] = torch::empty({n, h, w}, torch::kFloat);
        weights[preset] = resolve_weights(parse_weight_spec(preset), model.taps().size());
    }
    for (int64_t begin = 0; begin < n; begin += 32) {
        const int64_t end = std::min(n, begin + 32);
        const ForwardResult r = model.forward(inputs.slice(0, begin, end));
        std::vector<at::Tensor> smoe;
        for (const auto& tap : r.taps) smoe.push_back(channel_statistic(Statistic::Smoe, tap.to(torch::kFloat)));
        for (int64_t i = begin; i < end; ++i) {
            std::vector<Map> layers;
            for (const auto& s : smoe) {
                Map map = map_from_tensor(s[i - begin]);
                normalize(Normalization::Gauss, map);
                layers.push_back(upsample_bilinear(map, w, h));
            }
            for (const auto& preset : presets) {
                const Map combined = combine(layers, weights[preset]);
                std::copy(combined.values.begin(), combined.values.end(), out[preset][i].data_ptr<float>());
            }
        }
    }
    return out;
}

}  // namespace

std::map<std::string, at::Tensor> image_maps(const std::string& model_path, const at::Tensor& inputs,
                                             const EvalOptions& o, std::ostream& log) {
    TappedModel model(model_path);
    GradientMethods gradients(model, 32);
    std::map<std::string, at::Tensor> out;
    auto wanted = [&](const std::string& name) {
        return std::find(o.methods.begin(), o.methods.end(), name) != o.methods.end();
    };
    const auto smoe = smoe_combined(model, inputs, {"prior", "ramp", "equal"});
    for (const char* preset : {"prior", "ramp", "equal"})
        if (wanted(std::string("smoe-") + preset)) out[std::string("smoe-") + preset] = smoe.at(preset);
    const at::Tensor targets = gradients.targets(inputs, std::nullopt);
    if (wanted("gradcam") || wanted("fastcam")) {
        std::vector<at::Tensor> parts;
        for (int64_t begin = 0; begin < inputs.size(0); begin += 32) {
            const int64_t end = std::min<int64_t>(inputs.size(0), begin + 32);
            parts.push_back(gradients.grad_cam(inputs.slice(0, begin, end), targets.slice(0, begin, end),
                                               gradients.tap_index(""), false).map);
        }
        const at::Tensor cam = torch::cat(parts);
        if (wanted("gradcam")) out["gradcam"] = cam;
        // FastCAM: the SMOE combined map (prior weights) times the Grad-CAM map (LLNL/fastcam).
        if (wanted("fastcam")) out["fastcam"] = (smoe.at("prior") * cam).contiguous();
    }
    const std::pair<const char*, Method> attributions[] = {{"gradient-sg", Method::Gradient},
                                                           {"guided-backprop-sg", Method::GuidedBackprop},
                                                           {"integrated-gradients-sg", Method::IntegratedGradients}};
    for (const auto& [name, method] : attributions) {
        if (!wanted(name)) continue;
        MethodOptions m;
        m.method = method;
        m.smoothgrad_sq = true;
        m.steps = o.ig_steps;
        m.samples = o.sg_samples;
        m.noise = o.sg_noise;
        m.seed = 17;
        m.max_batch = 32;
        std::vector<at::Tensor> parts;
        for (int64_t begin = 0; begin < inputs.size(0); begin += 32) {
            const int64_t end = std::min<int64_t>(inputs.size(0), begin + 32);
            const at::Tensor a = gradients.attribution(inputs.slice(0, begin, end), targets.slice(0, begin, end), m);
            parts.push_back(reduce_channels(a, ChannelReduction::AbsMax));
        }
        out[name] = torch::cat(parts).contiguous();
        log << "[evaluate] maps: " << name << " done\n" << std::flush;
    }
    return out;
}

}  // namespace satsal::eval
