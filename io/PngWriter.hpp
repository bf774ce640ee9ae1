#pragma once
// 8-bit PNG output (LOVI images, overlays, quicklooks) through GDAL: the pixels go into a MEM
// dataset and the PNG driver's CreateCopy writes `<path>.partial`, renamed to `path` on success.
//
// Thread rules: no shared state; any thread may write its own file.
#include <cstdint>
#include <string>

namespace satsal {

/// Writes a gray (channels = 1), gray+alpha (2), RGB (3) or RGBA (4) 8-bit PNG from
/// pixel-interleaved data [height][width][channels]. IoError names the path and GDAL's message.
void write_png(const std::string& path, int width, int height, int channels, const uint8_t* interleaved);

}  // namespace satsal
