#pragma once
// Where a raster's pixels are on the ground: GDAL's affine geotransform plus the CRS as WKT.
//
//   X = t[0] + col * t[1] + row * t[2]
//   Y = t[3] + col * t[4] + row * t[5]      (col, row at pixel corners; (0.5, 0.5) is pixel centre)
//
// A value type with no GDAL handle inside; safe to copy between threads.
#include <array>
#include <optional>
#include <string>

class GDALDataset;

namespace satsal {

struct GeoReference {
    /// GDAL's default (identity) transform: pixel coordinates.
    std::array<double, 6> transform{0.0, 1.0, 0.0, 0.0, 0.0, 1.0};
    /// False when the source had no geotransform (then `transform` is the identity, in pixels).
    bool has_transform = false;
    /// CRS as WKT (GDAL's export); empty when unknown.
    std::string crs_wkt;

    /// Both a geotransform and a CRS.
    bool georeferenced() const { return has_transform && !crs_wkt.empty(); }
    bool has_crs() const { return !crs_wkt.empty(); }
    /// No rotation/shear terms (t[2] == t[4] == 0): what CF 1-D x/y coordinates can express.
    bool north_up() const { return transform[2] == 0.0 && transform[4] == 0.0; }

    /// The georeference of a window whose pixel (0,0) is this raster's pixel (x0, y0).
    GeoReference window(double x0, double y0) const;
    /// The georeference of a map whose pixel (i,j) covers this raster's pixels
    /// [i*factor, (i+1)*factor) x [j*factor, (j+1)*factor): same origin, pixel size times factor.
    /// A layer map of stride s is `scaled(s)`; an output written 1/k as fine is `scaled(k)`.
    GeoReference scaled(double factor) const;

    /// CRS coordinates of a pixel position (corner convention: (0.5,0.5) is pixel (0,0)'s centre).
    double x_at(double col, double row) const { return transform[0] + col * transform[1] + row * transform[2]; }
    double y_at(double col, double row) const { return transform[3] + col * transform[4] + row * transform[5]; }

    /// |det| of the transform's linear part: pixel area in CRS units squared.
    double pixel_area_crs_units() const;
    /// Metres per CRS linear unit for projected CRSs (OSRGetLinearUnits); nullopt for geographic
    /// or unknown CRSs.
    std::optional<double> linear_unit_metres() const;
    /// True when the CRS is projected with a linear unit of exactly one metre.
    bool crs_in_metres() const;
    /// Pixel area in m^2 when the CRS is projected (any linear unit, converted); nullopt otherwise.
    std::optional<double> pixel_area_m2() const;

    /// Reads the geotransform and CRS of an open dataset.
    static GeoReference from_dataset(GDALDataset& dataset);
    /// Builds from an EPSG code (e.g. 32633) and a transform; throws IoError for unknown codes.
    static GeoReference from_epsg(int epsg, const std::array<double, 6>& transform);

    /// True when both describe the same CRS (OSR IsSame) and transforms agree within `tolerance`
    /// relative to the pixel size.
    bool same_as(const GeoReference& other, double tolerance = 1e-9) const;
};

/// True when two WKT strings describe the same CRS (both empty counts as same).
bool same_crs(const std::string& wkt_a, const std::string& wkt_b);

}  // namespace satsal
