#include "io/Hdf5Writer.hpp"

// The georeferencing half of Hdf5Writer: grids, their CF coordinates and grid mappings (netCDF
// readers), and the ODIM-style /where group that GDAL's HDF5 driver reads.
#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <H5DSpublic.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <sstream>

namespace satsal {

namespace {

bool is_valid_grid_name(const std::string& name) {
    return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// Parses GDAL's netCDF metadata values: "15", "{0,255}" or text.
Hdf5Writer::CfAttribute parse_cf_value(const std::string& name, const std::string& value) {
    Hdf5Writer::CfAttribute a;
    a.name = name;
    std::string body = value;
    const bool list = body.size() >= 2 && body.front() == '{' && body.back() == '}';
    if (list) body = body.substr(1, body.size() - 2);
    std::vector<double> numbers;
    std::stringstream ss(body);
    std::string item;
    bool all_numbers = !body.empty();
    while (std::getline(ss, item, ',')) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (end == item.c_str() || *end != '\0') {
            all_numbers = false;
            break;
        }
        numbers.push_back(v);
    }
    if (all_numbers) {
        a.numeric = true;
        a.numbers = numbers;
    } else {
        a.text = value;
    }
    return a;
}

// The CF description GDAL's netCDF driver gives a CRS: the grid-mapping variable's attributes
// (grid_mapping_name and projection parameters) and the x/y coordinates' standard_name/units.
// GDAL 3.6 has no public CF export, so a 1x1 netCDF file is written next to the output with
// GDAL's own driver and its attributes are read back; the file is removed right away.
Hdf5Writer::CfDescription describe_crs_in_cf(const std::string& wkt, const std::string& scratch_path) {
    ensure_gdal_registered();
    Hdf5Writer::CfDescription out;
    GdalErrorCapture errors;
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDriver* netcdf = GetGDALDriverManager()->GetDriverByName("netCDF");
    if (mem == nullptr || netcdf == nullptr) {
        throw IoError("GDAL lacks the MEM or netCDF driver needed to describe the CRS in CF terms");
    }
    GDALDatasetUniquePtr src(mem->Create("", 2, 2, 1, GDT_Byte, nullptr));
    OGRSpatialReference srs;
    if (!src || srs.importFromWkt(wkt.c_str()) != OGRERR_NONE) {
        throw IoError("cannot parse the CRS for the netCDF grid mapping" + errors.suffix());
    }
    double t[6] = {0, 1, 0, 2, 0, -1};
    src->SetGeoTransform(t);
    src->SetSpatialRef(&srs);
    vsi_remove_quietly(scratch_path);
    GDALDatasetUniquePtr nc(netcdf->CreateCopy(scratch_path.c_str(), src.get(), FALSE, nullptr, nullptr, nullptr));
    if (!nc) {
        vsi_remove_quietly(scratch_path);
        throw IoError("cannot describe the CRS in CF terms (scratch file '" + scratch_path + "')" + errors.suffix());
    }
    nc.reset();
    nc.reset(GDALDataset::Open(scratch_path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    if (!nc) {
        vsi_remove_quietly(scratch_path);
        throw IoError("cannot reread the scratch netCDF file '" + scratch_path + "'" + errors.suffix());
    }
    const char* mapping = nc->GetMetadataItem("Band1#grid_mapping");
    const std::string mapping_prefix = std::string(mapping != nullptr ? mapping : "crs") + "#";
    const std::vector<std::string> skip = {"crs_wkt", "spatial_ref", "GeoTransform", "long_name"};
    char** md = nc->GetMetadata();
    for (int i = 0; md != nullptr && md[i] != nullptr; ++i) {
        const std::string item = md[i];
        const auto eq = item.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = item.substr(0, eq);
        const std::string value = item.substr(eq + 1);
        const auto hash = key.find('#');
        if (hash == std::string::npos) continue;
        const std::string var = key.substr(0, hash + 1);
        const std::string attr = key.substr(hash + 1);
        if (var == mapping_prefix) {
            if (std::find(skip.begin(), skip.end(), attr) == skip.end()) {
                out.grid_mapping.push_back(parse_cf_value(attr, value));
            }
        } else if ((var == "x#" || var == "lon#") && (attr == "standard_name" || attr == "units")) {
            out.x.push_back(parse_cf_value(attr, value));
            out.x.back().numeric = false;
            out.x.back().text = value;
        } else if ((var == "y#" || var == "lat#") && (attr == "standard_name" || attr == "units")) {
            out.y.push_back(parse_cf_value(attr, value));
            out.y.back().numeric = false;
            out.y.back().text = value;
        }
    }
    nc.reset();
    vsi_remove_quietly(scratch_path);
    vsi_remove_quietly(scratch_path + ".aux.xml");
    return out;
}

std::string wkt1_of(const std::string& wkt) {
    OGRSpatialReference srs;
    GdalErrorCapture errors;
    if (srs.importFromWkt(wkt.c_str()) != OGRERR_NONE) throw IoError("cannot parse the CRS WKT" + errors.suffix());
    char* out = nullptr;
    srs.exportToWkt(&out);  // WKT1 (GDAL's default): what CF crs_wkt readers expect
    std::string s = out != nullptr ? out : "";
    CPLFree(out);
    return s;
}

}  // namespace

void Hdf5Writer::write_grid_mapping(const std::string& name, const GeoReference& geo) {
    Hdf5ErrorCapture errors;
    const std::string path = "/" + name;
    Hdf5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Hdf5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    Hdf5Handle crs(H5Dcreate2(file_.get(), name.c_str(), H5T_STD_I32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                              H5P_DEFAULT),
                   H5Dclose);
    const int zero = 0;
    if (!crs.valid() || H5Dwrite(crs.get(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &zero) < 0) {
        throw IoError("cannot create the grid mapping variable " + where(path) + errors.suffix());
    }
    for (const CfAttribute& a : cf_.grid_mapping) {
        if (a.numeric) {
            const hsize_t n = a.numbers.size();
            Hdf5Handle aspace(H5Screate_simple(1, &n, nullptr), H5Sclose);
            Hdf5Handle attr(H5Acreate2(crs.get(), a.name.c_str(), H5T_IEEE_F64LE, aspace.get(), H5P_DEFAULT, H5P_DEFAULT),
                            H5Aclose);
            if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, a.numbers.data()) < 0) {
                throw IoError("cannot write attribute '" + a.name + "' on " + where(path) + errors.suffix());
            }
        } else {
            set_fixed_string_attribute(crs.get(), a.name, a.text, path);
        }
    }
    set_fixed_string_attribute(crs.get(), "long_name", "CRS definition", path);
    set_fixed_string_attribute(crs.get(), "crs_wkt", crs_wkt1_, path);
    set_fixed_string_attribute(crs.get(), "spatial_ref", crs_wkt1_, path);
    if (geo.has_transform) {
        // GDAL's own convention. Its netCDF driver recognises 1-D coordinates only under names
        // like x/y, not x_L2/y_L2 in a parent group, and then falls back to this attribute: it
        // is what georeferences /layers/Lk for GDAL (CF readers use the coordinates).
        std::ostringstream gt;
        gt.precision(17);
        for (double v : geo.transform) gt << v << ' ';
        set_fixed_string_attribute(crs.get(), "GeoTransform", gt.str(), path);
    }
}

void Hdf5Writer::write_coordinate(const std::string& name, const std::vector<double>& values, Axis axis,
                                  const GeoReference& geo) {
    Hdf5ErrorCapture errors;
    const hsize_t n = values.size();
    Hdf5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    Hdf5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    Hdf5Handle id(H5Dcreate2(file_.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose);
    if (!id.valid() || H5Dwrite(id.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0 ||
        H5DSset_scale(id.get(), name.c_str()) < 0) {
        throw IoError("cannot write coordinate variable " + where("/" + name) + errors.suffix());
    }
    if (axis == Axis::Channel) {
        set_fixed_string_attribute(id.get(), "long_name", "channel number (1-based)", "/" + name);
    } else {
        const bool is_x = axis == Axis::X;
        if (geo.has_crs()) {
            for (const CfAttribute& a : is_x ? cf_.x : cf_.y) set_fixed_string_attribute(id.get(), a.name, a.text, "/" + name);
        }
        set_fixed_string_attribute(id.get(), "axis", is_x ? "X" : "Y", "/" + name);
        set_fixed_string_attribute(id.get(), "long_name",
                                   std::string(is_x ? "x" : "y") + " coordinate of pixel centres", "/" + name);
    }
    coordinates_[name] = std::move(id);
}

void Hdf5Writer::define_grid(const std::string& name, int64_t width, int64_t height, const GeoReference& geo) {
    check_open("define_grid");
    const std::string label = name.empty() ? "input grid" : "grid '" + name + "'";
    if (!is_valid_grid_name(name)) {
        throw IoError("HDF5 '" + output_.final_path() + "': grid name '" + name + "' must be letters, digits or _");
    }
    if (grids_.count(name) != 0) throw IoError("HDF5 '" + output_.final_path() + "': " + label + " defined twice");
    if (width <= 0 || height <= 0) {
        throw IoError("HDF5 '" + output_.final_path() + "': " + label + " has invalid size " + std::to_string(width) +
                      "x" + std::to_string(height));
    }
    Grid g;
    g.width = width;
    g.height = height;
    g.geo = geo;
    if (geo.has_crs()) {
        if (crs_wkt_.empty()) {
            crs_wkt1_ = wkt1_of(geo.crs_wkt);
            cf_ = describe_crs_in_cf(geo.crs_wkt, output_.temp_path() + ".cf.nc");
            crs_wkt_ = geo.crs_wkt;
        } else if (!same_crs(crs_wkt_, geo.crs_wkt)) {
            throw IoError("HDF5 '" + output_.final_path() + "': " + label +
                          " has a different CRS from the grids defined before; one file holds one CRS");
        }
        g.grid_mapping = name.empty() ? "crs" : "crs_" + name;
        write_grid_mapping(g.grid_mapping, geo);
    }
    if (geo.has_transform && geo.north_up()) {
        g.x_name = name.empty() ? "x" : "x_" + name;
        g.y_name = name.empty() ? "y" : "y_" + name;
        std::vector<double> xs(static_cast<std::size_t>(width));
        std::vector<double> ys(static_cast<std::size_t>(height));
        for (int64_t i = 0; i < width; ++i) xs[i] = geo.x_at(static_cast<double>(i) + 0.5, 0.5);
        for (int64_t j = 0; j < height; ++j) ys[j] = geo.y_at(0.5, static_cast<double>(j) + 0.5);
        write_coordinate(g.x_name, xs, Axis::X, geo);
        write_coordinate(g.y_name, ys, Axis::Y, geo);
    }
    if (name.empty()) write_hdf5_driver_corners(width, height, geo);
    grids_[name] = std::move(g);
}

void Hdf5Writer::write_hdf5_driver_corners(int64_t width, int64_t height, const GeoReference& geo) {
    // GDAL's HDF5 driver (what opens a .h5 by its plain path) ignores CF. It georeferences a
    // dataset from ODIM_H5's /where group: `projdef` (a PROJ string) and the lower-left and
    // upper-right corners in longitude/latitude, from which it derives a north-up geotransform
    // for the dataset's size. The corners are computed here with the SRS parsed back from that
    // very PROJ string, so GDAL's inverse transform lands on our corners (to ~1e-9 m).
    const auto& t = geo.transform;
    if (!geo.georeferenced() || !geo.north_up() || t[1] <= 0 || t[5] >= 0) return;
    GdalErrorCapture errors;
    OGRSpatialReference srs;
    char* proj4 = nullptr;
    if (srs.importFromWkt(geo.crs_wkt.c_str()) != OGRERR_NONE || srs.exportToProj4(&proj4) != OGRERR_NONE ||
        proj4 == nullptr) {
        CPLFree(proj4);
        set_fixed_string_attribute(file_.get(), "where_missing", "no PROJ string for the CRS" + errors.suffix(), "/");
        return;
    }
    const std::string projdef = proj4;
    CPLFree(proj4);
    OGRSpatialReference from, wgs84;
    from.importFromProj4(projdef.c_str());
    wgs84.SetWellKnownGeogCS("WGS84");
    from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> to_wgs84(OGRCreateCoordinateTransformation(&from, &wgs84));
    double xs[2] = {t[0], t[0] + static_cast<double>(width) * t[1]};
    double ys[2] = {t[3] + static_cast<double>(height) * t[5], t[3]};
    if (!to_wgs84 || !to_wgs84->Transform(2, xs, ys)) {
        set_fixed_string_attribute(file_.get(), "where_missing", "the corners have no longitude/latitude" + errors.suffix(), "/");
        return;
    }
    create_group("/where");
    const char* names[4] = {"LL_lon", "LL_lat", "UR_lon", "UR_lat"};
    const double values[4] = {xs[0], ys[0], xs[1], ys[1]};
    Hdf5Handle where_group(H5Oopen(file_.get(), "/where", H5P_DEFAULT), H5Oclose);
    set_fixed_string_attribute(where_group.get(), "projdef", projdef, "/where");
    for (int i = 0; i < 4; ++i) {
        char text[40];
        std::snprintf(text, sizeof text, "%.17g", values[i]);  // text: GDAL prints numbers with %g
        set_fixed_string_attribute(where_group.get(), names[i], text, "/where");
    }
    set_fixed_string_attribute(where_group.get(), "description",
                               "ODIM_H5-style corners for GDAL's HDF5 driver (the CF grid mappings are exact)",
                               "/where");
}

}  // namespace satsal
