#include "saliency/Combine.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

// One axis of the bilinear sampling: layer index of the lower neighbour, of the upper one, and
// the upper one's weight.
struct Tap1d {
    int64_t lower;
    int64_t upper;
    double upper_weight;
};

Tap1d axis_tap(int64_t x, double scale, int64_t layer_size) {
    double u = (static_cast<double>(x) + 0.5) / scale - 0.5;
    u = std::min(std::max(u, 0.0), static_cast<double>(layer_size - 1));
    const int64_t lower = static_cast<int64_t>(u);  // u >= 0: truncation is floor
    const int64_t upper = lower < layer_size - 1 ? lower + 1 : lower;
    return {lower, upper, u - static_cast<double>(lower)};
}

std::vector<Tap1d> axis_taps(int64_t x0, int64_t count, double scale, int64_t layer_size,
                             int64_t source_origin, int64_t source_size, const char* axis) {
    std::vector<Tap1d> taps(static_cast<std::size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        Tap1d tap = axis_tap(x0 + i, scale, layer_size);
        tap.lower -= source_origin;
        tap.upper -= source_origin;
        if (tap.lower < 0 || tap.upper >= source_size) {
            std::ostringstream message;
            message << "bilinear window: full-resolution " << axis << " " << x0 + i
                    << " needs layer " << axis << " " << tap.lower + source_origin << ".."
                    << tap.upper + source_origin << " but the source holds layer " << axis << " "
                    << source_origin << ".." << source_origin + source_size - 1;
            throw std::out_of_range(message.str());
        }
        taps[static_cast<std::size_t>(i)] = tap;
    }
    return taps;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

}  // namespace

LayerSpan bilinear_source_span(int64_t x0, int64_t width, double scale, int64_t layer_size) {
    if (width < 1 || layer_size < 1 || !(scale > 0.0) || !std::isfinite(scale)) {
        throw std::invalid_argument("bilinear_source_span: needs width >= 1, layer size >= 1 and a "
                                    "finite positive scale");
    }
    // The sampling coordinate is non-decreasing in x, so the ends of the range bound it.
    return {axis_tap(x0, scale, layer_size).lower, axis_tap(x0 + width - 1, scale, layer_size).upper};
}

Map upsample_bilinear_window(const Map& source, int64_t source_x0, int64_t source_y0,
                             int64_t layer_width, int64_t layer_height, double scale_x,
                             double scale_y, int64_t x0, int64_t y0, int64_t width,
                             int64_t height) {
    if (width < 0 || height < 0 || layer_width < 1 || layer_height < 1 || !(scale_x > 0.0) ||
        !(scale_y > 0.0) || !std::isfinite(scale_x) || !std::isfinite(scale_y) ||
        source.width < 1 || source.height < 1 ||
        source.values.size() != static_cast<std::size_t>(source.width * source.height)) {
        std::ostringstream message;
        message << "bilinear upsampling: bad arguments (source " << source.width << " x "
                << source.height << ", layer " << layer_width << " x " << layer_height
                << ", scale " << scale_x << " x " << scale_y << ", window " << width << " x "
                << height << ")";
        throw std::invalid_argument(message.str());
    }
    Map out(width, height);
    if (width == 0 || height == 0) return out;
    const std::vector<Tap1d> columns =
        axis_taps(x0, width, scale_x, layer_width, source_x0, source.width, "x");
    const std::vector<Tap1d> rows =
        axis_taps(y0, height, scale_y, layer_height, source_y0, source.height, "y");
    for (int64_t j = 0; j < height; ++j) {
        const Tap1d& row = rows[static_cast<std::size_t>(j)];
        const float* top = source.data() + row.lower * source.width;
        const float* bottom = source.data() + row.upper * source.width;
        const double wy = row.upper_weight;
        float* line = out.data() + j * width;
        for (int64_t i = 0; i < width; ++i) {
            const Tap1d& column = columns[static_cast<std::size_t>(i)];
            const double wx = column.upper_weight;
            const double upper_row =
                (1.0 - wx) * top[column.lower] + wx * top[column.upper];
            const double lower_row =
                (1.0 - wx) * bottom[column.lower] + wx * bottom[column.upper];
            line[i] = static_cast<float>((1.0 - wy) * upper_row + wy * lower_row);
        }
    }
    return out;
}

Map upsample_bilinear(const Map& source, int64_t out_width, int64_t out_height) {
    if (source.width < 1 || source.height < 1 || out_width < 1 || out_height < 1) {
        std::ostringstream message;
        message << "bilinear upsampling from " << source.width << " x " << source.height << " to "
                << out_width << " x " << out_height << ": sizes must be at least 1 x 1";
        throw std::invalid_argument(message.str());
    }
    const double scale_x = static_cast<double>(out_width) / static_cast<double>(source.width);
    const double scale_y = static_cast<double>(out_height) / static_cast<double>(source.height);
    return upsample_bilinear_window(source, 0, 0, source.width, source.height, scale_x, scale_y, 0,
                                    0, out_width, out_height);
}

