#pragma once
// Small raster helpers for the COWC code: an 8-bit RGB image in memory, PNG/GeoTIFF writing and
// a forward-only row reader over a scene (PNG decoders cannot seek backwards cheaply, so scenes
// are read top to bottom in strips and never held whole).
//
// Thread rules: an RgbImage is a plain value. A SceneRowReader owns one GDAL dataset handle: use
// it from one thread. The free functions open their own handles and are safe from any thread.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace satsal::cowc {

/// Row-major, pixel-interleaved 8-bit RGB: channel c of pixel (x, y) is
/// pixels[(y * width + x) * 3 + c].
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;

    RgbImage() = default;
    RgbImage(int w, int h, uint8_t r = 0, uint8_t g = 0, uint8_t b = 0);
    uint8_t* at(int x, int y) { return &pixels[(static_cast<std::size_t>(y) * width + x) * 3]; }
    const uint8_t* at(int x, int y) const { return &pixels[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

/// Registers GDAL's drivers once (thread-safe).
void ensure_gdal_registered();

/// Writes an RGB PNG with zlib level `zlevel` (1 fastest .. 9 smallest; level 1 writes about 4x
/// faster than 6 for 13% more bytes on noisy imagery); creates the parent folder. Throws
/// std::runtime_error naming the file.
void write_png(const std::string& path, const RgbImage& image, int zlevel = 6);

/// Reads a whole image as RGB (gray is replicated, an alpha band is dropped). Meant for patches
/// and small images; scenes go through SceneRowReader. `what` names the file's role in errors.
RgbImage read_rgb(const std::string& path, const std::string& what);

/// Georeferencing for write_geotiff: north-up, square pixels.
struct GeoReference {
    int epsg = 32617;          ///< UTM zone (EPSG code), e.g. 32617 = WGS 84 / UTM 17N
    double origin_x = 0.0;     ///< easting of the top-left corner of pixel (0, 0), metres
    double origin_y = 0.0;     ///< northing of that corner, metres
    double pixel_size = 0.15;  ///< metres
};

/// Writes a tiled, DEFLATE-compressed RGB GeoTIFF with the given georeference; creates the
/// parent folder. Throws std::runtime_error naming the file.
void write_geotiff(const std::string& path, const RgbImage& image, const GeoReference& geo);

/// Reads a scene's rows as RGB from top to bottom, keeping only the rows asked for.
/// RGB, RGBA (alpha dropped), gray and gray+alpha (gray replicated) scenes of any integer type
/// (converted to 8 bits by GDAL's clamping) are accepted.
class SceneRowReader {
public:
    /// Opens the scene; throws std::runtime_error naming the file if it cannot be read.
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
