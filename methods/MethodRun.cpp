#include "methods/MethodRun.hpp"

#include "io/Hdf5Writer.hpp"
#include "methods/Attribution.hpp"
#include "model/TappedModel.hpp"

#include <chrono>
#include <stdexcept>

namespace satsal {
namespace {

Map map_of(const torch::Tensor& hw) {
    const torch::Tensor values = hw.to(torch::kFloat32).contiguous();
    Map map(values.size(1), values.size(0));
    std::copy(values.data_ptr<float>(), values.data_ptr<float>() + values.numel(), map.values.begin());
    return map;
}

}  // namespace

const TappedModel& fp32_model(const TappedModel& model, std::unique_ptr<TappedModel>& copy) {
    if (model.precision() == Precision::Fp32) return model;
    InferenceOptions inference;
    inference.precision = Precision::Fp32;
    inference.device = model.device();
    copy = std::make_unique<TappedModel>(model.path(), model.tap_names(), false, inference);
    if (copy->sha256() != model.sha256()) {
        throw std::runtime_error("model '" + model.path() + "' changed on disk while loading its float32 copy for the gradient method");
    }
    return *copy;
}

MethodProduct run_method(const TappedModel& model, const at::Tensor& input, const Map& smoe_combined,
                         const MethodOptions& options_in) {
    const auto start = std::chrono::steady_clock::now();
    validate(options_in);
    if (options_in.method == Method::Smoe) throw std::invalid_argument("run_method: smoe is computed by the SMOE path");
    if (input.dim() != 4 || input.size(0) != 1) throw std::invalid_argument("run_method: expected one image [1, C, H, W]");
    const int64_t height = input.size(2), width = input.size(3);

    MethodOptions options = options_in;
    GradientMethods methods(model, options.max_batch);
    if (is_cam(options.method)) options.cam_tap = model.taps()[methods.tap_index(options.cam_tap)].name;

    MethodProduct product;
    product.method = describe(options);
    const torch::Tensor targets = methods.targets(input, options.target_class);
    product.target_class = targets[0].item<int64_t>();

    if (is_input_attribution(options.method)) {
        const torch::Tensor attribution = methods.attribution(input, targets, options);
        const torch::Tensor reduced = reduce_channels(attribution, options.reduction);
        const torch::Tensor normalized = normalize_min_max(reduced);
        MethodProduct::Array array;
        array.path = "/attribution";
        array.dims = {attribution.size(1), height, width};
        const torch::Tensor values = attribution[0].contiguous();
        array.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
        product.arrays.push_back(std::move(array));
        product.maps.emplace_back("/attribution_reduced", map_of(reduced[0]));
        product.map = map_of(normalized[0]);
        product.maps.emplace_back("/saliency", product.map);
        product.map_description = method_name(options.method) + (options.smoothgrad_sq ? " SmoothGrad-Sq" : "") + " (" +
                                  channel_reduction_name(options.reduction) + ", min-max normalized)";
    } else {
        const auto cam = methods.grad_cam(input, targets, methods.tap_index(options.cam_tap),
                                          options.method == Method::GradCamPlusPlus);
        const Map cam_map = map_of(cam.map[0]);
        product.maps.emplace_back("/gradcam", cam_map);
        if (options.method == Method::FastCam) {
            if (smoe_combined.width != width || smoe_combined.height != height) {
                throw std::invalid_argument("fastcam: the SMOE combined map is " + std::to_string(smoe_combined.width) + "x" +
                                            std::to_string(smoe_combined.height) + ", the input " + std::to_string(width) +
                                            "x" + std::to_string(height));
            }
            Map fastcam(width, height), nonclass(width, height);
            for (int64_t i = 0; i < fastcam.size(); ++i) {
                fastcam.values[i] = smoe_combined.values[i] * cam_map.values[i];
                nonclass.values[i] = smoe_combined.values[i] * (1.0f - cam_map.values[i]);
            }
            product.map = fastcam;
            product.maps.emplace_back("/fastcam", std::move(fastcam));
            product.maps.emplace_back("/fastcam_nonclass", std::move(nonclass));
            product.map_description = "FastCAM (SMOE combined x Grad-CAM on " + options.cam_tap + ")";
        } else {
            product.map = cam_map;
            product.map_description = method_name(options.method) + " on " + options.cam_tap + " (min-max normalized)";
        }
    }
    product.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return product;
}

void write_method_outputs(Hdf5Writer& h5, const MethodProduct* product) {
    if (product == nullptr) {
        h5.set_attribute("/", "method", std::string("smoe"));
        return;
    }
    for (const auto& [path, map] : product->maps) h5.write_map(path, "", map);
    for (const auto& array : product->arrays) h5.write_float_array(array.path, array.dims, array.values.data());
    h5.set_attribute("/", "method", product->method);
    h5.set_attribute("/", "target_class", std::vector<int64_t>{product->target_class});
}

}  // namespace satsal
