#include "pipeline/TapStatistics.hpp"

#include "model/TappedModel.hpp"
#include "pipeline/Timing.hpp"
#include "saliency/TensorStatistics.hpp"

#include <stdexcept>

namespace satsal {

const std::vector<torch::Tensor>& TapStatistic::inputs(const ForwardResult& forward) const {
    return needs_pre_activation() ? forward.pre_activation : forward.taps;
}

namespace {

torch::Tensor one_tap_statistic(const TappedModel& model, std::size_t k, const torch::Tensor& tensor,
                                const TapStatistic& statistic) {
    try {
        return channel_statistic(statistic.statistic, tensor, statistic.options);
    } catch (const std::domain_error& error) {
        throw std::domain_error("tap '" + model.taps().at(k).name + "': " + error.what());
    }
}

}  // namespace

std::vector<torch::Tensor> tap_statistics(const TappedModel& model, const ForwardResult& forward,
                                          const TapStatistic& statistic) {
    const std::vector<torch::Tensor>& tensors = statistic.inputs(forward);
    std::vector<torch::Tensor> maps;
    maps.reserve(tensors.size());
    for (std::size_t k = 0; k < tensors.size(); ++k) maps.push_back(one_tap_statistic(model, k, tensors[k], statistic));
    return maps;
}

std::vector<torch::Tensor> fused_tap_statistics(const TappedModel& model, const torch::Tensor& batch,
                                                const TapStatistic& statistic, ForwardResult* forward,
                                                double* statistic_seconds) {
    double seconds = 0;
    std::vector<torch::Tensor> maps(model.taps().size());
    ForwardResult result;
    if (statistic.needs_pre_activation()) {
        result = model.forward(batch);
        const auto start = Clock::now();
        maps = tap_statistics(model, result, statistic);
        seconds = seconds_since(start);
    } else {
        result = model.forward(batch, [&](std::size_t k, const torch::Tensor& tap) {
            const auto start = Clock::now();
            maps.at(k) = one_tap_statistic(model, k, tap, statistic);
            seconds += seconds_since(start);
        });
    }
    if (statistic_seconds) *statistic_seconds = seconds;
    if (forward) *forward = std::move(result);
    return maps;
}

std::vector<torch::Tensor> forward_tap_statistics(const TappedModel& model, const torch::Tensor& batch,
                                                  const TapStatistic& statistic) {
    return fused_tap_statistics(model, batch, statistic, nullptr, nullptr);
}

std::vector<Map> image_maps(const std::vector<torch::Tensor>& statistics, int64_t image) {
    std::vector<Map> maps;
    maps.reserve(statistics.size());
    for (const auto& tap : statistics) maps.push_back(map_from_tensor(tap[image]));
    return maps;
}

}  // namespace satsal
