#pragma once
// Streaming GeoTIFF writer for whole-scene outputs: windows are written as they are computed,
// the file is tiled and compressed, overviews are built at the end, and the file only appears
// under its final name once finish() succeeded.
//
// Layout: tiled (block_size x block_size), COMPRESS=DEFLATE (or ZSTD/LZW/NONE) with PREDICTOR=2
// for Byte and 3 for Float32, BIGTIFF=IF_SAFER, pixel interleaved, CRS + geotransform when known,
// nodata, band descriptions, metadata items, an alpha band when asked. finish() computes exact
// band statistics (STATISTICS_MINIMUM/MAXIMUM/MEAN/STDDEV in the file, so QGIS writes no
// .aux.xml; all-nodata bands get none), builds internal overviews at levels 2, 4, 8, ... until the
// smallest is at most 256 px on its longer side (AVERAGE by default), flushes and checks GDAL's
// error state (GDAL 3.6 has no error-returning Close), and renames `<final>.partial` to the final
// name. With `cog = true` the tiled file is staged as `<final>.uncog.partial` and finish() turns
// it into a Cloud Optimized GeoTIFF through the COG driver's CreateCopy (the only way the COG
// driver writes), which builds the overviews itself.
//
// Windows aligned to the block grid write each compressed block once; unaligned windows are
// correct but make GDAL re-encode partially written blocks. Memory stays bounded when windows come
// in raster order: a (single-band, or all-bands) window that ends a block row at the right edge
// flushes the completed blocks out of GDAL's block cache.
//
// Thread rules: one GeoTiffWriter owns one GDAL dataset handle; call it from one thread at a time
// (a serial writer stage). Different writers may run on different threads.
#include "io/AtomicFile.hpp"
#include "io/GeoReference.hpp"

#include <gdal_priv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

enum class SampleType { Byte, Float32 };

struct GeoTiffOptions {
    int block_size = 512;                    ///< tile width and height (multiple of 16)
    std::string compression = "DEFLATE";     ///< DEFLATE, ZSTD, LZW or NONE
    int compression_level = 0;               ///< ZLEVEL (DEFLATE 1-9) / ZSTD_LEVEL (1-22); 0 = GDAL default
    std::optional<double> nodata;            ///< written as the TIFF nodata tag for every band
    std::vector<std::string> band_descriptions;  ///< empty, or one per band
    bool overviews = true;                   ///< build internal overviews in finish()
    std::string overview_resampling = "AVERAGE";
    bool cog = false;                        ///< finish() writes a Cloud Optimized GeoTIFF
    bool rgb = false;                        ///< 3-band Byte written with PHOTOMETRIC=RGB
    bool alpha = false;                      ///< the last band is an (unassociated) alpha band
    bool statistics = true;                  ///< finish() embeds exact band statistics (STATISTICS_*)
};

class GeoTiffWriter {
public:
    /// Creates `<final_path>.partial`. IoError when the directory is missing, sizes or options
    /// are invalid, or GDAL cannot create the file (its message attached).
    GeoTiffWriter(const std::string& final_path, int width, int height, int band_count, SampleType type,
                  const GeoReference& georeference, GeoTiffOptions options = {});
    /// An unfinished writer deletes its temporary file(s): nothing appears at the final name.
    ~GeoTiffWriter();
    GeoTiffWriter(const GeoTiffWriter&) = delete;
    GeoTiffWriter& operator=(const GeoTiffWriter&) = delete;

    /// One band (1-based), row-major w*h values. Values are converted to the file's type by GDAL
    /// (Float32 -> Byte rounds and clamps to 0..255).
    void write_window(int band, int x0, int y0, int w, int h, const float* data);
    void write_window(int band, int x0, int y0, int w, int h, const uint8_t* data);
    /// All bands at once from planar data [band][h][w].
    void write_window_planar(int x0, int y0, int w, int h, const float* data);
    void write_window_planar(int x0, int y0, int w, int h, const uint8_t* data);
    /// All bands at once from pixel-interleaved data [h][w][band] (e.g. an RGB image).
    void write_window_interleaved(int x0, int y0, int w, int h, const uint8_t* data);

    /// A metadata item of the dataset (band 0) or of a band, e.g. TIFFTAG_SOFTWARE or a free
    /// key; written into the file (GDAL_METADATA / TIFF tags), kept by the COG conversion.
    void set_metadata(const std::string& name, const std::string& value, int band = 0);

    /// Overviews, flush, error check, optional COG conversion, rename. After an exception the
    /// writer is unusable and its temporary files are deleted.
    void finish();

    bool finished() const { return finished_; }
    const std::string& final_path() const { return output_.final_path(); }
    const std::string& temp_path() const;
    int width() const { return width_; }
    int height() const { return height_; }
    int band_count() const { return band_count_; }

    /// The overview factors finish() builds for a width x height raster: 2, 4, ... until the
    /// longer side of the smallest overview is <= 256; empty for rasters already <= 256.
    static std::vector<int> overview_factors(int width, int height);

private:
    void write(int band, int x0, int y0, int w, int h, const void* data, GDALDataType buffer_type,
               int pixel_space_items, int band_space_items, const char* what);
    void write_overviews(int band, int x0, int y0, int w, int h, const void* data, GDALDataType buffer_type,
                         int pixel_space_items, int band_space_items);
    void embed_statistics();
    void abandon() noexcept;

    AtomicFile output_;                       // the file renamed to the final name
    std::unique_ptr<AtomicFile> staging_;     // COG only: the tiled file the COG is copied from
    GDALDatasetUniquePtr dataset_;
    int width_;
    int height_;
    int band_count_;
    SampleType type_;
    GeoTiffOptions options_;
    bool finished_ = false;
    bool streamed_overviews_ = false;  // overview levels exist and follow the written windows
    bool overviews_stale_ = false;     // a window was not whole overview footprints: rebuild in finish()
};

}  // namespace satsal
