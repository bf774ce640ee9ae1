#include "pipeline/Explain.hpp"

#include "io/PngWriter.hpp"
#include "io/RasterReader.hpp"
#include "methods/MethodRun.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/ImageSaliency.hpp"
#include "pipeline/OutputStaging.hpp"
#include "pipeline/SaliencyProduct.hpp"
#include "pipeline/TapStatistics.hpp"
#include "pipeline/Timing.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Lovi.hpp"

#include <torch/script.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

/// [3, H, W] float in [0, 1] -> [1, 3, H', W'] normalized with mean/std, optionally resized.
torch::Tensor make_input(const RgbImage& image, const ExplainOptions& options) {
    auto planar = torch::from_blob(const_cast<float*>(image.planar.data()),
                                   {1, 3, image.height, image.width}, torch::kFloat32);
    torch::Tensor input = planar.clone();
    if (options.resize) {
        const auto [width, height] = *options.resize;
        input = torch::upsample_bilinear2d(input, {height, width}, /*align_corners=*/false);
    }
    auto mean = torch::tensor({options.mean[0], options.mean[1], options.mean[2]}).view({1, 3, 1, 1});
    auto std = torch::tensor({options.std[0], options.std[1], options.std[2]}).view({1, 3, 1, 1});
    return ((input - mean) / std).contiguous();
}

/// Input pixels as interleaved 8-bit RGB (for the overlay), at the network input size.
std::vector<uint8_t> input_rgb8(const torch::Tensor& input, const ExplainOptions& options) {
    auto mean = torch::tensor({options.mean[0], options.mean[1], options.mean[2]}).view({1, 3, 1, 1});
    auto std = torch::tensor({options.std[0], options.std[1], options.std[2]}).view({1, 3, 1, 1});
    auto pixels = (input * std + mean).clamp(0, 1).mul(255).round().to(torch::kUInt8);
    pixels = pixels[0].permute({1, 2, 0}).contiguous();
    const auto* data = pixels.data_ptr<uint8_t>();
    return std::vector<uint8_t>(data, data + pixels.numel());
}

/// saliency.tif and saliency.h5 of one image: whole maps, deflate-compressed h5.
void write_explain_product(OutputStaging& staging, const TappedModel& model, const ExplainOptions& options,
                           const GeoReference& geo, const ImageSaliency& saliency, const std::vector<double>& weights,
                           const MethodProduct* method) {
    SaliencyProductOptions product;
    product.width = saliency.combined.width;
    product.height = saliency.combined.height;
    product.geo = geo;
    product.combined_tiff.band_descriptions = {method ? method->map_description : "SMOE combined saliency"};
    SaliencyAttributes attributes;
    for (std::size_t k = 0; k < saliency.raw.size(); ++k) {
        const TapInfo& tap = model.taps()[k];
        product.layers.push_back({tap.name, tap.stride, saliency.raw[k].width, saliency.raw[k].height,
                                  geo.scaled(static_cast<double>(tap.stride))});
        attributes.taps.push_back(tap.name);
        attributes.strides.push_back(tap.stride);
    }
    SaliencyProduct writer(staging, product);
    const Window whole{0, 0, product.width, product.height};
    writer.write_block(whole, saliency.combined.data(), saliency.lovi.data(), method ? method->map.data() : nullptr);
    for (std::size_t k = 0; k < saliency.raw.size(); ++k) {
        writer.write_layer_block(k, Window{0, 0, saliency.raw[k].width, saliency.raw[k].height},
                                 saliency.raw[k].data(), saliency.normalized[k].data());
    }
    attributes.statistic = statistic_name(options.statistic);
    attributes.normalization = normalization_name(options.normalization);
    attributes.weights = weights;
    attributes.model_sha256 = model.sha256();
    attributes.input = options.image_path;
    write_method_outputs(writer.h5(), method);  // the method's datasets and the `method` attribute
    writer.finish(attributes);
}

}  // namespace

