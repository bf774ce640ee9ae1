#include "pipeline/RunSetup.hpp"

#include "model/TappedModel.hpp"
#include "pipeline/MethodPass.hpp"
#include "saliency/Combine.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace satsal {
namespace {

TapStatistic statistic_of(const RunConfig& config) {
    TapStatistic statistic;
    statistic.statistic = config.statistic;
    return statistic;
}

/// LibTorch's intra-op threads are set before the model is loaded (auto-detection probes it).
std::unique_ptr<TappedModel> load_model(const RunConfig& config, bool pre_activation) {
    set_torch_threads(config.threads);
    return std::make_unique<TappedModel>(config.model, config.taps, pre_activation,
                                         make_inference_options(config.precision, config.device));
}

}  // namespace

RunSetup::RunSetup(const RunConfig& c)
    : config(c),
      statistic(statistic_of(c)),
      model(load_model(c, statistic.needs_pre_activation())),
      tap_names(model->tap_names()),
      model_sha256(model->sha256()),
      precision(precision_name(model->precision())),
      precision_reason(model->precision_reason()),
      graph_optimization(model->optimization()),
      normalization(c.norm),
      weights(resolve_weights(c.weights, model->taps().size())),
      margin(c.margin) {
    counting = c.task == RunTask::Count;
    // Counting runs too: their saliency comes from context-bearing tiles like any run's; the
    // counting windows have a grid of their own (pipeline/CountWindows.hpp).
    for (const auto& tap : model->taps()) {
        tap_strides.push_back(tap.stride);
        strides.push_back(tap.stride);
    }
    deepest_stride = model->deepest_stride();
    if (c.method != Method::Smoe) method = std::make_unique<MethodRunner>(c, *model, strides);
    for (int64_t s : strides) {
        if (deepest_stride % s != 0) {
            throw std::invalid_argument(c.model + ": tap stride " + std::to_string(s) +
                                        " does not divide the deepest stride " + std::to_string(deepest_stride) +
                                        "; tiles cannot line up every layer");
        }
    }
    tile_size = c.tile_size;
    if (c.tile_size % deepest_stride != 0) {
        throw std::invalid_argument("tile_size " + std::to_string(c.tile_size) +
                                    " is not a multiple of the model's deepest stride " +
                                    std::to_string(deepest_stride));
    }
    if (margin && *margin % deepest_stride != 0) {
        throw std::invalid_argument("margin " + std::to_string(*margin) +
                                    " is not a multiple of the model's deepest stride " +
                                    std::to_string(deepest_stride));
    }
}

RunSetup::~RunSetup() = default;

}  // namespace satsal
