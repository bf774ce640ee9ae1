#include "pipeline/MethodPass.hpp"

#include "methods/Attribution.hpp"
#include "methods/MethodRun.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/MethodWindows.hpp"
#include "pipeline/Pass2Blocks.hpp"
#include "pipeline/SaliencyProduct.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/Seams.hpp"
#include "saliency/Combine.hpp"
#include "saliency/TensorStatistics.hpp"
#include "tiling/Seams.hpp"

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace satsal {
namespace {

std::vector<Map> maps_of(const torch::Tensor& nhw) {
    std::vector<Map> maps;
    for (int64_t i = 0; i < nhw.size(0); ++i) maps.push_back(map_from_tensor(nhw[i]));
    return maps;
}

/// The options the seam probe runs with: IG steps and SmoothGrad samples capped.
MethodOptions probe_options(MethodOptions options) {
    options.steps = std::min(options.steps, kProbeIterations);
    options.samples = std::min(options.samples, kProbeIterations);
    return options;
}

}  // namespace

MethodRunner::MethodRunner(const RunConfig& config, const TappedModel& model, const std::vector<int64_t>& grid_strides)
    : options_(method_options(config)) {
    if (options_.method == Method::Smoe) throw std::logic_error("MethodRunner: method = smoe needs no gradient pass");
    try {
        validate(options_);
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument(std::string("method = ") + method_name(options_.method) + ": " + error.what());
    }
    model_ = &fp32_model(model, fp32_copy_);
    precision_note_ = fp32_copy_ ? "fp32 (a float32 copy of the model; the SMOE forward runs " +
                                       precision_name(model.precision()) + ")"
                                 : "fp32 (the run's model)";
    methods_ = std::make_unique<GradientMethods>(*model_, options_.max_batch);
    if (is_cam(options_.method)) {
        try {
            cam_index_ = methods_->tap_index(options_.cam_tap);
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(std::string("cam_tap: ") + error.what());
        }
        options_.cam_tap = model_->taps()[cam_index_].name;
        stride_ = grid_strides.at(cam_index_);
        native_stride_ = model_->taps()[cam_index_].stride;
    }
    description_ = describe(options_);
}

MethodRunner::~MethodRunner() = default;

namespace {

std::vector<Map> run_raw(const GradientMethods& methods, const MethodOptions& options, std::size_t cam_index,
                         int64_t stride, int64_t native_stride, const torch::Tensor& input, const torch::Tensor& targets) {
    if (is_input_attribution(options.method)) {
        const torch::Tensor attribution = methods.attribution(input, targets, options);
        return maps_of(reduce_channels(attribution, options.reduction));
    }
    const auto cam = methods.grad_cam(input, targets, cam_index, options.method == Method::GradCamPlusPlus);
    std::vector<Map> maps = maps_of(cam.raw);
    if (stride != native_stride) {
        // Counting runs: the tap's map onto the layer grid's finer stride, as the SMOE maps are.
        const int64_t factor = native_stride / stride;
        for (Map& map : maps) map = upsample_bilinear(map, map.width * factor, map.height * factor);
    }
    return maps;
}

}  // namespace

std::vector<Map> MethodRunner::compute(const at::Tensor& input, const at::Tensor& output) const {
    // The run's forward already gave the outputs: no second forward for the targets.
    const torch::Tensor logits = output.flatten(1);
    torch::Tensor targets;
    if (options_.target_class) {
        const int64_t target = *options_.target_class, classes = logits.size(1);
        if (target >= classes) {
            throw std::invalid_argument("class " + std::to_string(target) + ": model '" + model_->path() + "' has " +
                                        std::to_string(classes) + " outputs (classes 0.." + std::to_string(classes - 1) + ")");
        }
        targets = torch::full({input.size(0)}, target, torch::kLong);
    } else {
        targets = logits.argmax(1).to(torch::kLong);
    }
    return run_raw(*methods_, options_, cam_index_, stride_, native_stride_, input.to(torch::kFloat32), targets);
}

std::pair<Map, int64_t> MethodRunner::compute_window(const at::Tensor& input, std::optional<int64_t> target) const {
    const torch::Tensor targets = methods_->targets(input, target);
    std::vector<Map> maps = run_raw(*methods_, probe_options(options_), cam_index_, stride_, native_stride_, input, targets);
    return {std::move(maps.front()), targets[0].item<int64_t>()};
}

std::vector<Map> MethodRunner::compute_tiles(const at::Tensor& input, int64_t target) const {
    const torch::Tensor targets = torch::full({input.size(0)}, target, torch::kLong);
    return run_raw(*methods_, probe_options(options_), cam_index_, stride_, native_stride_, input, targets);
}

MethodRunner::WindowMaps MethodRunner::compute_windows(const at::Tensor& input) const {
    const torch::Tensor x = input.to(torch::kFloat32);
    const torch::Tensor targets = methods_->targets(x, options_.target_class).to(torch::kLong).contiguous();
    WindowMaps out;
    if (is_input_attribution(options_.method)) {
        out.maps = maps_of(reduce_channels(methods_->attribution(x, targets, options_), options_.reduction));
    } else {
        const auto cam = methods_->grad_cam(x, targets, cam_index_, options_.method == Method::GradCamPlusPlus);
        for (const Map& map : maps_of(cam.raw)) out.maps.push_back(upsample_bilinear(map, x.size(3), x.size(2)));
    }
    out.classes.assign(targets.data_ptr<int64_t>(), targets.data_ptr<int64_t>() + targets.numel());
    return out;
}

std::string method_band_description(const MethodRunner& runner) {
    const MethodOptions& options = runner.options();
    if (options.method == Method::FastCam) {
        return "FastCAM (SMOE combined x Grad-CAM on " + options.cam_tap + ", min-max over the scene)";
    }
    if (is_cam(options.method)) return method_name(options.method) + " on " + options.cam_tap + " (min-max over the scene)";
    return method_name(options.method) + (options.smoothgrad_sq ? " SmoothGrad-Sq" : "") + " (" +
           channel_reduction_name(options.reduction) + ", min-max over the scene)";
}

// ---- MethodScene ------------------------------------------------------------------------------

MethodScene::MethodScene(const MethodRunner& runner, const SceneResume& resume, const TileGrid& grid)
    : runner_(runner), grid_layout_(grid) {
    grids_.emplace_back(resume.grid_path("method.f32"), grid.layer_width(runner.stride()),
                        grid.layer_height(runner.stride()), true);
}

MethodScene::MethodScene(const MethodRunner& runner, const SceneResume& resume, const TileGrid& grid,
                         const MethodWindowLayout& windows)
    : runner_(runner), grid_layout_(grid), windows_(&windows) {
    for (int p = 0; p < MethodWindowLayout::kPhases; ++p) {
        grids_.emplace_back(resume.grid_path("method_phase" + std::to_string(p) + ".f32"), grid.scene_width(),
                            grid.scene_height(), true);
    }
}

int64_t MethodScene::map_stride() const { return windowed() ? 1 : runner_.stride(); }

void MethodScene::sync() {
    for (ScratchGrid& grid : grids_) grid.sync();
}

void MethodScene::stitch(const Tile& tile, const Map* map) {
    if (windowed()) throw std::logic_error("MethodScene::stitch: a counting run's method is scored per window");
    ScratchGrid& grid = grids_.front();
    const LayerCrop crop = grid_layout_.layer_crop(tile, runner_.stride());
    if (map == nullptr) {
        const std::vector<float> nan(static_cast<std::size_t>(crop.target.area()), std::nanf(""));
        grid.write(crop.target, nan.data(), crop.target.width);
        return;
    }
    grid.write(crop.target, map->data() + crop.source.y * map->width + crop.source.x, map->width);
}

void MethodScene::stitch_window(int phase, const Tile& window, const Map* canvas) {
    if (!windowed()) throw std::logic_error("MethodScene::stitch_window outside a counting run");
    ScratchGrid& grid = grids_.at(static_cast<std::size_t>(phase));
    const Window& core = window.core;
    if (canvas == nullptr) {
        const std::vector<float> nan(static_cast<std::size_t>(core.area()), std::nanf(""));
        grid.write(core, nan.data(), core.width);
        return;
    }
    const int64_t x = core.x - window.input.x, y = core.y - window.input.y;
    grid.write(core, canvas->data() + y * canvas->width + x, canvas->width);
}

void MethodScene::read_map(const Window& window, float* out) const {
    if (!windowed()) {
        grids_.front().read(window, out);
        return;
    }
    // Tent-weighted mean of the phases that have a window here and a value (not nodata).
    const std::size_t area = static_cast<std::size_t>(window.area());
    std::vector<double> sum(area, 0.0), weights(area, 0.0);
    std::vector<float> values(area);
    for (int p = 0; p < MethodWindowLayout::kPhases; ++p) {
        grids_[static_cast<std::size_t>(p)].read(window, values.data());
        for (int64_t y = 0; y < window.height; ++y) {
            for (int64_t x = 0; x < window.width; ++x) {
                const std::size_t i = static_cast<std::size_t>(y * window.width + x);
                const double w = windows_->weight(p, window.x + x, window.y + y);
                if (w > 0 && std::isfinite(values[i])) {
                    sum[i] += w * values[i];
                    weights[i] += w;
                }
            }
        }
    }
    for (std::size_t i = 0; i < area; ++i) {
        out[i] = weights[i] > 0 ? static_cast<float>(sum[i] / weights[i]) : std::nanf("");
    }
}

void MethodScene::measure_range() {
    // Over the map as pass 2 samples it at output_scale 1, so that the scene's normalized map has
    // exactly 0 and 1 (explain's per-image min-max); NaN (nodata) and samples touching it left out.
    const int64_t s = map_stride();
    const double scale = static_cast<double>(s);
    const ScratchGrid& grid = grids_.front();
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (int64_t by = 0; by < grid_layout_.scene_height(); by += kOutputBlock) {
        for (int64_t bx = 0; bx < grid_layout_.scene_width(); bx += kOutputBlock) {
            const int64_t bw = std::min(kOutputBlock, grid_layout_.scene_width() - bx);
            const int64_t bh = std::min(kOutputBlock, grid_layout_.scene_height() - by);
            const LayerSpan xs = bilinear_source_span(bx, bw, scale, grid.width());
            const LayerSpan ys = bilinear_source_span(by, bh, scale, grid.height());
            const Window window{xs.first, ys.first, xs.last - xs.first + 1, ys.last - ys.first + 1};
            Map source(window.width, window.height);
            read_map(window, source.data());
            const Map up = s == 1 ? source
                                  : upsample_bilinear_window(source, window.x, window.y, grid.width(), grid.height(),
                                                             scale, scale, bx, by, bw, bh);
            for (float value : up.values) {
                if (!std::isfinite(value)) continue;
                low = std::min(low, static_cast<double>(value));
                high = std::max(high, static_cast<double>(value));
            }
        }
    }
    if (!(low <= high)) throw std::runtime_error("method " + runner_.description() + ": every pixel is nodata");
    low_ = low;
    high_ = high;
    measured_ = true;
}

std::vector<std::string> MethodScene::car_map_names() const {
    const Method method = runner_.options().method;
    if (method == Method::FastCam) return {"gradcam", "fastcam"};
    if (is_cam(method)) return {method_name(method)};
    return {method_name(method) + (runner_.options().smoothgrad_sq ? "+smoothgrad-sq" : "")};
}

void MethodScene::prepare(SaliencyProduct& product) const {
    const Method method = runner_.options().method;
    std::vector<std::string> names;
    if (is_input_attribution(method)) names = {"/attribution_reduced", "/saliency"};
    else if (method == Method::FastCam) names = {"/gradcam", "/fastcam", "/fastcam_nonclass"};
    else names = {"/gradcam"};
    for (const auto& name : names) product.h5().create_float_map(name, "");
}

MethodBlock MethodScene::block(const Window& b, int64_t output_scale, const Map& combined,
                               const cowc::ObjectPositions* cars) const {
    if (!measured_) throw std::logic_error("MethodScene::block before measure_range");
    const ScratchGrid& grid = grids_.front();
    const double scale = static_cast<double>(map_stride()) / static_cast<double>(output_scale);
    const LayerSpan xs = bilinear_source_span(b.x, b.width, scale, grid.width());
    const LayerSpan ys = bilinear_source_span(b.y, b.height, scale, grid.height());
    const Window window{xs.first, ys.first, xs.last - xs.first + 1, ys.last - ys.first + 1};
    Map source(window.width, window.height);
    read_map(window, source.data());
    const double range = high_ - low_;
    for (float& value : source.values) {
        // NaN (nodata) becomes the scene minimum, as pass 2 treats the layer maps; the final mask
        // (from the combined map) puts nodata back.
        value = std::isnan(value) || !(range > 0) ? 0.0f : static_cast<float>((value - low_) / range);
    }
    Map map = upsample_bilinear_window(source, window.x, window.y, grid.width(), grid.height(), scale, scale, b.x,
                                       b.y, b.width, b.height);
    for (std::size_t i = 0; i < map.values.size(); ++i) {
        if (std::isnan(combined.values[i])) map.values[i] = std::nanf("");
    }
    MethodBlock out;
    const Method method = runner_.options().method;
    if (is_input_attribution(method)) {
        Map raw = map;
        for (float& value : raw.values) value = static_cast<float>(low_ + value * range);
        out.maps.emplace_back("/attribution_reduced", std::move(raw));
        out.maps.emplace_back("/saliency", map);
        out.shown = std::move(map);
    } else if (method == Method::FastCam) {
        Map fastcam(b.width, b.height), nonclass(b.width, b.height);
        for (std::size_t i = 0; i < map.values.size(); ++i) {
            fastcam.values[i] = combined.values[i] * map.values[i];
            nonclass.values[i] = combined.values[i] * (1.0f - map.values[i]);
        }
        out.shown = fastcam;
        out.maps.emplace_back("/gradcam", map);
        out.maps.emplace_back("/fastcam", std::move(fastcam));
        out.maps.emplace_back("/fastcam_nonclass", std::move(nonclass));
    } else {
        out.shown = map;
        out.maps.emplace_back("/gradcam", std::move(map));
    }
    if (cars && output_scale == 1) {
        if (method == Method::FastCam) {
            out.cars.push_back(measure_car_saliency(*cars, b.x, b.y, out.maps[0].second, {}));
            out.cars.push_back(measure_car_saliency(*cars, b.x, b.y, out.shown, {}));
        } else {
            out.cars.push_back(measure_car_saliency(*cars, b.x, b.y, out.shown, {}));
        }
    }
    return out;
}

void MethodScene::write(const Window& w, const MethodBlock& block, SaliencyProduct& product) {
    for (const auto& [name, map] : block.maps) product.h5().write_window(name, w.x, w.y, w.width, w.height, map.data());
    if (cars_.empty()) cars_.resize(block.cars.size());
    for (std::size_t i = 0; i < block.cars.size(); ++i) cars_[i].merge(block.cars[i]);
}

nlohmann::ordered_json MethodScene::report(std::optional<double> pass1_seconds, std::size_t car_count) const {
    nlohmann::ordered_json json;
    json["method"] = runner_.description();
    json["precision"] = runner_.precision_note();
    json["grid_stride"] = map_stride();
    json["score"] = windowed()
                        ? "per counting window: 192 px of scene in the 224 px COWC canvas, the logit of " +
                              std::string(runner_.options().target_class ? "class " + std::to_string(*runner_.options().target_class)
                                                                         : "the window's predicted count") +
                              "; windows in 4 phases offset by 96 px, blended with tent weights"
                        : "per tile: the logit of " + std::string(runner_.options().target_class
                                                                      ? "class " + std::to_string(*runner_.options().target_class)
                                                                      : "the tile's predicted class");
    json["normalization"] = "min-max over the scene at full resolution";
    json["range"] = {low_, high_};
    if (pass1_seconds) json["pass1_seconds"] = *pass1_seconds;
    if (!cars_.empty() && car_count > 0) {
        nlohmann::ordered_json ratios;
        const auto names = car_map_names();
        for (std::size_t i = 0; i < cars_.size() && i < names.size(); ++i) {
            const auto car_json = cars_[i].to_json(car_count, 0);
            if (car_json.contains("combined_ratio")) ratios[names[i]] = car_json["combined_ratio"];
        }
        json["saliency_on_cars"] = ratios;
    }
    return json;
}

// ---- seam probe -------------------------------------------------------------------------------

MethodSeamProbe method_seam_reference(const MethodRunner& runner, const SeamProbe& probe, int64_t tile_size,
                                      int64_t max_margin) {
    MethodSeamProbe out;
    out.max_margin = max_margin;
    out.tile_size = tile_size;
    out.columns = (probe.width - 2 * max_margin) / tile_size;
    out.rows = (probe.height - 2 * max_margin) / tile_size;
    if (out.columns < 1 || out.rows < 1) throw std::invalid_argument("method seams: the probe is too small");
    const int64_t whole_w = out.columns * tile_size + 2 * max_margin;
    const int64_t whole_h = out.rows * tile_size + 2 * max_margin;
    const auto full = torch::from_blob(const_cast<float*>(probe.planar.data()),
                                       {1, probe.channels, probe.height, probe.width}, torch::kFloat32);
    const torch::Tensor input = full.narrow(2, 0, whole_h).narrow(3, 0, whole_w).contiguous();
    auto [whole, target] = runner.compute_window(input, runner.options().target_class);
    out.target = target;
    const int64_t s = runner.stride();
    const float area = static_cast<float>(whole_w * whole_h);
    out.whole = Map(out.columns * tile_size / s, out.rows * tile_size / s);
    for (int64_t y = 0; y < out.whole.height; ++y) {
        for (int64_t x = 0; x < out.whole.width; ++x) out.whole.at(x, y) = whole.at(x + max_margin / s, y + max_margin / s) * area;
    }
    return out;
}

double method_seam_error(const MethodRunner& runner, const SeamProbe& probe, const MethodSeamProbe& reference,
                         int64_t margin, int batch_size) {
    const int64_t s = runner.stride(), tile_size = reference.tile_size;
    const int64_t side = tile_size + 2 * margin, core = tile_size / s, offset = margin / s;
    const float area = static_cast<float>(side * side);
    const auto full = torch::from_blob(const_cast<float*>(probe.planar.data()),
                                       {1, probe.channels, probe.height, probe.width}, torch::kFloat32);
    Map tiled(reference.whole.width, reference.whole.height);
    std::vector<std::pair<int64_t, int64_t>> cores;
    for (int64_t r = 0; r < reference.rows; ++r) {
        for (int64_t c = 0; c < reference.columns; ++c) cores.emplace_back(c, r);
    }
    const std::size_t batch = static_cast<std::size_t>(std::max(1, batch_size));
    for (std::size_t first = 0; first < cores.size(); first += batch) {
        const std::size_t count = std::min(cores.size() - first, batch);
        std::vector<torch::Tensor> inputs;
        for (std::size_t i = 0; i < count; ++i) {
            const auto [c, r] = cores[first + i];
            inputs.push_back(full.narrow(2, reference.max_margin + r * tile_size - margin, side)
                                 .narrow(3, reference.max_margin + c * tile_size - margin, side));
        }
        const std::vector<Map> maps = runner.compute_tiles(torch::cat(inputs, 0).contiguous(), reference.target);
        for (std::size_t i = 0; i < count; ++i) {
            const auto [c, r] = cores[first + i];
            for (int64_t y = 0; y < core; ++y) {
                for (int64_t x = 0; x < core; ++x) {
                    tiled.at(c * core + x, r * core + y) = maps[i].at(offset + x, offset + y) * area;
                }
            }
        }
    }
    return max_seam_error(tiled, reference.whole);
}

}  // namespace satsal
