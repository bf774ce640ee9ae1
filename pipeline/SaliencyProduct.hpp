#pragma once
// Stage: the saliency product of `explain` and `run`, one writer for both.
//
//   saliency.tif        the combined map, Float32
//   lovi.tif            LOVI RGB Byte + alpha band (0 where the saliency is nodata) (run; explain
//                       writes lovi.png itself)
//   layer_L<k>.tif      normalized layer maps at native resolution (when asked)
//   saliency.qml        QGIS styles picked up with the rasters (when asked): viridis over [0,1];
//   lovi.qml            LOVI as multiband colour with its alpha band
//   lovi_legend.png     the LOVI key (with lovi.tif; QuicklookLegend.hpp)
// Every GeoTIFF carries TIFFTAG_SOFTWARE/DATETIME, model_sha256, taps, strides, statistic, norm,
// weights (layer tifs also tap, stride) and embedded band statistics.
//   saliency.h5         /combined float32 [H,W], /lovi uint8 [3,H,W], /layers/L<k> (raw statistic),
//                       /layers_normalized/L<k>, CF georeferencing per grid, root attributes
//                       statistic, normalization, [normalize], weights, taps, strides,
//                       model_sha256, satsal_version, input, [output_scale]; CF-1.8: global
//                       Conventions, title, history, date_created, source, references; per
//                       variable long_name, units, description, valid_range (normalized maps),
//                       tap, stride, tap_stride [, resampled] (layer variables); /where corners for
//                       GDAL's HDF5 driver (io/Hdf5Writer.hpp)
//
// Lifecycle: the constructor creates every file in the staging folder (options -> prepare);
// write_block / write_layer_block stream windows in any order (run); finish() sets the
// attributes and closes every file (overviews, checks, renames inside the staging folder); the
// staging commit moves them into place.
//
// Thread rules: one thread at a time (GDAL and HDF5 handles are not shared).
#include "io/GeoReference.hpp"
#include "io/GeoTiffWriter.hpp"
#include "io/Hdf5Writer.hpp"
#include "tiling/Window.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace satsal {

class OutputStaging;

struct ProductLayer {
    std::string tap;     // tap module name
    int64_t stride = 0;  // of the layer grid
    int64_t width = 0, height = 0;
    GeoReference geo;    // the input's georeference scaled by the stride
    int64_t tap_stride = 0;  // the tap's own stride when it was resampled onto `stride` (0: the same)
};

struct SaliencyProductOptions {
    int64_t width = 0, height = 0;  // the combined map's grid
    GeoReference geo;
    std::vector<ProductLayer> layers;
    GeoTiffOptions combined_tiff;                // saliency.tif
    std::optional<GeoTiffOptions> lovi_tiff;     // lovi.tif when set
    std::optional<GeoTiffOptions> layer_tiffs;   // layer_L<k>.tif when set (band description per layer)
    int h5_deflate_level = 4;                    // 0: chunked, uncompressed
    bool qgis_styles = false;                    // saliency.qml (and lovi.qml with lovi.tif) beside them
};

/// saliency.h5's root attributes (the optional ones are written only when set).
struct SaliencyAttributes {
    std::string statistic;
    std::string normalization;
    std::optional<std::string> normalize;  // run: "scene" or "tile"
    std::vector<double> weights;
    std::vector<std::string> taps;
    std::vector<int64_t> strides;      // of the layer grids
    std::vector<int64_t> tap_strides;  // the taps' own strides when some were resampled (else empty)
    std::string model_sha256;
    std::string input;
    std::optional<int64_t> output_scale;  // run
    std::optional<std::string> method;    // run with config `method`: GeoTIFF metadata `method`
};

class SaliencyProduct {
public:
    SaliencyProduct(OutputStaging& staging, const SaliencyProductOptions& options);
    ~SaliencyProduct();

    /// A window of the combined map (w*h floats) and of LOVI (w*h*3 interleaved bytes).
    /// shown: what saliency.tif holds instead of the combined map (explain --method), or nullptr.
    void write_block(const Window& window, const float* combined, const uint8_t* lovi,
                     const float* shown = nullptr);
    /// write_block in two halves that may run at the same time on different threads (each half
    /// from one thread at a time): the GeoTIFFs (saliency.tif, lovi.tif), and saliency.h5.
    void write_block_tiffs(const Window& window, const float* combined, const uint8_t* lovi,
                           const float* shown = nullptr);
    void write_block_h5(const Window& window, const float* combined, const uint8_t* lovi);
    /// A window of layer k: the raw statistic and the normalized map (w*h floats each).
    void write_layer_block(std::size_t k, const Window& window, const float* raw, const float* normalized);
    /// Attributes, then overviews and closing of every file: the GeoTIFFs and the LOVI legend in
    /// parallel (TBB tasks), saliency.h5 and the styles on the calling thread.
    void finish(const SaliencyAttributes& attributes);
    /// saliency.h5, for datasets beyond this layout (explain --method: methods/MethodRun.hpp);
    /// use before finish().
    Hdf5Writer& h5() { return *h5_; }

private:
    std::unique_ptr<GeoTiffWriter> saliency_tif_;
    std::unique_ptr<GeoTiffWriter> lovi_tif_;
    std::vector<std::unique_ptr<GeoTiffWriter>> layer_tifs_;
    std::unique_ptr<Hdf5Writer> h5_;
    std::vector<ProductLayer> layers_;
    std::vector<uint8_t> lovi_rgba_;                           // a block of lovi.tif with its alpha band
    std::vector<std::pair<std::string, std::string>> styles_;  // QGIS .qml files: path, text
    std::string lovi_legend_;                                  // lovi_legend.png beside lovi.tif
};

}  // namespace satsal
