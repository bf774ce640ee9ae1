#pragma once
// Reads windows of any raster GDAL can open, as float32, plus validity masks and cheap percentiles.
//
// Thread rules: a RasterReader owns one GDALDataset handle and must be used by one thread at a
// time (GDAL 3.6 handles are not thread-safe). Readers on several threads each open their own
// RasterReader on the same path; info() values are plain data and may be copied anywhere.
#include "io/GeoReference.hpp"

#include <gdal_priv.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

struct BandInfo {
    GDALDataType data_type = GDT_Unknown;
    std::string data_type_name;         ///< "Byte", "UInt16", "Float32", ...
    std::optional<double> nodata;       ///< the band's nodata value, if set (may be NaN)
    int mask_flags = GMF_ALL_VALID;     ///< GDAL GMF_* flags of the band's mask
    int block_width = 0;
    int block_height = 0;
    GDALColorInterp color_interpretation = GCI_Undefined;
    std::string description;
    int nbits = 0;                      ///< significant bits declared by the file (IMAGE_STRUCTURE NBITS), 0 if none
    /// RGB colour table of a palette band (index -> {r, g, b}), empty when there is none.
    std::vector<std::array<uint8_t, 3>> palette;
};

struct RasterInfo {
    std::string path;
    int width = 0;
    int height = 0;
    std::vector<BandInfo> bands;  ///< bands[0] is GDAL band 1
    GeoReference georeference;
    std::string driver;           ///< GDAL short driver name, e.g. "GTiff", "PNG"
    int band_count() const { return static_cast<int>(bands.size()); }
    /// True when some band has nodata, an alpha band or a mask (not GMF_ALL_VALID).
    bool has_invalid_pixels_possible() const;
};

/// Float RGB image in [0,1], planar [3][height][width], for single-image `satsal explain`.
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<float> planar;  ///< size 3 * width * height; channel c, pixel (x,y) at (c*h + y)*w + x
    GeoReference georeference;
    std::string source_description;  ///< how the file was converted, e.g. "UInt16 RGB / 65535"
};

class RasterReader {
public:
    /// Opens read-only. IoError: "cannot open raster '<path>': file does not exist" or
    /// "'<path>' is not a raster GDAL can read (GDAL: ...)".
    explicit RasterReader(const std::string& path);
    ~RasterReader();
    RasterReader(RasterReader&&) noexcept;
    RasterReader& operator=(RasterReader&&) noexcept;
    RasterReader(const RasterReader&) = delete;
    RasterReader& operator=(const RasterReader&) = delete;

    const RasterInfo& info() const { return info_; }
    const std::string& path() const { return info_.path; }
    int width() const { return info_.width; }
    int height() const { return info_.height; }

    /// Values as stored (no scaling) converted to float32, planar [bands.size()][h][w].
    /// `bands` are 1-based GDAL band numbers in the order wanted (e.g. {3,2,1}). The window must
    /// lie inside the raster; IoError names the path, band list and window otherwise.
    std::vector<float> read_window(const std::vector<int>& bands, int x0, int y0, int w, int h) const;
    /// Same, into a caller buffer of bands.size()*w*h floats (no allocation in the hot path).
    void read_window_into(const std::vector<int>& bands, int x0, int y0, int w, int h, float* out) const;

    /// The same window converted to 8 bits by GDAL (values outside 0..255 clamped, non-integers
    /// rounded), pixel-interleaved [h][w][bands.size()], into a caller buffer. `bands` may not name
    /// a band twice (read it once and replicate).
    void read_window_bytes_into(const std::vector<int>& bands, int x0, int y0, int w, int h, uint8_t* out) const;
    /// Drops the blocks this reader's dataset holds in GDAL's block cache. A reader that streams a
    /// large raster once and keeps what it needs calls it after each read; the cache would
    /// otherwise grow with the raster (up to GDAL_CACHEMAX).
    void release_cached_blocks() const;

    /// 1 where the pixel holds data, 0 where it does not, [h][w]. Uses each band's GDAL mask
    /// (GetMaskBand: nodata value, alpha band, per-dataset mask, or all valid); a pixel is valid
    /// when every one of `bands` is valid there (empty `bands` = all bands), as GDAL's per-band
    /// masks (GMF_NODATA) and QGIS's multiband renderer have it: with a nodata value per band, a
    /// pixel at that value in one band lacks that band. A dataset-wide nodata (GDAL's
    /// NODATA_VALUES, GMF_PER_DATASET) masks only pixels where all bands match, by GDAL's mask.
    std::vector<uint8_t> read_valid_mask(const std::vector<int>& bands, int x0, int y0, int w, int h) const;
    /// True when no band of `bands` can have invalid pixels (all GMF_ALL_VALID): masks need no read.
    bool all_valid(const std::vector<int>& bands) const;

    /// Approximate lo/hi percentiles (in percent, e.g. 2 and 98) of one band's valid values
    /// (mask and NaN excluded), never from a full-resolution read of a large raster: with
    /// overviews (or for rasters up to 4 * max_side^2 pixels) from a decimated read into at most
    /// max_side x max_side samples; otherwise from at most 256 whole blocks on a stratified 16 x 16
    /// grid (a decimated read without overviews would decode every block). Percentiles
    /// interpolate linearly between order statistics. IoError when no valid sample is found.
    std::pair<double, double> approximate_percentiles(int band, double lo_pct, double hi_pct,
                                                      int max_side = 1024) const;

private:
    void check_bands(const std::vector<int>& bands) const;
    void check_window(int x0, int y0, int w, int h) const;
    GDALDatasetUniquePtr dataset_;
    RasterInfo info_;
};

/// Loads a whole (small) image as float RGB in [0,1], planar [3][H][W]:
///  - bands: 1 (gray, replicated to RGB; a palette band is expanded through its RGB colour
///    table), 3 (RGB), or 4 whose 4th band is alpha (alpha dropped);
///    anything else (2 bands, 4 without alpha, 5+) is an IoError naming the file and what was
///    expected (use a band selection for multispectral scenes);
///  - Byte: value / 255; UInt16: value / (2^NBITS - 1) when the file declares NBITS (e.g. 12-bit
///    data), else value / 65535 - a fixed rule so that the same sensor values always give the same
///    input (scene runs scale with `input_range`/`stretch` instead); Float32/Float64: values taken
///    as they are, and must already lie in [0,1] (IoError otherwise); other types are an IoError.
RgbImage load_rgb01(const std::string& path);

}  // namespace satsal
