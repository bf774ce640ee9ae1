#pragma once
// A 2-D single-band float raster, the currency between saliency/, tiling/ and io/.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace satsal {

/// Row-major float map: value of pixel (x, y) is values[y * width + x].
struct Map {
    int64_t width = 0;
    int64_t height = 0;
    std::vector<float> values;

    Map() = default;
    Map(int64_t w, int64_t h, float fill = 0.0f)
        : width(w), height(h), values(static_cast<std::size_t>(w * h), fill) {}

    float& at(int64_t x, int64_t y) { return values[static_cast<std::size_t>(y * width + x)]; }
    float at(int64_t x, int64_t y) const { return values[static_cast<std::size_t>(y * width + x)]; }
    float* data() { return values.data(); }
    const float* data() const { return values.data(); }
    int64_t size() const { return width * height; }
};

}  // namespace satsal
