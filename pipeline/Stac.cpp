#include "pipeline/Stac.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/GeoReference.hpp"
#include "io/IoError.hpp"
#include "pipeline/RunReport.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace fs = std::filesystem;

namespace satsal {
namespace {

constexpr const char* kStacVersion = "1.0.0";
constexpr const char* kProjection = "https://stac-extensions.github.io/projection/v1.1.0/schema.json";

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

/// STAC's proj:transform [a, b, c, d, e, f] from GDAL's geotransform.
nlohmann::ordered_json stac_transform(const GeoReference& geo) {
    const auto& t = geo.transform;
    return nlohmann::ordered_json::array({t[1], t[2], t[0], t[4], t[5], t[3]});
}

struct RasterFacts {
    int64_t width = 0, height = 0;
    GeoReference geo;
};

RasterFacts raster_facts(const std::string& path) {
    ensure_gdal_registered();
    GdalErrorCapture errors;
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    if (!ds) throw IoError("STAC item: cannot open '" + path + "' to describe it" + errors.suffix());
    return {ds->GetRasterXSize(), ds->GetRasterYSize(), GeoReference::from_dataset(*ds)};
}

/// The footprint of a raster in WGS 84 longitude/latitude: its boundary with `steps` points per
/// edge, counter-clockwise (GeoJSON's right-hand rule for north-up rasters).
std::vector<std::array<double, 2>> footprint_wgs84(const RasterFacts& r, int steps = 8) {
    OGRSpatialReference source, wgs84;
    GdalErrorCapture errors;
    if (source.importFromWkt(r.geo.crs_wkt.c_str()) != OGRERR_NONE) {
        throw IoError("STAC item: cannot parse the CRS" + errors.suffix());
    }
    source.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> transform(OGRCreateCoordinateTransformation(&source, &wgs84));
    if (!transform) throw IoError("STAC item: no transformation from the scene's CRS to WGS 84" + errors.suffix());
    const double w = static_cast<double>(r.width), h = static_cast<double>(r.height);
    const double corners[5][2] = {{0, 0}, {0, h}, {w, h}, {w, 0}, {0, 0}};
    std::vector<double> xs, ys;
    for (int edge = 0; edge < 4; ++edge) {
        for (int i = 0; i < steps; ++i) {
            const double f = static_cast<double>(i) / steps;
            const double col = corners[edge][0] + f * (corners[edge + 1][0] - corners[edge][0]);
            const double row = corners[edge][1] + f * (corners[edge + 1][1] - corners[edge][1]);
            xs.push_back(r.geo.x_at(col, row));
            ys.push_back(r.geo.y_at(col, row));
        }
    }
    if (!transform->Transform(xs.size(), xs.data(), ys.data())) {
        throw IoError("STAC item: the scene's footprint has no WGS 84 coordinates" + errors.suffix());
    }
    std::vector<std::array<double, 2>> ring;
    for (std::size_t i = 0; i < xs.size(); ++i) ring.push_back({xs[i], ys[i]});
    ring.push_back(ring.front());
    return ring;
}

/// A path segment as a URI needs it: bytes other than A-Z a-z 0-9 - . _ ~ percent-encoded
/// (scene names may hold '%', spaces or UTF-8).
std::string uri_segment(const std::string& text) {
    static const char* const hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

nlohmann::ordered_json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw IoError("STAC: cannot read '" + path + "'");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::ordered_json::parse(text.str());
    } catch (const nlohmann::json::exception& error) {
        throw IoError("STAC: '" + path + "' is not JSON: " + error.what());
    }
}

}  // namespace

