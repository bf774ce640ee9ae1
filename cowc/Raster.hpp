#pragma once
// Small raster helpers for the COWC code: an 8-bit RGB image in memory, PNG/GeoTIFF writing
// through io/'s writers, and a forward-only row reader over a scene (PNG decoders cannot seek
// backwards cheaply, so scenes are read top to bottom in strips and never held whole).
//
// Errors are io/'s IoError naming the file's role ("COWC scene", ...), the file and what was
// expected; bad arguments are std::invalid_argument.
//
// Thread rules: an Rgb8Image is a plain value. A SceneRowReader owns one RasterReader (one GDAL
// handle): use it from one thread. The free functions open their own handles and are safe from
// any thread.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/GeoReference.hpp"

namespace satsal {
class RasterReader;
struct RasterInfo;
}  // namespace satsal

namespace satsal::cowc {

/// Row-major, pixel-interleaved 8-bit RGB: channel c of pixel (x, y) is
/// pixels[(y * width + x) * 3 + c]. (io/'s RgbImage is the float [0,1] planar image of `explain`.)
struct Rgb8Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;

    Rgb8Image() = default;
    Rgb8Image(int w, int h, uint8_t r = 0, uint8_t g = 0, uint8_t b = 0);
    uint8_t* at(int x, int y) { return &pixels[(static_cast<std::size_t>(y) * width + x) * 3]; }
    const uint8_t* at(int x, int y) const { return &pixels[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

/// Writes an RGB PNG with zlib level `zlevel` (1 fastest .. 9 smallest; level 1 writes about 4x
/// faster than 6 for 13% more bytes on noisy imagery) through io/'s write_png (write-then-rename);
/// creates the parent folder. IoError naming the file.
void write_png(const std::string& path, const Rgb8Image& image, int zlevel = 6);

/// Reads a whole image as RGB (gray is replicated, an alpha band is dropped). Meant for patches
/// and small images; scenes go through SceneRowReader. `what` names the file's role in errors.
Rgb8Image read_rgb(const std::string& path, const std::string& what);

/// Writes a tiled (256 px), DEFLATE-compressed RGB GeoTIFF without overviews through io/'s
/// GeoTiffWriter, georeferenced by `geo`; creates the parent folder. IoError naming the file.
void write_geotiff(const std::string& path, const Rgb8Image& image, const GeoReference& geo);

/// Opens a raster with io/'s RasterReader; IoError "cannot open <what> '<path>': <reason>".
RasterReader open_raster(const std::string& path, const std::string& what);

/// Which bands give R, G, B (the same band three times for gray) and which is alpha (0: none).
struct ColourBands {
    std::vector<int> colour;
    int alpha = 0;
    bool gray() const { return colour[0] == colour[1]; }
};
/// IoError naming the file unless it is RGB, RGBA or gray (+ alpha).
ColourBands colour_bands(const RasterInfo& info, const std::string& what);

/// Reads `rows` full rows starting at y0 as interleaved RGB into dst (width * rows * 3 bytes).
void read_rgb_rows(const RasterReader& raster, const ColourBands& bands, int y0, int rows, uint8_t* dst);
/// Reads the whole raster as RGB.
Rgb8Image read_rgb(const RasterReader& raster, const ColourBands& bands);

/// Reads a scene's rows as RGB from top to bottom, keeping only the rows asked for.
/// RGB, RGBA (alpha dropped), gray and gray+alpha (gray replicated) scenes of any integer type
/// (converted to 8 bits by GDAL's clamping) are accepted.
class SceneRowReader {
public:
    /// Opens the scene; IoError naming the file if it cannot be read.
    explicit SceneRowReader(const std::string& path);
    ~SceneRowReader();
    SceneRowReader(const SceneRowReader&) = delete;
    SceneRowReader& operator=(const SceneRowReader&) = delete;

    int width() const { return width_; }
    int height() const { return height_; }
    const std::string& path() const { return path_; }

    /// Makes rows [y0, y1) (clamped to the scene) available; y0 must not decrease between calls
    /// (a forward-only reader). Rows already held are kept, new rows read once.
    void ensure_rows(int y0, int y1);
    /// Pointer to the RGB row y; y must be inside the last ensure_rows range.
    const uint8_t* row(int y) const;

private:
    void read_rows(int y0, int y1, uint8_t* dst);

    std::string path_;
    struct Handle;
    std::unique_ptr<Handle> handle_;
    int width_ = 0;
    int height_ = 0;
    int first_row_ = 0;  // rows [first_row_, first_row_ + held_rows_) are in buffer_
    int held_rows_ = 0;
    std::vector<uint8_t> buffer_;
};

}  // namespace satsal::cowc
