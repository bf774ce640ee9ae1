#include "pipeline/ImageSaliency.hpp"

#include "saliency/Combine.hpp"
#include "saliency/Lovi.hpp"

#include <stdexcept>

namespace satsal {

ImageSaliency build_image_saliency(std::vector<Map> raw, Normalization normalization,
                                   const std::vector<double>& weights, int64_t width,
                                   int64_t height) {
    if (weights.size() != raw.size()) {
        throw std::invalid_argument("build_image_saliency: " + std::to_string(weights.size()) +
                                    " weights for " + std::to_string(raw.size()) + " maps");
    }
    ImageSaliency result;
    result.raw = std::move(raw);
    std::vector<Map> upsampled;
    upsampled.reserve(result.raw.size());
    for (const Map& map : result.raw) {
        Map normalized = map;
        normalize(normalization, normalized);
        upsampled.push_back(upsample_bilinear(normalized, width, height));
        result.normalized.push_back(std::move(normalized));
    }
    result.combined = combine(upsampled, weights);
    result.lovi = lovi_rgb(upsampled);
    return result;
}

}  // namespace satsal