WeightSpec parse_weight_spec(const std::string& spec) {
    WeightSpec result;
    if (spec == "equal") return result;
    if (spec == "ramp") {
        result.preset = WeightSpec::Preset::Ramp;
        return result;
    }
    if (spec == "prior") {
        result.preset = WeightSpec::Preset::Prior;
        return result;
    }
    result.preset = WeightSpec::Preset::List;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = spec.find(',', start);
        const std::string item =
            trim(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        double value = 0.0;
        std::size_t used = 0;
        try {
            value = std::stod(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (item.empty() || used != item.size()) {
            throw std::invalid_argument("weights '" + spec + "': '" + item +
                                        "' is not a number (expected equal, ramp, prior or a "
                                        "comma list of numbers)");
        }
        result.values.push_back(value);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    double total = 0.0;
    for (std::size_t k = 0; k < result.values.size(); ++k) {
        if (!std::isfinite(result.values[k]) || result.values[k] < 0.0) {
            std::ostringstream message;
            message << "weights '" << spec << "': weight " << k + 1 << " is " << result.values[k]
                    << "; weights must be finite and >= 0";
            throw std::invalid_argument(message.str());
        }
        total += result.values[k];
    }
    if (!(total > 0.0)) throw std::invalid_argument("weights '" + spec + "' are all zero");
    return result;
}

std::string weight_spec_text(const WeightSpec& spec) {
    switch (spec.preset) {
        case WeightSpec::Preset::Equal: return "equal";
        case WeightSpec::Preset::Ramp: return "ramp";
        case WeightSpec::Preset::Prior: return "prior";
        case WeightSpec::Preset::List: break;
    }
    std::string out;
    for (std::size_t k = 0; k < spec.values.size(); ++k) {
        char buffer[64];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, spec.values[k]).ptr;  // shortest round trip
        out += (k ? "," : "") + std::string(buffer, end);
    }
    return out;
}

std::vector<double> resolve_weights(const WeightSpec& spec, std::size_t tap_count) {
    if (tap_count == 0) {
        throw std::invalid_argument("weights '" + weight_spec_text(spec) + "': the model has no taps");
    }
    std::vector<double> weights;
    switch (spec.preset) {
        case WeightSpec::Preset::Equal:
            weights.assign(tap_count, 1.0);
            break;
        case WeightSpec::Preset::Ramp:
            for (std::size_t k = 0; k < tap_count; ++k) weights.push_back(static_cast<double>(k + 1));
            break;
        case WeightSpec::Preset::Prior:
            if (tap_count != 5) {
                std::ostringstream message;
                message << "weights 'prior' are the paper's 5 values for ResNet-50's 5 taps but the "
                           "model has "
                        << tap_count << " taps; use equal, ramp or an explicit list";
                throw std::invalid_argument(message.str());
            }
            weights = {0.18, 0.15, 0.37, 0.40, 0.72};
            break;
        case WeightSpec::Preset::List:
            if (spec.values.size() != tap_count) {
                std::ostringstream message;
                message << "weights '" << weight_spec_text(spec) << "' give " << spec.values.size()
                        << " values but the model has " << tap_count << " taps";
                throw std::invalid_argument(message.str());
            }
            weights = spec.values;
            break;
    }
    return weights;
}

std::vector<double> parse_weights(const std::string& spec, std::size_t tap_count) {
    if (tap_count == 0) {
        throw std::invalid_argument("weights '" + spec + "': the model has no taps");
    }
    return resolve_weights(parse_weight_spec(spec), tap_count);
}

Map combine(const std::vector<Map>& maps, const std::vector<double>& weights) {
    if (maps.empty()) throw std::invalid_argument("combine: no maps");
    if (weights.size() != maps.size()) {
        std::ostringstream message;
        message << "combine: " << weights.size() << " weights for " << maps.size() << " maps";
        throw std::invalid_argument(message.str());
    }
    double total = 0.0;
    for (double w : weights) total += w;
    if (!(total > 0.0) || !std::isfinite(total)) {
        throw std::invalid_argument("combine: weights must have a finite positive sum");
    }
    const int64_t width = maps[0].width;
    const int64_t height = maps[0].height;
    for (std::size_t k = 0; k < maps.size(); ++k) {
        if (maps[k].width != width || maps[k].height != height) {
            std::ostringstream message;
            message << "combine: map " << k + 1 << " is " << maps[k].width << " x "
                    << maps[k].height << " but map 1 is " << width << " x " << height;
            throw std::invalid_argument(message.str());
        }
    }
    Map out(width, height);
    std::vector<double> sum(static_cast<std::size_t>(out.size()), 0.0);
    for (std::size_t k = 0; k < maps.size(); ++k) {
        const double w = weights[k] / total;
        const float* values = maps[k].data();
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += w * values[i];
    }
    for (std::size_t i = 0; i < sum.size(); ++i) out.values[i] = static_cast<float>(sum[i]);
    return out;
}

}  // namespace satsal
