#include "pipeline/QuicklookLegend.hpp"

#include "io/IoError.hpp"
#include "io/PngWriter.hpp"
#include "saliency/Lovi.hpp"

#include <algorithm>
#include <cstddef>

namespace satsal {
namespace {

/// 3x5 glyphs, one row per entry, bit 2 = left column.
const uint8_t* glyph(char c) {
    static const uint8_t digits[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                          {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                          {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
    static const uint8_t dot[5] = {0, 0, 0, 0, 2};
    static const uint8_t letter_l[5] = {4, 4, 4, 4, 7};
    static const uint8_t letter_s[5] = {3, 4, 2, 1, 6};
    static const uint8_t letter_v[5] = {5, 5, 5, 5, 2};
    if (c >= '0' && c <= '9') return digits[c - '0'];
    if (c == '.') return dot;
    if (c == 'L') return letter_l;
    if (c == 'S') return letter_s;
    if (c == 'V') return letter_v;
    return nullptr;
}

void put(std::vector<uint8_t>& rgba, int width, int height, int x, int y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    uint8_t* p = &rgba[(static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 4];
    p[0] = rgb[0];
    p[1] = rgb[1];
    p[2] = rgb[2];
    p[3] = 255;
}

int text_width(const std::string& text, int scale) { return static_cast<int>(text.size()) * 4 * scale - scale; }

}  // namespace

void draw_legend_text(std::vector<uint8_t>& rgba, int width, int height, int x, int y, const std::string& text,
                      int scale, const uint8_t colour[3]) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const uint8_t* rows = glyph(text[i]);
        if (rows == nullptr) continue;
        const int left = x + static_cast<int>(i) * 4 * scale;
        for (int r = 0; r < 5; ++r)
            for (int c = 0; c < 3; ++c)
                if (rows[r] & (4 >> c))
                    for (int dy = 0; dy < scale; ++dy)
                        for (int dx = 0; dx < scale; ++dx)
                            put(rgba, width, height, left + c * scale + dx, y + r * scale + dy, colour);
    }
}

std::vector<uint8_t> heat_legend_strip(int width, int& height) {
    const int scale = width >= 160 ? 2 : 1;
    const int ramp = 6 * scale, gap = 2 * scale, text = 5 * scale;
    height = gap + ramp + gap + text + gap;
    std::vector<uint8_t> rgba(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4, 0);
    const uint8_t background[3] = {32, 32, 32}, white[3] = {255, 255, 255};
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) put(rgba, width, height, x, y, background);
    const int margin = std::min(8 * scale, width / 8);
    const int left = margin, right = width - margin;  // ramp from c = 0 at left to c = 1 at right - 1
    for (int x = left; x < right; ++x) {
        double heat[3];
        heat_colour(right - left > 1 ? static_cast<double>(x - left) / (right - left - 1) : 0.0, heat);
        const uint8_t rgb[3] = {to_byte(heat[0]), to_byte(heat[1]), to_byte(heat[2])};
        for (int y = gap; y < gap + ramp; ++y) put(rgba, width, height, x, y, rgb);
    }
    const int label_y = gap + ramp + gap;
    if (width >= 3 * text_width("0.5", scale)) {
        draw_legend_text(rgba, width, height, left, label_y, "0", scale, white);
        draw_legend_text(rgba, width, height, (left + right - text_width("0.5", scale)) / 2, label_y, "0.5", scale, white);
        draw_legend_text(rgba, width, height, right - text_width("1", scale), label_y, "1", scale, white);
    }
    return rgba;
}

void write_lovi_legend(const std::string& path, int layers) {
    if (layers < 1) throw IoError("LOVI legend '" + path + "': needs at least one layer, got " + std::to_string(layers));
    constexpr int kScale = 2, kPanel = 64, kGap = 12, kLabel = 5 * kScale;
    const int axis = 4 * kScale + 4;  // room for "S" left of the panels
    const int width = axis + layers * kPanel + (layers - 1) * kGap + kGap;
    const int height = kGap + kLabel + 4 + kPanel + 4 + kLabel + kGap;
    std::vector<uint8_t> rgba(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4, 0);
    const uint8_t background[3] = {255, 255, 255}, ink[3] = {0, 0, 0};
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) put(rgba, width, height, x, y, background);
    const int top = kGap + kLabel + 4;
    for (int k = 0; k < layers; ++k) {
        const int left = axis + k * (kPanel + kGap);
        const double hue = layers == 1 ? 0.0 : 300.0 * (1.0 - static_cast<double>(k) / (layers - 1));
        const std::string label = "L" + std::to_string(k + 1);
        draw_legend_text(rgba, width, height, left + (kPanel - text_width(label, kScale)) / 2, kGap, label, kScale, ink);
        for (int y = 0; y < kPanel; ++y) {
            for (int x = 0; x < kPanel; ++x) {
                double rgb[3];
                // value (strength) grows to the right, saturation (uniqueness) upwards
                hsv_to_rgb(Hsv{hue, 1.0 - static_cast<double>(y) / (kPanel - 1), static_cast<double>(x) / (kPanel - 1)},
                           rgb);
                const uint8_t bytes[3] = {to_byte(rgb[0]), to_byte(rgb[1]), to_byte(rgb[2])};
                put(rgba, width, height, left + x, top + y, bytes);
            }
        }
        draw_legend_text(rgba, width, height, left + kPanel - text_width("V", kScale), top + kPanel + 4, "V", kScale, ink);
    }
    draw_legend_text(rgba, width, height, 2, top, "S", kScale, ink);
    write_png(path, width, height, 4, rgba.data());
}

}  // namespace satsal
