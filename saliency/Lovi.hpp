#pragma once
// Layer Ordered Visualization of Information (paper Eqs. 4-7).
#include "saliency/Map.hpp"

#include <cstdint>
#include <vector>

namespace satsal {

struct Hsv {
    double hue;         // degrees in [0, 300]
    double saturation;  // [0, 1]
    double value;       // [0, 1]
};

/// LOVI HSV of one pixel from r layer values s[0..r-1] in [0, 1], s[0] the earliest layer.
/// All zeros gives value 0 (black); r == 1 gives saturation 1 and hue 0... see Lovi.cpp.
Hsv lovi_hsv(const float* s, int r);
/// Usual HSV -> RGB, channels in [0, 1].
void hsv_to_rgb(const Hsv& hsv, double rgb[3]);

/// LOVI image of same-sized maps (earliest layer first), interleaved 8-bit RGB [H, W, 3].
std::vector<uint8_t> lovi_rgb(const std::vector<Map>& maps);

/// The paper's overlay: the combined map (as a heat colouring) alpha-blended over a gray
/// version of the input at 25% gray. `rgb` is interleaved 8-bit [H, W, 3] of the same size.
std::vector<uint8_t> overlay_rgb(const Map& combined, const std::vector<uint8_t>& rgb);

}  // namespace satsal