StacAssetKind stac_asset_kind(const std::string& name, bool cog) {
    const std::string geotiff = cog ? "image/tiff; application=geotiff; profile=cloud-optimized"
                                    : "image/tiff; application=geotiff";
    if (name == "saliency.tif") return {geotiff, {"data"}, "SMOE combined saliency in [0, 1]"};
    if (name == "lovi.tif") return {geotiff, {"visual"}, "LOVI colour image with alpha"};
    if (name.rfind("layer_L", 0) == 0 && ends_with(name, ".tif")) {
        return {geotiff, {"data"}, "normalized saliency of layer " + name.substr(6, name.size() - 10)};
    }
    if (name == "counts.tif") return {geotiff, {"data"}, "cars per counting window"};
    if (name == "saliency.h5") return {"application/x-hdf5", {"data"}, "every map: combined, LOVI, raw and normalized layers"};
    if (name == "quicklook.png") return {"image/png", {"overview"}, "quicklook: saliency over the gray input"};
    if (name == "quicklook.pgw") return {"text/plain", {"metadata"}, "world file of quicklook.png"};
    if (name == "quicklook.png.aux.xml") return {"application/xml", {"metadata"}, "CRS of quicklook.png (GDAL PAM)"};
    if (name == "lovi_legend.png") return {"image/png", {"metadata"}, "LOVI legend"};
    if (name == "saliency.qml" || name == "lovi.qml") return {"application/xml", {"metadata"}, "QGIS style"};
    if (name == "counts.csv") return {"text/csv", {"data"}, "cars per counting window"};
    if (name == "counts.gpkg") return {"application/geopackage+sqlite3", {"data"}, "counting windows and annotated cars"};
    if (name == "run.json") return {"application/json", {"metadata"}, "run report"};
    return {};
}

void write_stac_item(const std::string& folder, const std::string& id, bool cog,
                     const nlohmann::ordered_json& properties, const std::string& derived_from) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) {
        const std::string name = entry.path().filename().string();
        if (!stac_asset_kind(name, cog).media_type.empty()) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    const std::string main_raster = (fs::path(folder) / "saliency.tif").string();
    if (!fs::exists(main_raster)) throw IoError("STAC item: '" + main_raster + "' is missing");
    const RasterFacts main = raster_facts(main_raster);

    nlohmann::ordered_json item;
    item["type"] = "Feature";
    item["stac_version"] = kStacVersion;
    item["stac_extensions"] = nlohmann::ordered_json::array({kProjection});
    item["id"] = id;
    nlohmann::ordered_json& props = item["properties"];
    const std::string now = utc_now();
    props["datetime"] = now;
    props["created"] = now;
    if (main.geo.georeferenced()) {
        const auto ring = footprint_wgs84(main);
        double west = 180, south = 90, east = -180, north = -90;
        nlohmann::ordered_json coordinates = nlohmann::ordered_json::array();
        for (const auto& p : ring) {
            west = std::min(west, p[0]);
            east = std::max(east, p[0]);
            south = std::min(south, p[1]);
            north = std::max(north, p[1]);
            coordinates.push_back({p[0], p[1]});
        }
        item["geometry"] = {{"type", "Polygon"}, {"coordinates", nlohmann::ordered_json::array({coordinates})}};
        item["bbox"] = {west, south, east, north};
        OGRSpatialReference srs;
        srs.importFromWkt(main.geo.crs_wkt.c_str());
        srs.AutoIdentifyEPSG();
        const char* authority = srs.GetAuthorityName(nullptr);
        const char* code = srs.GetAuthorityCode(nullptr);
        if (authority != nullptr && code != nullptr && std::string(authority) == "EPSG") {
            props["proj:epsg"] = std::stoi(code);
        } else {
            props["proj:epsg"] = nullptr;
        }
        char* wkt2 = nullptr;
        const char* options[] = {"FORMAT=WKT2_2019", nullptr};
        srs.exportToWkt(&wkt2, options);
        props["proj:wkt2"] = wkt2 != nullptr ? wkt2 : "";
        CPLFree(wkt2);
    } else {
        item["geometry"] = nullptr;  // no georeferencing: outputs are in pixel coordinates
    }
    props["proj:shape"] = {main.height, main.width};
    if (main.geo.has_transform) props["proj:transform"] = stac_transform(main.geo);
    for (const auto& [key, value] : properties.items()) props[key] = value;

    item["links"] = nlohmann::ordered_json::array(
        {{{"rel", "collection"}, {"href", "../collection.json"}, {"type", "application/json"}},
         {{"rel", "parent"}, {"href", "../collection.json"}, {"type", "application/json"}},
         {{"rel", "root"}, {"href", "../collection.json"}, {"type", "application/json"}}});
    if (!derived_from.empty())
        item["links"].push_back({{"rel", "derived_from"}, {"href", derived_from}, {"type", "application/json"}});
    nlohmann::ordered_json& assets = item["assets"];
    for (const std::string& name : names) {
        const StacAssetKind kind = stac_asset_kind(name, cog);
        nlohmann::ordered_json asset;
        asset["href"] = "./" + name;
        asset["type"] = kind.media_type;
        asset["title"] = kind.title;
        asset["roles"] = kind.roles;
        if (ends_with(name, ".tif")) {
            const RasterFacts r = raster_facts((fs::path(folder) / name).string());
            asset["proj:shape"] = {r.height, r.width};
            if (r.geo.has_transform) asset["proj:transform"] = stac_transform(r.geo);
        }
        // Keys: the stem for images (saliency, lovi, quicklook, ...), stem_extension otherwise.
        const std::string stem = name.substr(0, name.find('.')), extension = name.substr(name.rfind('.') + 1);
        assets[extension == "tif" || extension == "png" ? stem : name == "quicklook.png.aux.xml" ? "quicklook_aux_xml"
                                                                                                : stem + "_" + extension] =
            asset;
    }
    item["collection"] = "satsal";
    write_text_file((fs::path(folder) / "item.json").string(), json_file_text(item));
}

