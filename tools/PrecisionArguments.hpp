#pragma once
// --precision / --device, shared by every command that runs a model (LibTorch: include only there).
#include "model/TappedModel.hpp"

#include <boost/program_options.hpp>

#include <string>

namespace satsal::cli {

struct PrecisionArguments {
    std::string precision = "auto";
    std::string device = "cpu";
    void add_to(boost::program_options::options_description& described) {
        described.add_options()
            ("precision", boost::program_options::value(&precision)->default_value("auto"),
             "fp32|bf16|auto: auto is bf16 where the CPU has AVX512-BF16/AMX, else fp32")
            ("device", boost::program_options::value(&device)->default_value("cpu"), "cpu|cuda|cuda:N (cuda needs a CUDA LibTorch build)");
    }
    InferenceOptions inference() const {
        InferenceOptions options;
        options.precision = parse_precision(precision);
        options.device = device;
        parse_device(device);  // a bad value fails here, before any model is loaded
        return options;
    }
};
}  // namespace satsal::cli
