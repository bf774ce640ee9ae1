#include "pipeline/SaliencyProduct.hpp"

#include "pipeline/OutputStaging.hpp"
#include "pipeline/QuicklookLegend.hpp"
#include "pipeline/Version.hpp"
#include "io/AtomicFile.hpp"

#include <oneapi/tbb/task_group.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <iterator>

namespace satsal {
namespace {

std::string layer_name(std::size_t k) { return "L" + std::to_string(k + 1); }

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

std::string join_numbers(const std::vector<double>& values) {
    std::string out;
    char text[32];
    for (double v : values) {
        std::snprintf(text, sizeof text, "%.17g", v);
        out += (out.empty() ? "" : ",") + std::string(text);
    }
    return out;
}

std::string join_numbers(const std::vector<int64_t>& values) {
    std::string out;
    for (int64_t v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
    return out;
}

/// The current UTC time in strftime `format`.
std::string utc_now(const char* format) {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[64];
    std::strftime(text, sizeof text, format, &utc);
    return text;
}

// Perceptual ramp for saliency.qml: matplotlib's viridis sampled at 0, 0.25, 0.5, 0.75, 1.
const char* const kViridisStops[][2] = {
    {"0", "#440154"}, {"0.25", "#3b528b"}, {"0.5", "#21918c"}, {"0.75", "#5ec962"}, {"1", "#fde725"}};


/// QGIS style for saliency.tif: singleband pseudocolor, viridis over [0, 1], nodata transparent.
std::string saliency_qml() {
    std::string items, stops;
    for (const auto& stop : kViridisStops) {
        items += std::string("          <item alpha=\"255\" value=\"") + stop[0] + "\" label=\"" + stop[0] +
                 "\" color=\"" + stop[1] + "\"/>\n";
    }
    std::string ramp_stops;
    for (std::size_t i = 1; i + 1 < std::size(kViridisStops); ++i) {
        ramp_stops += std::string(ramp_stops.empty() ? "" : ":") + kViridisStops[i][0] + ";" + kViridisStops[i][1];
    }
    return std::string("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n") +
           "<qgis version=\"3.22.0\" styleCategories=\"AllStyleCategories\">\n"
           "  <pipe>\n"
           "    <rasterrenderer type=\"singlebandpseudocolor\" band=\"1\" opacity=\"1\" alphaBand=\"-1\""
           " classificationMin=\"0\" classificationMax=\"1\" nodataColor=\"\">\n"
           "      <rastershader>\n"
           "        <colorrampshader colorRampType=\"INTERPOLATED\" classificationMode=\"1\" clip=\"0\""
           " minimumValue=\"0\" maximumValue=\"1\">\n"
           "          <colorramp type=\"gradient\" name=\"[source]\">\n"
           "            <Option type=\"Map\">\n"
           "              <Option type=\"QString\" name=\"color1\" value=\"" + kViridisStops[0][1] + "\"/>\n"
           "              <Option type=\"QString\" name=\"color2\" value=\"" +
           kViridisStops[std::size(kViridisStops) - 1][1] + "\"/>\n"
           "              <Option type=\"QString\" name=\"discrete\" value=\"0\"/>\n"
           "              <Option type=\"QString\" name=\"rampType\" value=\"gradient\"/>\n"
           "              <Option type=\"QString\" name=\"stops\" value=\"" + ramp_stops + "\"/>\n"
           "            </Option>\n"
           "          </colorramp>\n" +
           items +
           "        </colorrampshader>\n"
           "      </rastershader>\n"
           "    </rasterrenderer>\n"
           "  </pipe>\n"
           "  <blendMode>0</blendMode>\n"
           "</qgis>\n";
}

/// QGIS style for lovi.tif: multiband colour from bands 1-3, transparency from band 4 (alpha).
std::string lovi_qml() {
    std::string text = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
                       "<qgis version=\"3.22.0\" styleCategories=\"AllStyleCategories\">\n"
                       "  <pipe>\n"
                       "    <rasterrenderer type=\"multibandcolor\" redBand=\"1\" greenBand=\"2\" blueBand=\"3\""
                       " alphaBand=\"4\" opacity=\"1\">\n";
    // No stretch: LOVI bytes are the colours (hue = layer, saturation = uniqueness, value = strength).
    for (const char* colour : {"red", "green", "blue"}) {
        text += std::string("      <") + colour + "ContrastEnhancement>\n"
                "        <minValue>0</minValue>\n        <maxValue>255</maxValue>\n"
                "        <algorithm>NoEnhancement</algorithm>\n"
                "      </" + colour + "ContrastEnhancement>\n";
    }
    return text + "    </rasterrenderer>\n  </pipe>\n  <blendMode>0</blendMode>\n</qgis>\n";
}

/// "tap layer4 (stride 32) resampled onto the stride-16 grid".
std::string resampled_note(const ProductLayer& layer) {
    return "tap " + layer.tap + " (stride " + std::to_string(layer.tap_stride) + ") resampled onto the stride-" +
           std::to_string(layer.stride) + " grid";
}

}  // namespace

SaliencyProduct::SaliencyProduct(OutputStaging& staging, const SaliencyProductOptions& o) : layers_(o.layers) {
    const int width = static_cast<int>(o.width), height = static_cast<int>(o.height);
    saliency_tif_ = std::make_unique<GeoTiffWriter>(staging.path("saliency.tif"), width, height, 1,
                                                    SampleType::Float32, o.geo, o.combined_tiff);
    if (o.lovi_tiff) {
        // A 4th, alpha band: transparent where the saliency is nodata (QGIS, GDAL -dstalpha).
        GeoTiffOptions lovi = *o.lovi_tiff;
        lovi.alpha = true;
        if (lovi.band_descriptions.size() == 3) lovi.band_descriptions.push_back("alpha: 0 where the saliency is nodata");
        lovi_tif_ = std::make_unique<GeoTiffWriter>(staging.path("lovi.tif"), width, height, 4, SampleType::Byte,
                                                    o.geo, lovi);
    }
    if (o.qgis_styles) {
        styles_.emplace_back(staging.path("saliency.qml"), saliency_qml());
        if (o.lovi_tiff) styles_.emplace_back(staging.path("lovi.qml"), lovi_qml());
    }
    if (o.lovi_tiff) lovi_legend_ = staging.path("lovi_legend.png");
    if (o.layer_tiffs) {
        for (std::size_t k = 0; k < o.layers.size(); ++k) {
            const ProductLayer& layer = o.layers[k];
            GeoTiffOptions options = *o.layer_tiffs;
            options.band_descriptions = {"layer " + layer_name(k) + " (" + layer.tap + ", stride " +
                                         std::to_string(layer.stride) + "), normalized"};
            layer_tifs_.push_back(std::make_unique<GeoTiffWriter>(
                staging.path("layer_" + layer_name(k) + ".tif"), static_cast<int>(layer.width),
                static_cast<int>(layer.height), 1, SampleType::Float32, layer.geo, options));
        }
    }
    h5_ = std::make_unique<Hdf5Writer>(staging.path("saliency.h5"), o.h5_deflate_level);
    h5_->define_grid("", o.width, o.height, o.geo);
    h5_->create_group("/layers");
    h5_->create_group("/layers_normalized");
    h5_->create_float_map("/combined", "");
    h5_->create_byte_image("/lovi", "", 3);
    for (std::size_t k = 0; k < o.layers.size(); ++k) {
        const std::string name = layer_name(k);
        h5_->define_grid(name, o.layers[k].width, o.layers[k].height, o.layers[k].geo);
        h5_->create_float_map("/layers/" + name, name);
        h5_->create_float_map("/layers_normalized/" + name, name);
    }
}

SaliencyProduct::~SaliencyProduct() = default;

void SaliencyProduct::write_block(const Window& window, const float* combined, const uint8_t* lovi,
                                  const float* shown) {
    write_block_tiffs(window, combined, lovi, shown);
    write_block_h5(window, combined, lovi);
}

void SaliencyProduct::write_block_tiffs(const Window& window, const float* combined, const uint8_t* lovi,
                                        const float* shown) {
    const int x = static_cast<int>(window.x), y = static_cast<int>(window.y);
    const int w = static_cast<int>(window.width), h = static_cast<int>(window.height);
    saliency_tif_->write_window(1, x, y, w, h, shown ? shown : combined);
    if (lovi_tif_) {
        const std::size_t pixels = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
        lovi_rgba_.resize(pixels * 4);
        for (std::size_t i = 0; i < pixels; ++i) {
            std::copy(lovi + 3 * i, lovi + 3 * i + 3, lovi_rgba_.begin() + 4 * i);
            lovi_rgba_[4 * i + 3] = std::isnan(combined[i]) ? 0 : 255;
        }
        lovi_tif_->write_window_interleaved(x, y, w, h, lovi_rgba_.data());
    }
}

void SaliencyProduct::write_block_h5(const Window& window, const float* combined, const uint8_t* lovi) {
    h5_->write_window("/combined", window.x, window.y, window.width, window.height, combined);
    h5_->write_window("/lovi", window.x, window.y, window.width, window.height, lovi);
}

void SaliencyProduct::write_layer_block(std::size_t k, const Window& window, const float* raw,
                                        const float* normalized) {
    const std::string name = layer_name(k);
    h5_->write_window("/layers/" + name, window.x, window.y, window.width, window.height, raw);
    h5_->write_window("/layers_normalized/" + name, window.x, window.y, window.width, window.height, normalized);
    if (!layer_tifs_.empty()) {
        layer_tifs_[k]->write_window(1, static_cast<int>(window.x), static_cast<int>(window.y),
                                     static_cast<int>(window.width), static_cast<int>(window.height), normalized);
    }
}

void SaliencyProduct::finish(const SaliencyAttributes& a) {
    const std::string software = "satsal " + satsal_version();
    const std::string created = utc_now("%Y-%m-%dT%H:%M:%SZ");
    const std::string input_name = std::filesystem::path(a.input).filename().string();
    const std::string method = a.statistic + " statistic per layer, " + a.normalization +
                               " normalization to [0,1], combined with weights " + join_numbers(a.weights);

    // CF-1.8 description (global, then per variable).
    h5_->set_attribute("/", "Conventions", "CF-1.8");
    h5_->set_attribute("/", "title", "SMOE Scale saliency maps of " + (input_name.empty() ? a.input : input_name));
    h5_->set_attribute("/", "history", created + " " + software + ": " + method + ", input " + a.input);
    h5_->set_attribute("/", "date_created", created);
    h5_->set_attribute("/", "source", software);
    h5_->set_attribute("/", "references",
                       "Mundhenk, Chen, Friedland: Efficient Saliency Maps for Explainable AI (arXiv:1911.11293)");
    const std::vector<float> unit_range = {0.0f, 1.0f};
    h5_->set_attribute("/combined", "long_name", "combined saliency (weighted mean of the normalized layer maps)");
    h5_->set_attribute("/combined", "units", "1");
    h5_->set_float_attribute("/combined", "valid_range", unit_range);
    h5_->set_attribute("/combined", "description", "normalized, in [0,1]: " + method + "; NaN where the input is nodata");
    h5_->set_attribute("/lovi", "long_name", "LOVI layer-ordered visualization, 8-bit RGB (band-first: red, green, blue)");
    h5_->set_attribute("/lovi", "units", "1");
    h5_->set_attribute("/lovi", "description",
                       "hue = the layer whose saliency dominates, saturation = how unique it is among the layers, "
                       "value = strength; for display (lovi.tif is the GIS view)");
    for (std::size_t k = 0; k < layers_.size(); ++k) {
        const ProductLayer& layer = layers_[k];
        const std::string name = layer_name(k);
        const std::string raw = "/layers/" + name, normalized = "/layers_normalized/" + name;
        const std::string tap = " of tap " + layer.tap + " (stride " + std::to_string(layer.stride) + ")";
        h5_->set_attribute(raw, "long_name", "raw " + a.statistic + " statistic" + tap);
        h5_->set_attribute(raw, "units", "1");
        h5_->set_attribute(raw, "description", "raw statistic, not normalized: " + a.statistic +
                                                   " over the channels of the tap's activations");
        h5_->set_attribute(normalized, "long_name", "normalized saliency" + tap);
        h5_->set_attribute(normalized, "units", "1");
        h5_->set_float_attribute(normalized, "valid_range", unit_range);
        h5_->set_attribute(normalized, "description",
                           "normalized, in [0,1]: the raw " + a.statistic + " map after " + a.normalization + " normalization");
        const int64_t tap_stride = layer.tap_stride > 0 ? layer.tap_stride : layer.stride;
        for (const std::string& path : {raw, normalized}) {
            h5_->set_attribute(path, "tap", layer.tap);
            h5_->set_attribute(path, "stride", std::vector<int64_t>{layer.stride});
            h5_->set_attribute(path, "tap_stride", std::vector<int64_t>{tap_stride});
            if (tap_stride != layer.stride) h5_->set_attribute(path, "resampled", resampled_note(layer));
        }
    }

    // GeoTIFF metadata: TIFF tags, then free items (GDAL_METADATA) GIS users can read in gdalinfo.
    std::vector<GeoTiffWriter*> tiffs = {saliency_tif_.get()};
    if (lovi_tif_) tiffs.push_back(lovi_tif_.get());
    for (auto& tiff : layer_tifs_) tiffs.push_back(tiff.get());
    const std::string tiff_time = utc_now("%Y:%m:%d %H:%M:%S");
    for (GeoTiffWriter* tiff : tiffs) {
        tiff->set_metadata("TIFFTAG_SOFTWARE", software);
        tiff->set_metadata("TIFFTAG_DATETIME", tiff_time);
        tiff->set_metadata("model_sha256", a.model_sha256);
        tiff->set_metadata("taps", join(a.taps));
        tiff->set_metadata("strides", join_numbers(a.strides));
        tiff->set_metadata("statistic", a.statistic);
        tiff->set_metadata("norm", a.normalization);
        tiff->set_metadata("weights", join_numbers(a.weights));
        if (a.normalize) tiff->set_metadata("normalize", *a.normalize);
        if (a.method) tiff->set_metadata("method", *a.method);
    }
    std::string resampled;  // every resampled tap, for every GeoTIFF
    for (const ProductLayer& layer : layers_) {
        if (layer.tap_stride > 0 && layer.tap_stride != layer.stride) {
            resampled += (resampled.empty() ? "" : "; ") + resampled_note(layer);
        }
    }
    for (GeoTiffWriter* tiff : tiffs) {
        if (!a.tap_strides.empty()) tiff->set_metadata("tap_strides", join_numbers(a.tap_strides));
        if (!resampled.empty()) tiff->set_metadata("resampled", resampled);
    }
    for (std::size_t k = 0; k < layer_tifs_.size(); ++k) {
        layer_tifs_[k]->set_metadata("tap", layers_[k].tap);
        layer_tifs_[k]->set_metadata("stride", std::to_string(layers_[k].stride));
        if (layers_[k].tap_stride > 0) layer_tifs_[k]->set_metadata("tap_stride", std::to_string(layers_[k].tap_stride));
    }

    h5_->set_attribute("/", "statistic", a.statistic);
    h5_->set_attribute("/", "normalization", a.normalization);
    if (a.normalize) h5_->set_attribute("/", "normalize", *a.normalize);
    h5_->set_attribute("/", "weights", a.weights);
    h5_->set_attribute("/", "taps", join(a.taps));
    h5_->set_attribute("/", "strides", a.strides);
    if (!a.tap_strides.empty()) h5_->set_attribute("/", "tap_strides", a.tap_strides);
    if (!resampled.empty()) h5_->set_attribute("/", "resampled", resampled);
    h5_->set_attribute("/", "model_sha256", a.model_sha256);
    h5_->set_attribute("/", "satsal_version", satsal_version());
    h5_->set_attribute("/", "input", a.input);
    if (a.output_scale) h5_->set_attribute("/", "output_scale", std::vector<int64_t>{*a.output_scale});
    // Closing a GeoTIFF compresses its last blocks and overview blocks on one thread: the files
    // (independent GDAL datasets) close in parallel while HDF5 (not thread-safe) finishes here.
    tbb::task_group closing;
    for (GeoTiffWriter* tiff : tiffs) closing.run([tiff] { tiff->finish(); });
    if (!lovi_legend_.empty()) {
        closing.run([this] { write_lovi_legend(lovi_legend_, static_cast<int>(layers_.size())); });
    }
    try {
        h5_->finish();
        for (const auto& [path, text] : styles_) write_text_file(path, text);
    } catch (...) {
        try {
            closing.wait();
        } catch (...) {  // the HDF5 error is the one reported
        }
        throw;
    }
    closing.wait();  // rethrows the first GeoTIFF or legend error
}

}  // namespace satsal
