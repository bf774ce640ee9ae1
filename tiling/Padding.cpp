#include "tiling/Padding.hpp"

#include <algorithm>
#include <stdexcept>

namespace satsal {

namespace {

// For every coordinate of the requested range along one axis, the offset into the source range,
// or -1 where the pad rule fills a constant.
std::vector<int64_t> axis_lookup(int64_t start, int64_t length, int64_t scene_length,
                                 int64_t source_start, PadRule rule) {
    std::vector<int64_t> lookup(static_cast<size_t>(length));
    for (int64_t i = 0; i < length; ++i) {
        const int64_t coordinate = start + i;
        int64_t scene_coordinate = coordinate;
        if (coordinate < 0 || coordinate >= scene_length) {
            if (rule != PadRule::reflect) {
                lookup[static_cast<size_t>(i)] = -1;
                continue;
            }
            scene_coordinate = reflect_index(coordinate, scene_length);
        }
        lookup[static_cast<size_t>(i)] = scene_coordinate - source_start;
    }
    return lookup;
}

// Smallest range [lo, hi) of scene coordinates that reflect padding uses for [start, start+length).
void reflected_range(int64_t start, int64_t length, int64_t scene_length, int64_t& lo, int64_t& hi) {
    // A range covering a whole period (2(n-1)) touches every scene coordinate.
    if (scene_length == 1 || length >= 2 * (scene_length - 1)) {
        lo = 0;
        hi = scene_length;
        return;
    }
    lo = scene_length;
    hi = 0;
    for (int64_t i = start; i < start + length; ++i) {
        const int64_t c = reflect_index(i, scene_length);
        lo = std::min(lo, c);
        hi = std::max(hi, c + 1);
    }
}

void check_source(const PadPlan& plan, const PlanarView& source) {
    if (source.window != plan.source) {
        throw std::invalid_argument("pad: source data covers " + source.window.to_string() +
                                    " but the plan for window " + plan.requested.to_string() +
                                    " needs " + plan.source.to_string());
    }
    if (source.bands <= 0) {
        throw std::invalid_argument("pad: source data for window " + plan.requested.to_string() +
                                    " has no bands");
    }
    if (source.data == nullptr && !plan.source.empty()) {
        throw std::invalid_argument("pad: source data for window " + plan.requested.to_string() +
                                    " is null");
    }
}

void check_fill_values(const PadPlan& plan, const PlanarView& source,
                       const std::vector<float>& fill_values, bool required) {
    if ((required || !fill_values.empty()) &&
        static_cast<int64_t>(fill_values.size()) != source.bands) {
        throw std::invalid_argument("pad " + to_string(plan.rule) + ": got " +
                                    std::to_string(fill_values.size()) + " fill values for " +
                                    std::to_string(source.bands) + " bands (window " +
                                    plan.requested.to_string() + ")");
    }
}

int64_t pad_impl(const PadPlan& plan, const PlanarView& source, const uint8_t* mask,
                 const std::vector<float>& band_fill, float* out_values) {
    const Window& req = plan.requested;
    const Window& src = plan.source;
    const std::vector<int64_t> xs = axis_lookup(req.x, req.width, plan.scene.width, src.x, plan.rule);
    const std::vector<int64_t> ys = axis_lookup(req.y, req.height, plan.scene.height, src.y, plan.rule);

    if (out_values == nullptr) {
        throw std::invalid_argument("pad: output buffer for window " + req.to_string() + " is null");
    }
    const int64_t source_plane = src.width * src.height;
    for (int64_t b = 0; b < source.bands; ++b) {
        const float fill = band_fill[static_cast<size_t>(b)];
        const float* plane = source.data + b * source_plane;
        float* dst = out_values + b * req.width * req.height;
        for (int64_t y = 0; y < req.height; ++y) {
            const int64_t sy = ys[static_cast<size_t>(y)];
            float* dst_row = dst + y * req.width;
            if (sy < 0) {
                std::fill(dst_row, dst_row + req.width, fill);
                continue;
            }
            const float* src_row = plane + sy * src.width;
            const uint8_t* mask_row = mask ? mask + sy * src.width : nullptr;
            for (int64_t x = 0; x < req.width; ++x) {
                const int64_t sx = xs[static_cast<size_t>(x)];
                if (sx < 0 || (mask_row && mask_row[sx] == 0)) {
                    dst_row[x] = fill;
                } else {
                    dst_row[x] = src_row[sx];
                }
            }
        }
    }
    return mask ? count_valid(mask, src, plan.clipped) : plan.clipped.area();
}

PaddedWindow allocate_output(const PadPlan& plan, const PlanarView& source) {
    check_source(plan, source);  // before sizing anything from source.bands
    PaddedWindow out;
    out.window = plan.requested;
    out.bands = source.bands;
    out.values.resize(static_cast<size_t>(source.bands * plan.requested.area()));
    return out;
}

std::vector<float> masked_fill_values(const PadPlan& plan, const PlanarView& source,
                                      const uint8_t* valid_mask, const std::vector<float>& fill_values) {
    std::vector<float> band_fill(static_cast<size_t>(source.bands), 0.0f);
    if (plan.rule == PadRule::mean || (plan.rule == PadRule::reflect && !fill_values.empty())) {
        return fill_values;
    }
    if (plan.rule == PadRule::reflect) {
        const int64_t plane = plan.source.area();
        for (int64_t b = 0; b < source.bands; ++b) {
            const float* values = source.data + b * plane;
            double sum = 0.0;
            int64_t count = 0;
            for (int64_t i = 0; i < plane; ++i) {
                if (valid_mask[i] != 0) {
                    sum += values[i];
                    ++count;
                }
            }
            band_fill[static_cast<size_t>(b)] = count > 0 ? static_cast<float>(sum / count) : 0.0f;
        }
    }
    return band_fill;
}

void check_mask(const PadPlan& plan, const uint8_t* valid_mask) {
    if (valid_mask == nullptr && !plan.source.empty()) {
        throw std::invalid_argument("pad: validity mask for window " + plan.requested.to_string() +
                                    " is null");
    }
}

}  // namespace

PadRule parse_pad(const std::string& text) {
    if (text == "reflect") return PadRule::reflect;
    if (text == "mean") return PadRule::mean;
    if (text == "zero") return PadRule::zero;
    throw std::invalid_argument("pad '" + text + "' is not one of reflect, mean, zero");
}

std::string to_string(PadRule rule) {
    switch (rule) {
        case PadRule::reflect: return "reflect";
        case PadRule::mean: return "mean";
        case PadRule::zero: return "zero";
    }
    return "unknown";
}

int64_t reflect_index(int64_t i, int64_t n) {
    if (n <= 0) {
        throw std::invalid_argument("reflect_index: axis length " + std::to_string(n) +
                                    " must be positive");
    }
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    int64_t m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - m;
}

PadPlan plan_padded_window(const Window& requested, const Window& scene, PadRule rule) {
    if (scene.empty() || scene.x != 0 || scene.y != 0) {
        throw std::invalid_argument("pad: scene window " + scene.to_string() +
                                    " must start at 0,0 and be non-empty");
    }
    if (requested.empty()) {
        throw std::invalid_argument("pad: requested window " + requested.to_string() + " is empty");
    }
    PadPlan plan;
    plan.requested = requested;
    plan.scene = scene;
    plan.rule = rule;
    plan.clipped = requested.intersect(scene);
    if (rule != PadRule::reflect) {
        plan.source = plan.clipped;
        return plan;
    }
    int64_t x0, x1, y0, y1;
    reflected_range(requested.x, requested.width, scene.width, x0, x1);
    reflected_range(requested.y, requested.height, scene.height, y0, y1);
    plan.source = Window{x0, y0, x1 - x0, y1 - y0};
    return plan;
}

int64_t pad_window_into(const PadPlan& plan, const PlanarView& source,
                        const std::vector<float>& fill_values, float* out) {
    check_source(plan, source);
    check_fill_values(plan, source, fill_values, plan.rule == PadRule::mean);
    std::vector<float> band_fill(static_cast<size_t>(source.bands), 0.0f);
    if (plan.rule == PadRule::mean) band_fill = fill_values;
    return pad_impl(plan, source, nullptr, band_fill, out);
}

int64_t pad_window_masked_into(const PadPlan& plan, const PlanarView& source, const uint8_t* valid_mask,
                               const std::vector<float>& fill_values, float* out) {
    check_source(plan, source);
    check_mask(plan, valid_mask);
    check_fill_values(plan, source, fill_values, plan.rule == PadRule::mean);
    return pad_impl(plan, source, valid_mask, masked_fill_values(plan, source, valid_mask, fill_values),
                    out);
}

PaddedWindow pad_window(const PadPlan& plan, const PlanarView& source,
                        const std::vector<float>& fill_values) {
    PaddedWindow out = allocate_output(plan, source);
    out.valid_pixels = pad_window_into(plan, source, fill_values, out.values.data());
    return out;
}

PaddedWindow pad_window_masked(const PadPlan& plan, const PlanarView& source, const uint8_t* valid_mask,
                               const std::vector<float>& fill_values) {
    PaddedWindow out = allocate_output(plan, source);
    out.valid_pixels = pad_window_masked_into(plan, source, valid_mask, fill_values, out.values.data());
    return out;
}

int64_t count_valid(const uint8_t* mask, const Window& mask_window, const Window& region) {
    const Window r = region.intersect(mask_window);
    int64_t count = 0;
    for (int64_t y = r.y; y < r.y_end(); ++y) {
        const uint8_t* row = mask + (y - mask_window.y) * mask_window.width;
        for (int64_t x = r.x; x < r.x_end(); ++x) {
            count += row[x - mask_window.x] != 0 ? 1 : 0;
        }
    }
    return count;
}

}  // namespace satsal
