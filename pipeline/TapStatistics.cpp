#include "pipeline/TapStatistics.hpp"

#include "model/TappedModel.hpp"
#include "saliency/TensorStatistics.hpp"

#include <stdexcept>

namespace satsal {

const std::vector<torch::Tensor>& TapStatistic::inputs(const ForwardResult& forward) const {
    return needs_pre_activation() ? forward.pre_activation : forward.taps;
}

std::vector<torch::Tensor> tap_statistics(const TappedModel& model, const ForwardResult& forward,
                                          const TapStatistic& statistic) {
    const std::vector<torch::Tensor>& tensors = statistic.inputs(forward);
    std::vector<torch::Tensor> maps;
    maps.reserve(tensors.size());
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        try {
            maps.push_back(channel_statistic(statistic.statistic, tensors[k], statistic.options));
        } catch (const std::domain_error& error) {
            throw std::domain_error("tap '" + model.taps().at(k).name + "': " + error.what());
        }
    }
    return maps;
}

std::vector<torch::Tensor> forward_tap_statistics(const TappedModel& model, const torch::Tensor& batch,
                                                  const TapStatistic& statistic) {
    return tap_statistics(model, model.forward(batch), statistic);
}

std::vector<Map> image_maps(const std::vector<torch::Tensor>& statistics, int64_t image) {
    std::vector<Map> maps;
    maps.reserve(statistics.size());
    for (const auto& tap : statistics) maps.push_back(map_from_tensor(tap[image]));
    return maps;
}

}  // namespace satsal
