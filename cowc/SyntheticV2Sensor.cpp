// Synthetic COWC v2: what the camera and the archive do to the scene (SyntheticV2.hpp, develop_v2).
#include <algorithm>
#include <cmath>

#include "cowc/SyntheticV2.hpp"

namespace satsal::cowc::synthetic_detail {
namespace {

// Separable Gaussian blur of one interleaved channel in place.
void blur_channel(std::vector<float>& rgb, int w, int h, int c, double sigma) {
    const int radius = std::max(1, static_cast<int>(std::ceil(2.5 * sigma)));
    std::vector<float> kernel(static_cast<std::size_t>(2 * radius + 1));
    double sum = 0;
    for (int k = -radius; k <= radius; ++k) {
        const double v = std::exp(-0.5 * k * k / (sigma * sigma));
        kernel[static_cast<std::size_t>(k + radius)] = static_cast<float>(v);
        sum += v;
    }
    for (auto& v : kernel) v = static_cast<float>(v / sum);
    std::vector<float> line(static_cast<std::size_t>(std::max(w, h)));
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            float acc = 0;
            for (int k = -radius; k <= radius; ++k) {
                const int xx = std::clamp(x + k, 0, w - 1);
                acc += kernel[static_cast<std::size_t>(k + radius)] * rgb[(static_cast<std::size_t>(y) * w + xx) * 3 + c];
            }
            line[static_cast<std::size_t>(x)] = acc;
        }
        for (int x = 0; x < w; ++x) rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] = line[static_cast<std::size_t>(x)];
    }
    for (int x = 0; x < w; ++x) {
        for (int y = 0; y < h; ++y) {
            float acc = 0;
            for (int k = -radius; k <= radius; ++k) {
                const int yy = std::clamp(y + k, 0, h - 1);
                acc += kernel[static_cast<std::size_t>(k + radius)] * rgb[(static_cast<std::size_t>(yy) * w + x) * 3 + c];
            }
            line[static_cast<std::size_t>(y)] = acc;
        }
        for (int y = 0; y < h; ++y) rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c] = line[static_cast<std::size_t>(y)];
    }
}

}  // namespace

Rgb8Image develop_v2(std::vector<float>& rgb, const std::vector<uint8_t>& shade, int w, int h, double shadow_strength,
                     const SensorLook& look, Rng& rng) {
    const std::size_t n = static_cast<std::size_t>(w) * h;
    // Shadows: sky-lit, so blue-ish.
    const double tint[3] = {1.0, 0.97, 0.86};
    for (std::size_t i = 0; i < n; ++i) {
        if (!shade[i]) continue;
        const double a = shadow_strength * shade[i] / 255.0;
        for (int c = 0; c < 3; ++c) rgb[i * 3 + c] = static_cast<float>(rgb[i * 3 + c] * (1.0 - a * tint[c]));
    }
    if (look.blur_sigma > 0.05)
        for (int c = 0; c < 3; ++c) blur_channel(rgb, w, h, c, look.blur_sigma);
    // Radiometry: gain (cast), gamma, contrast, brightness, haze.
    for (std::size_t i = 0; i < n; ++i) {
        const double haze[3] = {look.haze_colour.r, look.haze_colour.g, look.haze_colour.b};
        for (int c = 0; c < 3; ++c) {
            double v = std::clamp(rgb[i * 3 + c] * look.gain[c], 0.0, 255.0) / 255.0;
            v = std::pow(v, look.gamma) * 255.0;
            v = (v - 128.0) * look.contrast + 128.0 + look.brightness;
            v = v + look.haze * (haze[c] - v);
            rgb[i * 3 + c] = static_cast<float>(v);
        }
    }
    // Archive compression: chroma averaged over 2 x 2, detail of each 8 x 8 block quantised.
    if (look.chroma_subsample) {
        for (int y = 0; y + 1 < h; y += 2)
            for (int x = 0; x + 1 < w; x += 2) {
                double cb = 0, cr = 0;
                const std::size_t idx[4] = {static_cast<std::size_t>(y) * w + x, static_cast<std::size_t>(y) * w + x + 1,
                                            static_cast<std::size_t>(y + 1) * w + x,
                                            static_cast<std::size_t>(y + 1) * w + x + 1};
                double luma[4];
                for (int k = 0; k < 4; ++k) {
                    const float* p = &rgb[idx[k] * 3];
                    luma[k] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                    cb += p[2] - luma[k];
                    cr += p[0] - luma[k];
                }
                cb /= 4;
                cr /= 4;
                for (int k = 0; k < 4; ++k) {
                    float* p = &rgb[idx[k] * 3];
                    p[0] = static_cast<float>(luma[k] + cr);
                    p[2] = static_cast<float>(luma[k] + cb);
                    p[1] = static_cast<float>((luma[k] - 0.299 * p[0] - 0.114 * p[2]) / 0.587);
                }
            }
    }
    if (look.block_step > 0.5) {
        for (int by = 0; by < h; by += 8)
            for (int bx = 0; bx < w; bx += 8) {
                const int ex = std::min(w, bx + 8), ey = std::min(h, by + 8);
                for (int c = 0; c < 3; ++c) {
                    double mean = 0;
                    for (int y = by; y < ey; ++y)
                        for (int x = bx; x < ex; ++x) mean += rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c];
                    mean /= (ex - bx) * (ey - by);
                    for (int y = by; y < ey; ++y)
                        for (int x = bx; x < ex; ++x) {
                            float& v = rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c];
                            v = static_cast<float>(mean + look.block_step * std::round((v - mean) / look.block_step));
                        }
                }
            }
    }
    Rgb8Image out(w, h);
    for (std::size_t i = 0; i < n; ++i) {
        // Sensor noise: mostly shared by the channels (luminance), a little per channel.
        const double shared = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 2.0 * look.noise_sigma;
        uint8_t* q = &out.pixels[i * 3];
        for (int c = 0; c < 3; ++c) {
            const double own = (rng.uniform() - 0.5) * look.noise_sigma;
            q[c] = static_cast<uint8_t>(std::clamp(std::lround(rgb[i * 3 + c] + shared + own), 0L, 255L));
        }
    }
    return out;
}

}  // namespace satsal::cowc::synthetic_detail
