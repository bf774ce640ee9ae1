#pragma once
// One image through a saliency method other than SMOE, as `satsal explain --method` needs it:
// the map for saliency.tif / overlay.png and the extra datasets of saliency.h5.
#include "methods/MethodOptions.hpp"
#include "saliency/Map.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace satsal {

class TappedModel;
class Hdf5Writer;

struct MethodProduct {
    std::string method;            // describe(options), the Grad-CAM tap resolved
    Map map;                       // the method's map in [0, 1], input size (saliency.tif, overlay.png)
    std::string map_description;   // band description of saliency.tif
    int64_t target_class = -1;     // the class whose logit was the score
    std::vector<std::pair<std::string, Map>> maps;  // extra [H, W] datasets on the input grid
    struct Array {
        std::string path;
        std::vector<int64_t> dims;
        std::vector<float> values;  // row-major
    };
    std::vector<Array> arrays;     // /attribution [C, H, W]
    double seconds = 0;            // time spent in the method
};

/// The model gradient methods run on: `model` itself when it computes in fp32; otherwise (bf16) a
/// float32 copy loaded from the same file with the same taps, kept in `copy` (its sha256 must match
/// the model's, or the file changed since it was loaded: an error).
const TappedModel& fp32_model(const TappedModel& model, std::unique_ptr<TappedModel>& copy);

/// Runs `options.method` (not smoe) on input [1, C, H, W] (the network's normalized input).
/// smoe_combined is the SMOE combined map of the same input (input size), needed by fastcam.
/// Datasets: input attributions write /attribution [C, H, W] (SmoothGrad-Sq: the mean squared
/// attribution), /attribution_reduced [H, W] (channels reduced, raw) and /saliency (min-max
/// normalized, = map); gradcam/gradcam++ write /gradcam; fastcam writes /gradcam, /fastcam
/// (= map, combined x cam) and /fastcam_nonclass (combined x (1 - cam)).
/// Throws std::invalid_argument / std::runtime_error with the reason (see methods/Attribution.hpp).
MethodProduct run_method(const TappedModel& model, const at::Tensor& input, const Map& smoe_combined,
                         const MethodOptions& options);

/// Writes product's datasets (the input grid "" must be defined) and the root attributes `method`
/// and `target_class`; product == nullptr writes method = "smoe" only.
void write_method_outputs(Hdf5Writer& h5, const MethodProduct* product);

}  // namespace satsal
