#pragma once
// `satsal explain`: one image through a TorchScript CNN, SMOE taps, and the paper's outputs.
// Library entry point; tools/satsal.cpp only parses arguments into ExplainOptions.
#include "methods/MethodOptions.hpp"
#include "model/Precision.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/Statistics.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

struct ExplainOptions {
    std::string model_path;
    std::string image_path;
    std::string out_dir;
    std::vector<std::string> taps;  // empty: auto-detect
    Statistic statistic = Statistic::Smoe;
    StatisticOptions statistic_options;
    Normalization normalization = Normalization::Gauss;
    std::string weights = "equal";
    std::optional<std::array<int64_t, 2>> resize;       // width, height
    std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet, on [0, 1] pixels
    std::array<float, 3> std{0.229f, 0.224f, 0.225f};
    int threads = 0;  // 0: all cores
    MethodOptions method;  // --method smoe (default) or a gradient-based method (methods/)
    Precision precision = Precision::Auto;  // see model/Precision.hpp
    std::string device = "cpu";
};

struct ExplainTapShape {
    std::string name;
    int64_t channels = 0;
    int64_t stride = 0;
    int64_t width = 0;
    int64_t height = 0;
};

struct ExplainResult {
    std::string saliency_tif, lovi_png, overlay_png, saliency_h5;
    int64_t width = 0, height = 0;
    std::vector<ExplainTapShape> taps;
    std::vector<double> weights;
    std::string precision, precision_reason;  // the precision used and why
    // Seconds per stage.
    double load_seconds = 0, read_seconds = 0, forward_seconds = 0, statistic_seconds = 0,
           combine_seconds = 0, write_seconds = 0, method_seconds = 0;
    std::string method = "smoe";  // the method and its parameters (methods/MethodOptions.hpp describe())
    nlohmann::ordered_json to_json() const;
};

/// Runs explain end to end. All checks happen before anything is written; outputs are written
/// into a temporary folder inside out_dir and moved into place only when all are complete, so
/// a failure leaves no output behind. Throws std::exception with a message for the user.
ExplainResult explain(const ExplainOptions& options);

/// Parses "WxH" (e.g. 224x224); throws std::invalid_argument naming the option and value.
std::array<int64_t, 2> parse_size(const std::string& option, const std::string& text);
/// Parses "a,b,c" into 3 floats; throws std::invalid_argument naming the option and value.
std::array<float, 3> parse_triplet(const std::string& option, const std::string& text);
/// Parses a comma list of tap names (empty string: none).
std::vector<std::string> parse_name_list(const std::string& text);

}  // namespace satsal