void write_stac_collection(const std::string& output_dir, const std::vector<std::string>& scene_folders) {
    nlohmann::ordered_json links = nlohmann::ordered_json::array(
        {{{"rel", "root"}, {"href", "./collection.json"}, {"type", "application/json"}}});
    double west = 180, south = 90, east = -180, north = -90;
    bool any_bbox = false;
    std::string first, last;
    for (const std::string& folder : scene_folders) {
        const fs::path item_path = fs::path(folder) / "item.json";
        if (!fs::exists(item_path)) continue;
        const nlohmann::ordered_json item = read_json(item_path.string());
        links.push_back({{"rel", "item"},
                         {"href", "./" + uri_segment(fs::path(folder).filename().string()) + "/item.json"},
                         {"type", "application/json"}});
        if (item.contains("bbox")) {
            const auto& b = item.at("bbox");
            west = std::min(west, b.at(0).get<double>());
            south = std::min(south, b.at(1).get<double>());
            east = std::max(east, b.at(2).get<double>());
            north = std::max(north, b.at(3).get<double>());
            any_bbox = true;
        }
        const std::string when = item.at("properties").at("datetime").get<std::string>();
        if (first.empty() || when < first) first = when;
        if (last.empty() || when > last) last = when;
    }
    nlohmann::ordered_json collection;
    collection["type"] = "Collection";
    collection["stac_version"] = kStacVersion;
    collection["stac_extensions"] = nlohmann::ordered_json::array({kProjection});
    collection["id"] = "satsal";
    collection["title"] = "satsal outputs in " + fs::path(output_dir).filename().string();
    collection["description"] = "SMOE Scale saliency maps (and counts of counting runs) made by satsal; one item per scene";
    collection["license"] = "various";  // the outputs inherit the scenes' licences
    // Without any georeferenced scene the spatial extent is the whole globe (STAC requires one).
    collection["extent"]["spatial"]["bbox"] =
        nlohmann::ordered_json::array({any_bbox ? nlohmann::ordered_json{west, south, east, north}
                                                : nlohmann::ordered_json{-180, -90, 180, 90}});
    collection["extent"]["temporal"]["interval"] = nlohmann::ordered_json::array(
        {{first.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(first),
          last.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(last)}});
    collection["links"] = links;
    write_text_file((fs::path(output_dir) / "collection.json").string(), json_file_text(collection));
}

}  // namespace satsal
