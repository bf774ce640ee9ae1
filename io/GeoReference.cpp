#include "io/GeoReference.hpp"

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>

namespace satsal {

GeoReference GeoReference::window(double x0, double y0) const {
    GeoReference out = *this;
    out.transform[0] = x_at(x0, y0);
    out.transform[3] = y_at(x0, y0);
    return out;
}

GeoReference GeoReference::scaled(double factor) const {
    if (!(factor > 0.0)) throw IoError("GeoReference::scaled: factor must be > 0, got " + std::to_string(factor));
    GeoReference out = *this;
    for (int i : {1, 2, 4, 5}) out.transform[i] *= factor;
    return out;
}

double GeoReference::pixel_area_crs_units() const {
    return std::fabs(transform[1] * transform[5] - transform[2] * transform[4]);
}

namespace {
bool import_wkt(OGRSpatialReference& srs, const std::string& wkt) {
    if (wkt.empty()) return false;
    GdalErrorCapture quiet;
    return srs.importFromWkt(wkt.c_str()) == OGRERR_NONE;
}
}  // namespace

std::optional<double> GeoReference::linear_unit_metres() const {
    OGRSpatialReference srs;
    if (!import_wkt(srs, crs_wkt) || !srs.IsProjected()) return std::nullopt;
    return srs.GetLinearUnits(nullptr);
}

bool GeoReference::crs_in_metres() const {
    const auto unit = linear_unit_metres();
    return unit.has_value() && *unit == 1.0;
}

std::optional<double> GeoReference::pixel_area_m2() const {
    const auto unit = linear_unit_metres();
    if (!unit || !has_transform) return std::nullopt;
    return pixel_area_crs_units() * (*unit) * (*unit);
}

GeoReference GeoReference::from_dataset(GDALDataset& dataset) {
    GeoReference geo;
    double t[6];
    {
        GdalErrorCapture quiet;  // "no geotransform" is not an error for us
        if (dataset.GetGeoTransform(t) == CE_None) {
            std::copy(t, t + 6, geo.transform.begin());
            geo.has_transform = true;
        }
    }
    if (const OGRSpatialReference* srs = dataset.GetSpatialRef()) {
        char* wkt = nullptr;
        const char* options[] = {"FORMAT=WKT2_2019", nullptr};
        if (srs->exportToWkt(&wkt, options) == OGRERR_NONE && wkt != nullptr) geo.crs_wkt = wkt;
        CPLFree(wkt);
    }
    return geo;
}

GeoReference GeoReference::from_epsg(int epsg, const std::array<double, 6>& transform) {
    OGRSpatialReference srs;
    GdalErrorCapture errors;
    if (srs.importFromEPSG(epsg) != OGRERR_NONE) {
        throw IoError("unknown EPSG code " + std::to_string(epsg) + errors.suffix());
    }
    char* wkt = nullptr;
    const char* options[] = {"FORMAT=WKT2_2019", nullptr};
    srs.exportToWkt(&wkt, options);
    GeoReference geo;
    geo.transform = transform;
    geo.has_transform = true;
    geo.crs_wkt = wkt != nullptr ? wkt : "";
    CPLFree(wkt);
    return geo;
}

bool same_crs(const std::string& wkt_a, const std::string& wkt_b) {
    if (wkt_a.empty() || wkt_b.empty()) return wkt_a.empty() && wkt_b.empty();
    OGRSpatialReference a;
    OGRSpatialReference b;
    if (!import_wkt(a, wkt_a) || !import_wkt(b, wkt_b)) return false;
    const char* options[] = {"IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", "CRITERION=EQUIVALENT", nullptr};
    return a.IsSame(&b, options) != 0;
}

bool GeoReference::same_as(const GeoReference& other, double tolerance) const {
    if (has_transform != other.has_transform) return false;
    if (!same_crs(crs_wkt, other.crs_wkt)) return false;
    const double scale = std::max({std::fabs(transform[1]), std::fabs(transform[5]), 1e-300});
    for (int i = 0; i < 6; ++i) {
        if (std::fabs(transform[i] - other.transform[i]) > tolerance * scale) return false;
    }
    return true;
}

}  // namespace satsal
