#include "pipeline/CountGeoPackage.hpp"

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <memory>

namespace satsal {
namespace {

struct FeatureDeleter {
    void operator()(OGRFeature* f) const { OGRFeature::DestroyFeature(f); }
};
using FeaturePtr = std::unique_ptr<OGRFeature, FeatureDeleter>;

class GeoPackage {
public:
    GeoPackage(const std::string& path, const GeoReference& geo) : path_(path), geo_(geo) {
        ensure_gdal_registered();
        GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
        if (driver == nullptr) fail("GDAL has no GPKG driver");
        vsi_remove_quietly(path);
        dataset_.reset(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!dataset_) fail("cannot create the GeoPackage");
        if (geo.has_crs()) {
            srs_ = std::make_unique<OGRSpatialReference>();
            srs_->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
            if (srs_->importFromWkt(geo.crs_wkt.c_str()) != OGRERR_NONE) fail("cannot parse the scene's CRS");
        }
    }

    OGRLayer* layer(const char* name, OGRwkbGeometryType type,
                    const std::vector<std::pair<const char*, OGRFieldType>>& fields) {
        CPLStringList options;
        options.SetNameValue("SPATIAL_INDEX", "YES");
        OGRLayer* layer = dataset_->CreateLayer(name, srs_.get(), type, options.List());
        if (layer == nullptr) fail(std::string("cannot create layer '") + name + "'");
        for (const auto& [field, kind] : fields) {
            OGRFieldDefn definition(field, kind);
            if (layer->CreateField(&definition) != OGRERR_NONE) {
                fail(std::string("cannot create field '") + field + "' of layer '" + name + "'");
            }
        }
        return layer;
    }

    /// Map coordinates of a scene pixel position (corner convention).
    OGRPoint point(double col, double row) const { return OGRPoint(geo_.x_at(col, row), geo_.y_at(col, row)); }

    void add(OGRLayer* layer, FeaturePtr feature) {
        if (layer->CreateFeature(feature.get()) != OGRERR_NONE) {
            fail(std::string("cannot write a feature of layer '") + layer->GetName() + "'");
        }
    }

    void begin() {
        if (dataset_->StartTransaction() != OGRERR_NONE) fail("cannot start a transaction");
    }
    void commit() {
        if (dataset_->CommitTransaction() != OGRERR_NONE) fail("cannot commit the features");
    }
    void close() {
        // GDAL 3.6's GDALClose returns nothing: a failed final write shows as a captured error.
        dataset_.reset();
        if (errors_.failed()) fail("cannot close the GeoPackage");
    }

    [[noreturn]] void fail(const std::string& what) {
        const std::string message = "GeoPackage '" + path_ + "': " + what + errors_.suffix();
        dataset_.reset();
        vsi_remove_quietly(path_);
        throw IoError(message);
    }

private:
    std::string path_;
    GeoReference geo_;
    GdalErrorCapture errors_;
    GDALDatasetUniquePtr dataset_;
    std::unique_ptr<OGRSpatialReference> srs_;
};

}  // namespace

void write_count_geopackage(const std::string& path, const TileGrid& grid, const GeoReference& geo,
                            const std::vector<int>& counts, const cowc::ObjectPositions* cars) {
    GeoPackage gpkg(path, geo);
    std::vector<std::pair<const char*, OGRFieldType>> fields = {
        {"window", OFTInteger}, {"column", OFTInteger}, {"row", OFTInteger}, {"x0", OFTInteger64},
        {"y0", OFTInteger64},   {"x1", OFTInteger64},   {"y1", OFTInteger64}, {"predicted", OFTInteger}};
    if (cars) fields.push_back({"annotated", OFTInteger64});
    OGRLayer* windows = gpkg.layer("windows", wkbPolygon, fields);
    gpkg.begin();
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile tile = grid.tile(i);
        const Window& core = tile.core;
        FeaturePtr feature(OGRFeature::CreateFeature(windows->GetLayerDefn()));
        feature->SetField("window", static_cast<int>(i));
        feature->SetField("column", static_cast<int>(tile.column));
        feature->SetField("row", static_cast<int>(tile.row));
        feature->SetField("x0", static_cast<GIntBig>(core.x));
        feature->SetField("y0", static_cast<GIntBig>(core.y));
        feature->SetField("x1", static_cast<GIntBig>(core.x_end()));
        feature->SetField("y1", static_cast<GIntBig>(core.y_end()));
        const int predicted = counts[static_cast<std::size_t>(i)];
        if (predicted >= 0) {
            feature->SetField("predicted", predicted);
        } else {
            feature->SetFieldNull(feature->GetFieldIndex("predicted"));
        }
        if (cars) {
            feature->SetField("annotated", static_cast<GIntBig>(cars->count_in_window(core.x, core.y, core.x_end(),
                                                                                      core.y_end())));
        }
        OGRLinearRing ring;
        const double x0 = static_cast<double>(core.x), y0 = static_cast<double>(core.y);
        const double x1 = static_cast<double>(core.x_end()), y1 = static_cast<double>(core.y_end());
        for (const auto& [col, row] : {std::pair{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}) {
            const OGRPoint p = gpkg.point(col, row);
            ring.addPoint(p.getX(), p.getY());
        }
        OGRPolygon polygon;
        polygon.addRing(&ring);
        feature->SetGeometry(&polygon);
        gpkg.add(windows, std::move(feature));
    }
    gpkg.commit();
    if (cars) {
        OGRLayer* points = gpkg.layer("cars", wkbPoint, {{"window", OFTInteger}, {"x", OFTInteger}, {"y", OFTInteger}});
        gpkg.begin();
        const int64_t size = grid.tile_size();
        for (const auto& car : cars->positions()) {
            FeaturePtr feature(OGRFeature::CreateFeature(points->GetLayerDefn()));
            feature->SetField("window", static_cast<int>((car.y / size) * grid.columns() + car.x / size));
            feature->SetField("x", static_cast<int>(car.x));
            feature->SetField("y", static_cast<int>(car.y));
            OGRPoint p = gpkg.point(static_cast<double>(car.x) + 0.5, static_cast<double>(car.y) + 0.5);
            feature->SetGeometry(&p);
            gpkg.add(points, std::move(feature));
        }
        gpkg.commit();
    }
    gpkg.close();
}

}  // namespace satsal
