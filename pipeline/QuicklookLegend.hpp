#pragma once
// Legends drawn into PNGs (no font library: a 3x5 pixel font for digits and a few letters).
//
//   heat legend strip   appended below quicklook.png: the heat ramp from 0 (blue) to 1 (red)
//                       with the labels 0, 0.5 and 1
//   lovi_legend.png     written beside lovi.tif: one panel per layer L1..Ln at its LOVI hue
//                       (300 degrees * (1 - (k-1)/(n-1)): violet = earliest, red = deepest);
//                       within a panel value (strength) grows to the right ("V") and
//                       saturation (uniqueness) grows upwards ("S")
//
// Thread rules: pure functions (write_lovi_legend writes its own file).
#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

/// Draws `text` (digits, '.', 'L', 'S', 'V'; others are skipped as spaces) into interleaved
/// RGBA [height][width][4] with its top-left at (x, y), each font pixel scale x scale, clipped.
void draw_legend_text(std::vector<uint8_t>& rgba, int width, int height, int x, int y, const std::string& text,
                      int scale, const uint8_t colour[3]);

/// The quicklook's legend strip: RGBA [strip height][width][4], opaque; its height is returned
/// in `height`. The ramp is the overlay's heat colour (saliency/Lovi.hpp heat_colour).
std::vector<uint8_t> heat_legend_strip(int width, int& height);

/// lovi_legend.png for `layers` layers (>= 1). IoError naming the path on failure.
void write_lovi_legend(const std::string& path, int layers);

}  // namespace satsal
