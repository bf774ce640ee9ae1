#include "pipeline/Quicklook.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"
#include "io/PngWriter.hpp"
#include "pipeline/QuicklookLegend.hpp"
#include "saliency/Lovi.hpp"
#include "tiling/TileGrid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

namespace satsal {

Quicklook::Quicklook(int64_t out_width, int64_t out_height, int64_t output_scale)
    : factor_(std::max<int64_t>(1, ceil_div(std::max(out_width, out_height), 1024))),
      scene_factor_(factor_ * output_scale),
      combined_(ceil_div(out_width, factor_), ceil_div(out_height, factor_), std::nanf("")),
      rgb_(static_cast<std::size_t>(combined_.size() * 3), 0) {}

void Quicklook::sample_input(const Window& core, const Window& window, const float* unit, int64_t bands) {
    const int64_t w = combined_.width, h = combined_.height;
    for (int64_t qy = ceil_div(core.y, scene_factor_); qy < h && qy * scene_factor_ < core.y_end(); ++qy) {
        for (int64_t qx = ceil_div(core.x, scene_factor_); qx < w && qx * scene_factor_ < core.x_end(); ++qx) {
            const int64_t at = (qy * scene_factor_ - window.y) * window.width + (qx * scene_factor_ - window.x);
            for (int64_t b = 0; b < 3; ++b) {
                const float v = unit[std::min(b, bands - 1) * window.area() + at];
                rgb_[static_cast<std::size_t>((qy * w + qx) * 3 + b)] = static_cast<uint8_t>(std::lround(255.0f * v));
            }
        }
    }
}

void Quicklook::sample_combined(int64_t x0, int64_t y0, const Map& block) {
    for (int64_t qy = ceil_div(y0, factor_); qy * factor_ < y0 + block.height && qy < combined_.height; ++qy) {
        for (int64_t qx = ceil_div(x0, factor_); qx * factor_ < x0 + block.width && qx < combined_.width; ++qx) {
            combined_.at(qx, qy) = block.at(qx * factor_ - x0, qy * factor_ - y0);
        }
    }
}

GeoReference Quicklook::georeference(const GeoReference& scene_geo) const {
    return scene_geo.scaled(static_cast<double>(scene_factor_));
}

void Quicklook::write_png(const std::string& path, const GeoReference& scene_geo, const std::string& world_file,
                          const std::string& aux_xml) const {
    const std::vector<uint8_t> overlay = overlay_rgb(combined_, rgb_);
    const int width = static_cast<int>(combined_.width), height = static_cast<int>(combined_.height);
    int strip_height = 0;
    const std::vector<uint8_t> strip = heat_legend_strip(width, strip_height);
    std::vector<uint8_t> rgba(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4);
    for (std::size_t i = 0; i < static_cast<std::size_t>(combined_.size()); ++i) {
        std::copy(overlay.begin() + 3 * i, overlay.begin() + 3 * i + 3, rgba.begin() + 4 * i);
        rgba[4 * i + 3] = std::isnan(combined_.values[i]) ? 0 : 255;
    }
    rgba.insert(rgba.end(), strip.begin(), strip.end());
    satsal::write_png(path, width, height + strip_height, 4, rgba.data());

    const GeoReference geo = georeference(scene_geo);
    if (!world_file.empty() && geo.has_transform) {
        // The world file locates pixel centres: A, D, B, E, C, F.
        const auto& t = geo.transform;
        char text[256];
        std::snprintf(text, sizeof text, "%.17g\n%.17g\n%.17g\n%.17g\n%.17g\n%.17g\n", t[1], t[4], t[2], t[5],
                      t[0] + 0.5 * t[1] + 0.5 * t[2], t[3] + 0.5 * t[4] + 0.5 * t[5]);
        write_text_file(world_file, text);
    }
    if (!aux_xml.empty() && geo.georeferenced()) {
        // GDAL's own PAM writer makes the .aux.xml: the PNG opened read-only takes the CRS.
        ensure_gdal_registered();
        GdalErrorCapture errors;
        OGRSpatialReference srs;
        srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        GDALDatasetUniquePtr png(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
        if (!png || srs.importFromWkt(geo.crs_wkt.c_str()) != OGRERR_NONE || png->SetSpatialRef(&srs) != CE_None) {
            throw IoError("quicklook '" + path + "': cannot record its CRS in " + aux_xml + errors.suffix());
        }
        png.reset();
        if (!vsi_exists(aux_xml)) throw IoError("quicklook '" + path + "': GDAL wrote no " + aux_xml + errors.suffix());
    }
}

}  // namespace satsal
