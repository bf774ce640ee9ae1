#include "cowc/CountingLayout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace satsal::counting {
namespace {

// Exact values at multiples of 90 degrees, so those rotations only permute pixels.
void sine_cosine(int degrees, double& sine, double& cosine) {
    const int d = ((degrees % 360) + 360) % 360;
    switch (d) {
        case 0: sine = 0; cosine = 1; return;
        case 90: sine = 1; cosine = 0; return;
        case 180: sine = 0; cosine = -1; return;
        case 270: sine = -1; cosine = 0; return;
        default: {
            const double radians = d * M_PI / 180.0;
            sine = std::sin(radians);
            cosine = std::cos(radians);
        }
    }
}

}  // namespace

void compose_count_canvas(const std::uint8_t* patch_rgb, int width, int height,
                          const PatchTransform& transform, std::uint8_t* canvas) {
    if (patch_rgb == nullptr || width <= 0 || height <= 0) {
        throw std::invalid_argument("compose_count_canvas: empty patch (" + std::to_string(width) + " x " +
                                    std::to_string(height) + ")");
    }
    for (int i = 0; i < kInputSize * kInputSize; ++i) {
        canvas[3 * i + 0] = kMarginColour[0];
        canvas[3 * i + 1] = kMarginColour[1];
        canvas[3 * i + 2] = kMarginColour[2];
    }
    double sine = 0, cosine = 1;
    sine_cosine(transform.rotation_degrees, sine, cosine);
    const double flip = transform.flip ? -1.0 : 1.0;
    const double centre_x = width / 2.0;
    const double centre_y = height / 2.0;

    auto pixel = [&](int x, int y, int c) -> double {
        if (x < 0 || y < 0 || x >= width || y >= height) return kMarginColour[c];
        return patch_rgb[(static_cast<std::size_t>(y) * width + x) * 3 + c];
    };

    for (int row = 0; row < kContentSize; ++row) {
        for (int col = 0; col < kContentSize; ++col) {
            // Offset of this output pixel's centre from the content centre (y down).
            const double u = col + 0.5 - kContentSize / 2.0;
            const double v = row + 0.5 - kContentSize / 2.0;
            // Inverse rotation (counter-clockwise as displayed, y down), then the inverse flip.
            const double source_u = flip * (u * cosine - v * sine);
            const double source_v = u * sine + v * cosine;
            // Pixel-centre coordinates in the patch.
            const double sx = centre_x + source_u - 0.5;
            const double sy = centre_y + source_v - 0.5;
            const double fx = std::floor(sx), fy = std::floor(sy);
            const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
            const double ax = sx - fx, ay = sy - fy;
            std::uint8_t* out = canvas + (static_cast<std::size_t>(row + kCanvasOffset) * kInputSize +
                                          (col + kCanvasOffset)) * 3;
            for (int c = 0; c < 3; ++c) {
                double value;
                if (ax == 0.0 && ay == 0.0) {
                    value = pixel(x0, y0, c);  // exact copy: no rounding path at all
                } else {
                    value = (1 - ay) * ((1 - ax) * pixel(x0, y0, c) + ax * pixel(x0 + 1, y0, c)) +
                            ay * ((1 - ax) * pixel(x0, y0 + 1, c) + ax * pixel(x0 + 1, y0 + 1, c));
                }
                out[c] = static_cast<std::uint8_t>(std::lround(std::clamp(value, 0.0, 255.0)));
            }
        }
    }
}

void canvas_to_input(const std::uint8_t* canvas, float* input_chw) {
    constexpr int plane = kInputSize * kInputSize;
    for (int c = 0; c < 3; ++c) {
        const float scale = 1.0f / (255.0f * kNormStd[c]);
        const float shift = kNormMean[c] / kNormStd[c];
        float* out = input_chw + static_cast<std::size_t>(c) * plane;
        for (int i = 0; i < plane; ++i) out[i] = canvas[3 * i + c] * scale - shift;
    }
}

}  // namespace satsal::counting
