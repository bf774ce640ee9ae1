#pragma once
// 8-bit PNG output (LOVI images, overlays, quicklooks, COWC scenes, patches and annotations)
// through GDAL: the PNG driver's CreateCopy writes `<path>.partial`, renamed to `path` on success.
//
// Thread rules: no shared state; any thread may write its own file (and its own source dataset).
#include <cstdint>
#include <string>

class GDALDataset;

namespace satsal {

/// Writes a gray (channels = 1), gray+alpha (2), RGB (3) or RGBA (4) 8-bit PNG from
/// pixel-interleaved data [height][width][channels]. `zlevel` is the zlib level 1 (fastest) .. 9
/// (smallest), 0 for GDAL's default (6). IoError names the path and GDAL's message.
void write_png(const std::string& path, int width, int height, int channels, const uint8_t* interleaved,
               int zlevel = 0);

/// Writes any 8-bit dataset GDAL's PNG driver accepts (1-4 Byte bands; an alpha band is kept) as
/// a PNG, reading it row by row: a dataset that makes its rows on demand is never held whole.
void write_png_from(const std::string& path, GDALDataset& source, int zlevel = 0);

}  // namespace satsal
