#include "pipeline/Quicklook.hpp"

#include "io/PngWriter.hpp"
#include "saliency/Lovi.hpp"
#include "tiling/TileGrid.hpp"

#include <algorithm>
#include <cmath>

namespace satsal {

Quicklook::Quicklook(int64_t out_width, int64_t out_height, int64_t output_scale)
    : factor_(std::max<int64_t>(1, ceil_div(std::max(out_width, out_height), 1024))),
      scene_factor_(factor_ * output_scale),
      combined_(ceil_div(out_width, factor_), ceil_div(out_height, factor_), std::nanf("")),
      rgb_(static_cast<std::size_t>(combined_.size() * 3), 0) {}

void Quicklook::sample_input(const Window& core, const Window& window, const float* unit, int64_t bands) {
    const int64_t w = combined_.width, h = combined_.height;
    for (int64_t qy = ceil_div(core.y, scene_factor_); qy < h && qy * scene_factor_ < core.y_end(); ++qy) {
        for (int64_t qx = ceil_div(core.x, scene_factor_); qx < w && qx * scene_factor_ < core.x_end(); ++qx) {
            const int64_t at = (qy * scene_factor_ - window.y) * window.width + (qx * scene_factor_ - window.x);
            for (int64_t b = 0; b < 3; ++b) {
                const float v = unit[std::min(b, bands - 1) * window.area() + at];
                rgb_[static_cast<std::size_t>((qy * w + qx) * 3 + b)] = static_cast<uint8_t>(std::lround(255.0f * v));
            }
        }
    }
}

void Quicklook::sample_combined(int64_t x0, int64_t y0, const Map& block) {
    for (int64_t qy = ceil_div(y0, factor_); qy * factor_ < y0 + block.height && qy < combined_.height; ++qy) {
        for (int64_t qx = ceil_div(x0, factor_); qx * factor_ < x0 + block.width && qx < combined_.width; ++qx) {
            combined_.at(qx, qy) = block.at(qx * factor_ - x0, qy * factor_ - y0);
        }
    }
}

void Quicklook::write_png(const std::string& path) const {
    const std::vector<uint8_t> overlay = overlay_rgb(combined_, rgb_);
    satsal::write_png(path, static_cast<int>(combined_.width), static_cast<int>(combined_.height), 3,
                      overlay.data());
}

}  // namespace satsal
