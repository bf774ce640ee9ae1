#pragma once
// Layer Ordered Visualization of Information (paper Eqs. 4-7) and the paper's overlay.
//
// Thread rules: all functions are pure and re-entrant.
#include "saliency/Map.hpp"

#include <cstdint>
#include <vector>

namespace satsal {

struct Hsv {
    double hue;         // degrees in [0, 300]
    double saturation;  // [0, 1]
    double value;       // [0, 1]
};

/// LOVI HSV of one pixel from r layer values s[0..r-1], s[0] the earliest layer; values are
/// clamped to [0, 1] first. phi(k) = 1 - (k-1)/(r-1), hue = 300 sum(s phi)/sum(s),
/// sat = 1 - (sum(s)/(r max) - 1/r)/(1 - 1/r), value = max(s).
/// Guards: all zeros gives (0, 0, 0) (black); r == 1 gives hue 0, saturation 1, value s[0]
/// (a single layer is drawn as red intensity: phi and the saturation are 0/0 there).
/// Throws std::invalid_argument for r < 1. A NaN value gives (0, 0, 0).
Hsv lovi_hsv(const float* s, int r);
/// The usual HSV -> RGB (hue in degrees, wrapped into [0, 360)), channels in [0, 1].
void hsv_to_rgb(const Hsv& hsv, double rgb[3]);
/// [0, 1] -> byte: lround(255 * clamp(c, 0, 1)), so 0.5 gives 128 (127.5 rounds up).
uint8_t to_byte(double channel);

/// LOVI image of same-sized maps (earliest layer first), interleaved 8-bit RGB [H, W, 3].
std::vector<uint8_t> lovi_rgb(const std::vector<Map>& maps);

/// Heat colour of c in [0, 1] (a jet-like ramp: blue, cyan, green, yellow, red):
/// r = clamp(1.5 - |4c - 3|), g = clamp(1.5 - |4c - 2|), b = clamp(1.5 - |4c - 1|).
void heat_colour(double c, double rgb[3]);

/// The paper's overlay: 0.75 * heat(combined) + 0.25 * gray(input), per channel in [0, 255],
/// gray = 0.299 R + 0.587 G + 0.114 B (Rec. 601 luma), then to_byte of the result / 255.
/// A NaN (nodata) pixel shows the gray input alone. `rgb` is interleaved 8-bit [H, W, 3] of the
/// same size as `combined` (std::invalid_argument otherwise).
std::vector<uint8_t> overlay_rgb(const Map& combined, const std::vector<uint8_t>& rgb);

}  // namespace satsal
