#pragma once
// The value types of the run config's keys (parse and format of each key's text): the run
// config's schema (io/RunConfig.cpp) is declared with them.
#include "io/ConfigSchema.hpp"
#include "io/RunConfig.hpp"

#include <optional>
#include <string>
#include <vector>

namespace satsal::run_config_types {

using config::ValueType;

ValueType<std::string> device_type();
ValueType<std::vector<std::string>> tap_names();
ValueType<std::vector<int>> band_list();
ValueType<std::vector<double>> number_list(bool positive);
ValueType<std::optional<ValueRange>> value_range(bool percentiles);
ValueType<std::optional<int>> margin_type();
ValueType<int> power_of_two(int high);
ValueType<Statistic> statistic_type();
ValueType<Normalization> normalization_type();
ValueType<WeightSpec> weights_type();
ValueType<std::optional<int>> class_type();
ValueType<std::string> module_name();
ValueType<Method> method_type();
ValueType<std::string> scene_spec();
ValueType<std::string> asset_key();

}  // namespace satsal::run_config_types