std::array<int64_t, 2> parse_size(const std::string& option, const std::string& text) {
    const auto x = text.find_first_of("xX");
    try {
        if (x != std::string::npos) {
            std::size_t used_w = 0, used_h = 0;
            const long long width = std::stoll(text.substr(0, x), &used_w);
            const long long height = std::stoll(text.substr(x + 1), &used_h);
            if (used_w == x && used_h == text.size() - x - 1 && width > 0 && height > 0) {
                return {width, height};
            }
        }
    } catch (const std::exception&) {
    }
    throw std::invalid_argument(option + " '" + text +
                                "': expected WIDTHxHEIGHT with positive integers, e.g. 224x224");
}

std::array<float, 3> parse_triplet(const std::string& option, const std::string& text) {
    std::array<float, 3> values{};
    std::stringstream stream(text);
    std::string item;
    int count = 0;
    while (std::getline(stream, item, ',')) {
        std::size_t used = 0;
        float value = 0;
        try {
            value = std::stof(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || item.empty() || !std::isfinite(value) || count >= 3) {
            count = -1;
            break;
        }
        values[static_cast<std::size_t>(count++)] = value;
    }
    if (count != 3) {
        throw std::invalid_argument(option + " '" + text +
                                    "': expected three comma-separated numbers, e.g. 0.485,0.456,0.406");
    }
    return values;
}

std::vector<std::string> parse_name_list(const std::string& text) {
    std::vector<std::string> names;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        const auto first = item.find_first_not_of(" \t");
        const auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos) names.push_back(item.substr(first, last - first + 1));
    }
    return names;
}

nlohmann::ordered_json ExplainResult::to_json() const {
    nlohmann::ordered_json json;
    json["outputs"]["saliency_tif"] = saliency_tif;
    json["outputs"]["lovi_png"] = lovi_png;
    json["outputs"]["overlay_png"] = overlay_png;
    json["outputs"]["saliency_h5"] = saliency_h5;
    json["input_size"] = std::vector<int64_t>{width, height};
    nlohmann::ordered_json& tap_list = json["taps"] = nlohmann::ordered_json::array();
    for (const auto& tap : taps) {
        nlohmann::ordered_json entry;
        entry["name"] = tap.name;
        entry["channels"] = tap.channels;
        entry["stride"] = tap.stride;
        entry["width"] = tap.width;
        entry["height"] = tap.height;
        tap_list.push_back(entry);
    }
    json["weights"] = weights;
    nlohmann::ordered_json& timings = json["seconds"];
    timings["load_model"] = load_seconds;
    json["precision"] = precision;
    json["precision_reason"] = precision_reason;
    timings["read_image"] = read_seconds;
    timings["forward"] = forward_seconds;
    timings["statistic"] = statistic_seconds;
    timings["combine"] = combine_seconds;
    timings["write"] = write_seconds;
    timings["method"] = method_seconds;
    json["method"] = method;
    return json;
}

