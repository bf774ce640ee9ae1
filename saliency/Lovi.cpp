#include "saliency/Lovi.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace satsal {

Hsv lovi_hsv(const float* s, int r) {
    if (r < 1) {
        throw std::invalid_argument("LOVI needs at least one layer, got " + std::to_string(r));
    }
    double sum = 0.0;
    double weighted = 0.0;  // sum_k s_k phi(k)
    double maximum = 0.0;
    for (int k = 0; k < r; ++k) {
        if (std::isnan(s[k])) return {0.0, 0.0, 0.0};
        const double v = std::clamp(static_cast<double>(s[k]), 0.0, 1.0);
        // phi(k) for 1-based k is 1 - (k - 1)/(r - 1); the earliest layer is 1, the last 0.
        const double phi = r > 1 ? 1.0 - static_cast<double>(k) / (r - 1) : 0.0;
        sum += v;
        weighted += v * phi;
        maximum = std::max(maximum, v);
    }
    if (!(maximum > 0.0)) return {0.0, 0.0, 0.0};  // all zero: black
    if (r == 1) return {0.0, 1.0, maximum};
    const double hue = 300.0 * weighted / sum;
    const double inv_r = 1.0 / r;
    const double saturation = 1.0 - (sum / (r * maximum) - inv_r) / (1.0 - inv_r);
    return {hue, std::clamp(saturation, 0.0, 1.0), maximum};
}

void hsv_to_rgb(const Hsv& hsv, double rgb[3]) {
    double hue = std::fmod(hsv.hue, 360.0);
    if (hue < 0.0) hue += 360.0;
    const double chroma = hsv.value * hsv.saturation;
    const double sector = hue / 60.0;  // [0, 6)
    const double x = chroma * (1.0 - std::fabs(std::fmod(sector, 2.0) - 1.0));
    double r = 0.0, g = 0.0, b = 0.0;
    switch (static_cast<int>(sector)) {
        case 0: r = chroma; g = x; break;
        case 1: r = x; g = chroma; break;
        case 2: g = chroma; b = x; break;
        case 3: g = x; b = chroma; break;
        case 4: r = x; b = chroma; break;
        default: r = chroma; b = x; break;
    }
    const double m = hsv.value - chroma;
    rgb[0] = r + m;
    rgb[1] = g + m;
    rgb[2] = b + m;
}

uint8_t to_byte(double channel) {
    return static_cast<uint8_t>(std::lround(255.0 * std::clamp(channel, 0.0, 1.0)));
}

std::vector<uint8_t> lovi_rgb(const std::vector<Map>& maps) {
    if (maps.empty()) throw std::invalid_argument("LOVI needs at least one map");
    const int64_t width = maps[0].width;
    const int64_t height = maps[0].height;
    for (std::size_t k = 0; k < maps.size(); ++k) {
        if (maps[k].width != width || maps[k].height != height) {
            std::ostringstream message;
            message << "LOVI: map " << k + 1 << " is " << maps[k].width << " x " << maps[k].height
                    << " but map 1 is " << width << " x " << height
                    << " (upsample the maps to one size first)";
            throw std::invalid_argument(message.str());
        }
    }
    const int r = static_cast<int>(maps.size());
    const int64_t pixels = width * height;
    std::vector<uint8_t> image(static_cast<std::size_t>(pixels * 3));
    std::vector<float> column(maps.size());
    double rgb[3];
    for (int64_t p = 0; p < pixels; ++p) {
        for (int k = 0; k < r; ++k) column[k] = maps[k].values[static_cast<std::size_t>(p)];
        hsv_to_rgb(lovi_hsv(column.data(), r), rgb);
        for (int c = 0; c < 3; ++c) image[static_cast<std::size_t>(3 * p + c)] = to_byte(rgb[c]);
    }
    return image;
}

void heat_colour(double c, double rgb[3]) {
    c = std::clamp(c, 0.0, 1.0);
    rgb[0] = std::clamp(1.5 - std::fabs(4.0 * c - 3.0), 0.0, 1.0);
    rgb[1] = std::clamp(1.5 - std::fabs(4.0 * c - 2.0), 0.0, 1.0);
    rgb[2] = std::clamp(1.5 - std::fabs(4.0 * c - 1.0), 0.0, 1.0);
}

std::vector<uint8_t> overlay_rgb(const Map& combined, const std::vector<uint8_t>& rgb) {
    const int64_t pixels = combined.size();
    if (rgb.size() != static_cast<std::size_t>(pixels * 3)) {
        std::ostringstream message;
        message << "overlay: the input image holds " << rgb.size() << " bytes but a "
                << combined.width << " x " << combined.height << " RGB image needs " << pixels * 3;
        throw std::invalid_argument(message.str());
    }
    std::vector<uint8_t> image(rgb.size());
    double heat[3];
    for (int64_t p = 0; p < pixels; ++p) {
        const uint8_t* in = &rgb[static_cast<std::size_t>(3 * p)];
        const double gray = (0.299 * in[0] + 0.587 * in[1] + 0.114 * in[2]) / 255.0;
        const float c = combined.values[static_cast<std::size_t>(p)];
        uint8_t* out = &image[static_cast<std::size_t>(3 * p)];
        if (std::isnan(c)) {
            out[0] = out[1] = out[2] = to_byte(gray);
            continue;
        }
        heat_colour(c, heat);
        for (int k = 0; k < 3; ++k) out[k] = to_byte(0.75 * heat[k] + 0.25 * gray);
    }
    return image;
}

}  // namespace satsal
