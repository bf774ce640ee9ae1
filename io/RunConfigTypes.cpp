#include "io/RunConfigTypes.hpp"

#include "io/RemoteInput.hpp"
#include "model/Precision.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace satsal::run_config_types {
namespace {

using config::expected;
using config::format_double;
using config::join;
using config::lower;
using config::Origin;
using config::trim;

// Comma-separated items, each trimmed; an empty item makes the list invalid (nullopt).
std::optional<std::vector<std::string>> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (item.empty()) return std::nullopt;
        items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

constexpr std::size_t kMaxListItems = 64;  // bands, mean, std, taps: more is a typo, not a model

}  // namespace

// ---- value types of run configs -----------------------------------------------------------------
ValueType<std::string> device_type() {
    ValueType<std::string> type;
    type.parse = [](const std::string& text, const Origin&) -> std::string {
        try {
            return parse_device(lower(text)).text();
        } catch (const std::invalid_argument&) {
            expected("cpu, cuda or cuda:N", text);
        }
    };
    type.format = [](const std::string& device) { return device; };
    return type;
}

ValueType<std::vector<std::string>> tap_names() {
    ValueType<std::vector<std::string>> type;
    type.parse = [](const std::string& text, const Origin&) {
        if (lower(text) == "auto") return std::vector<std::string>{};
        const auto names = split_list(text);
        if (!names || names->size() > kMaxListItems) expected("auto or module names separated by commas", text);
        for (const auto& name : *names)
            if (name.find_first_of(" \t") != std::string::npos) expected("auto or module names separated by commas", text);
        return *names;
    };
    type.format = [](const std::vector<std::string>& taps) { return taps.empty() ? std::string("auto") : join(taps, ","); };
    return type;
}

ValueType<std::vector<int>> band_list() {
    ValueType<std::vector<int>> type;
    type.parse = [](const std::string& text, const Origin&) {
        if (text.empty()) return std::vector<int>{};
        const std::string what = "band numbers 1..65535 separated by commas, at most 64 (e.g. 3,2,1)";
        const auto items = split_list(text);
        if (!items || items->size() > kMaxListItems) expected(what, text);
        std::vector<int> bands;
        for (const auto& item : *items) {
            try {
                bands.push_back(config::integer(1, 65535).parse(item, {}));
            } catch (const std::invalid_argument&) {
                expected(what, text);
            }
        }
        return bands;
    };
    type.format = [](const std::vector<int>& bands) {
        std::vector<std::string> parts;
        for (int b : bands) parts.push_back(std::to_string(b));
        return join(parts, ",");
    };
    return type;
}

// Finite numbers separated by commas, each > 0 when `positive`.
ValueType<std::vector<double>> number_list(bool positive) {
    ValueType<std::vector<double>> type;
    type.parse = [positive](const std::string& text, const Origin&) {
        const std::string what = std::string(positive ? "positive " : "") +
                                 "numbers separated by commas, one per selected band";
        const auto items = split_list(text);
        if (!items || items->size() > kMaxListItems) expected(what, text);
        std::vector<double> values;
        for (const auto& item : *items) {
            double value = 0;
            try {
                value = config::real(-1e300, 1e300).parse(item, {});
            } catch (const std::invalid_argument&) {
                expected(what, text);
            }
            if (positive && !(value > 0)) expected(what, text);
            values.push_back(value);
        }
        return values;
    };
    type.format = [](const std::vector<double>& values) {
        std::vector<std::string> parts;
        for (double v : values) parts.push_back(format_double(v));
        return join(parts, ",");
    };
    return type;
}

ValueType<std::optional<ValueRange>> value_range(bool percentiles) {
    ValueType<std::optional<ValueRange>> type;
    type.parse = [percentiles](const std::string& text, const Origin&) -> std::optional<ValueRange> {
        if (text.empty()) return std::nullopt;
        const std::string what = percentiles ? "two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98)"
                                             : "two numbers min,max with min < max (e.g. 0,255)";
        const auto items = split_list(text);
        if (!items || items->size() != 2) expected(what, text);
        ValueRange range;
        try {
            range.low = config::real(percentiles ? 0 : -1e300, percentiles ? 100 : 1e300).parse((*items)[0], {});
            range.high = config::real(percentiles ? 0 : -1e300, percentiles ? 100 : 1e300).parse((*items)[1], {});
        } catch (const std::invalid_argument&) {
            expected(what, text);
        }
        if (!(range.low < range.high)) expected(what, text);
        return range;
    };
    type.format = [](const std::optional<ValueRange>& range) {
        return range ? format_double(range->low) + "," + format_double(range->high) : std::string();
    };
    return type;
}

