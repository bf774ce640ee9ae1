#pragma once
// Internal GDAL plumbing shared by the COWC sources (not part of the public API; includes GDAL).
//
// Thread rules: QuietGdalErrors uses GDAL's per-thread error stack, so it is safe per thread;
// a GDALDataset from open_raster belongs to the calling thread.
#include <gdal_priv.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/CowcRaster.hpp"

namespace satsal::cowc::detail {

/// Silences GDAL's stderr printing for a scope and keeps the last message for our exceptions.
class QuietGdalErrors {
public:
    QuietGdalErrors();
    ~QuietGdalErrors();
    QuietGdalErrors(const QuietGdalErrors&) = delete;
    QuietGdalErrors& operator=(const QuietGdalErrors&) = delete;
    std::string message() const;
    bool failed() const;
};

/// Opens a raster read-only; `what` names the file's role ("COWC scene", ...) in errors.
GDALDatasetUniquePtr open_raster(const std::string& path, const std::string& what);

void make_parent_folder(const std::string& path, const std::string& what);

/// CreateCopy with error checks on create, flush and close.
void copy_with_driver(GDALDataset& source, const char* driver_name, const std::string& path,
                      const std::string& what, char** options);

/// An in-memory 3-band Byte dataset holding a copy of the image.
GDALDatasetUniquePtr memory_rgb(const RgbImage& image);

/// Which bands give R, G, B (the same band three times for gray) and which is alpha (0: none).
struct ColourBands {
    std::vector<int> colour;
    int alpha = 0;
};
ColourBands colour_bands(GDALDataset& ds, const std::string& path, const std::string& what);

/// Reads `rows` full rows starting at y0 as interleaved RGB into dst (width * rows * 3 bytes).
void read_rgb_rows(GDALDataset& ds, const ColourBands& cb, int y0, int rows, uint8_t* dst,
                   const std::string& path, const std::string& what);

}  // namespace satsal::cowc::detail