ExplainResult explain(const ExplainOptions& options) {
    validate(options.method);
    ExplainResult result;
    for (std::size_t c = 0; c < 3; ++c) {
        if (!(options.std[c] > 0.0f)) {
            throw std::invalid_argument("--std: every value must be > 0 (pixels are divided by it), got " +
                                        std::to_string(options.std[c]) + " for channel " + std::to_string(c + 1));
        }
    }
    if (options.resize) {
        // One image in memory with every activation of the network: beyond this, use `satsal run`.
        constexpr int64_t kMaxSide = 16384, kMaxPixels = int64_t{8192} * 8192;
        const auto [width, height] = *options.resize;
        if (width > kMaxSide || height > kMaxSide || width * height > kMaxPixels) {
            throw std::invalid_argument("--resize " + std::to_string(width) + "x" + std::to_string(height) +
                                        ": at most " + std::to_string(kMaxSide) + " px a side and " +
                                        std::to_string(kMaxPixels / 1000000) +
                                        " MP for one image; `satsal run` tiles larger scenes");
        }
    }
    // Taken first: a refused output folder (one holding the input, or other files, or in use by
    // another run) fails before any work.
    OutputStaging staging(options.out_dir, {options.image_path, options.model_path});
    set_torch_threads(options.threads);

    auto start = Clock::now();
    InferenceOptions inference;
    inference.precision = options.precision;
    inference.device = options.device;
    TappedModel model(options.model_path, options.taps,
                      statistic_uses_pre_activation(options.statistic), inference);
    result.load_seconds = seconds_since(start);
    result.precision = precision_name(model.precision());
    result.precision_reason = model.precision_reason();
    const std::vector<double> weights = parse_weights(options.weights, model.taps().size());

    start = Clock::now();
    const RgbImage image = load_rgb01(options.image_path);
    torch::Tensor input = make_input(image, options);
    result.read_seconds = seconds_since(start);
    result.height = input.size(2);
    result.width = input.size(3);
    if (result.width < model.deepest_stride() || result.height < model.deepest_stride()) {
        throw std::invalid_argument(
            options.image_path + ": the image is " + std::to_string(result.width) + "x" +
            std::to_string(result.height) + " pixels, smaller than the model's deepest stride " +
            std::to_string(model.deepest_stride()) + "; use a larger image or --resize");
    }

    start = Clock::now();
    const ForwardResult forward = model.forward(input);
    result.forward_seconds = seconds_since(start);

    start = Clock::now();
    const TapStatistic statistic{options.statistic, options.statistic_options};
    std::vector<Map> raw = image_maps(tap_statistics(model, forward, statistic), 0);
    for (std::size_t k = 0; k < raw.size(); ++k) {
        const TapInfo& tap = model.taps()[k];
        result.taps.push_back({tap.name, tap.channels, tap.stride, raw[k].width, raw[k].height});
    }
    result.statistic_seconds = seconds_since(start);

    start = Clock::now();
    ImageSaliency saliency = build_image_saliency(std::move(raw), options.normalization, weights,
                                                  result.width, result.height);
    result.combine_seconds = seconds_since(start);

    // A gradient-based method (methods/): its map replaces the SMOE map in saliency.tif/overlay.png.
    std::optional<MethodProduct> method;
    if (options.method.method != Method::Smoe) {
        std::unique_ptr<TappedModel> fp32_copy;  // bf16 runs: gradients come from a float32 copy
        method = run_method(fp32_model(model, fp32_copy), input, saliency.combined, options.method);
        result.method = method->method;
        result.method_seconds = method->seconds;
    }
    const Map& shown = method ? method->map : saliency.combined;
    const std::vector<uint8_t> overlay = overlay_rgb(shown, input_rgb8(input, options));
    result.weights = weights;

    // Georeference of the network input grid: the image's, rescaled when --resize changed it.
    GeoReference geo = image.georeference;
    if (options.resize) {
        const double fx = static_cast<double>(image.width) / static_cast<double>(result.width);
        const double fy = static_cast<double>(image.height) / static_cast<double>(result.height);
        geo.transform[1] *= fx;
        geo.transform[4] *= fx;
        geo.transform[2] *= fy;
        geo.transform[5] *= fy;
    }

    start = Clock::now();
    write_explain_product(staging, model, options, geo, saliency, weights, method ? &*method : nullptr);
    write_png(staging.path("lovi.png"), static_cast<int>(result.width), static_cast<int>(result.height),
              3, saliency.lovi.data());
    write_png(staging.path("overlay.png"), static_cast<int>(result.width),
              static_cast<int>(result.height), 3, overlay.data());
    staging.commit();
    result.write_seconds = seconds_since(start);

    namespace fs = std::filesystem;
    result.saliency_tif = (fs::path(options.out_dir) / "saliency.tif").string();
    result.lovi_png = (fs::path(options.out_dir) / "lovi.png").string();
    result.overlay_png = (fs::path(options.out_dir) / "overlay.png").string();
    result.saliency_h5 = (fs::path(options.out_dir) / "saliency.h5").string();
    return result;
}

}  // namespace satsal