ValueType<std::optional<int>> margin_type() {
    const std::string what = "auto or an integer in 0.." + std::to_string(kMaxMargin) + " (pixels)";
    ValueType<std::optional<int>> type;
    type.parse = [what](const std::string& text, const Origin& origin) -> std::optional<int> {
        if (lower(text) == "auto") return std::nullopt;
        try {
            return config::integer(0, kMaxMargin).parse(text, origin);
        } catch (const std::invalid_argument&) {
            expected(what, text);
        }
    };
    type.format = [](const std::optional<int>& margin) {
        return margin ? std::to_string(*margin) : std::string("auto");
    };
    return type;
}

ValueType<int> power_of_two(int high) {
    const std::string what = "a power of two 1, 2, 4, ... up to " + std::to_string(high);
    ValueType<int> type;
    type.parse = [what, high](const std::string& text, const Origin& origin) {
        int value = 0;
        try {
            value = config::integer(1, high).parse(text, origin);
        } catch (const std::invalid_argument&) {
            expected(what, text);
        }
        if ((value & (value - 1)) != 0) expected(what, text);
        return value;
    };
    type.format = [](const int& value) { return std::to_string(value); };
    return type;
}

ValueType<Statistic> statistic_type() {
    std::vector<std::pair<std::string, Statistic>> names;
    for (const std::string& name : statistic_names()) names.emplace_back(name, parse_statistic(name));
    return config::enumeration(names);
}

ValueType<Normalization> normalization_type() {
    std::vector<std::pair<std::string, Normalization>> names;
    for (const std::string& name : normalization_names()) names.emplace_back(name, parse_normalization(name));
    return config::enumeration(names);
}

ValueType<WeightSpec> weights_type() {
    ValueType<WeightSpec> type;
    type.parse = [](const std::string& text, const Origin&) {
        try {
            return parse_weight_spec(lower(text));
        } catch (const std::invalid_argument&) {
            expected("equal, ramp, prior or non-negative numbers separated by commas, not all zero", text);
        }
    };
    type.format = [](const WeightSpec& weights) { return weight_spec_text(weights); };
    return type;
}

ValueType<std::optional<int>> class_type() {
    const std::string what = "predicted or a class index 0..1000000";
    ValueType<std::optional<int>> type;
    type.parse = [what](const std::string& text, const Origin& origin) -> std::optional<int> {
        if (lower(text) == "predicted") return std::nullopt;
        try {
            return config::integer(0, 1000000).parse(text, origin);
        } catch (const std::invalid_argument&) {
            expected(what, text);
        }
    };
    type.format = [](const std::optional<int>& value) {
        return value ? std::to_string(*value) : std::string("predicted");
    };
    return type;
}

ValueType<std::string> module_name() {
    ValueType<std::string> type;
    type.parse = [](const std::string& text, const Origin&) {
        if (text.find_first_of(" \t,") != std::string::npos) expected("one tap module name (empty: the last tap)", text);
        return text;
    };
    type.format = [](const std::string& name) { return name; };
    return type;
}

ValueType<Method> method_type() {
    std::vector<std::pair<std::string, Method>> names;
    for (const std::string& name : method_names()) names.emplace_back(name, parse_method(name));
    return config::enumeration(names);
}

// A scene spec: local paths resolved against the origin's folder, GDAL dataset names kept.
ValueType<std::string> scene_spec() {
    ValueType<std::string> type;
    type.parse = [](const std::string& text, const Origin& origin) -> std::string {
        return resolve_scene_spec(text, origin.base_dir);
    };
    type.format = [](const std::string& value) { return value; };
    return type;
}

ValueType<std::string> asset_key() {
    ValueType<std::string> type;
    type.parse = [](const std::string& text, const Origin&) -> std::string {
        if (text.find_first_of(" \t\"") != std::string::npos) expected("a STAC asset key such as visual", text);
        return text;
    };
    type.format = [](const std::string& value) { return value; };
    return type;
}

}  // namespace satsal::run_config_types
