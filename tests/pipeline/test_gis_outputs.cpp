// Every output of a counting run opened the way QGIS opens it (GDAL and OGR, plain paths): CRS,
// extent, nodata/alpha, metadata keys; item.json and collection.json against the STAC fields
// they must have; counts.gpkg against count-summary.json.
#include "test_support.hpp"

#include "io/GdalSupport.hpp"
#include "io/GeoReference.hpp"

#include <catch2/catch.hpp>
#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>

#include <array>
#include <map>
#include <memory>
#include <sstream>
#include <filesystem>

using namespace satsal::ptest;
namespace fs = std::filesystem;

namespace {

GDALDatasetUniquePtr open_gdal(const std::string& name, unsigned flags = GDAL_OF_RASTER) {
    satsal::ensure_gdal_registered();
    return GDALDatasetUniquePtr(GDALDataset::Open(name.c_str(), flags | GDAL_OF_READONLY));
}

std::array<double, 6> transform_of(GDALDataset& ds) {
    std::array<double, 6> t{};
    REQUIRE(ds.GetGeoTransform(t.data()) == CE_None);
    return t;
}

void check_transform(const std::array<double, 6>& got, const std::array<double, 6>& want, double scale = 1.0) {
    const std::array<double, 6> scaled = {want[0], want[1] * scale, want[2] * scale, want[3], want[4] * scale,
                                          want[5] * scale};
    for (int i = 0; i < 6; ++i) CHECK(got[i] == Approx(scaled[i]).margin(1e-6));
}

std::string metadata(GDALDataset& ds, const char* key, const char* domain = nullptr) {
    const char* value = ds.GetMetadataItem(key, domain);
    return value != nullptr ? value : "(missing)";
}

}  // namespace

TEST_CASE("a counting run's outputs open in GDAL/OGR as QGIS opens them, with STAC metadata", "[pipeline][gis][count]") {
    TempDir dir;
    const CommandResult made =
        run_satsal("make-cowc " + quoted(dir.file("cowc")) + " --scene-size 384 --train-scenes 1 --test-scenes 0", dir);
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    std::string scene;
    for (const auto& name : folder_entries(dir.file("cowc/geotiff/Synthetic_SATSAL"))) {
        scene = dir.file("cowc/geotiff/Synthetic_SATSAL/" + name);
    }
    REQUIRE_FALSE(scene.empty());
    const std::string config = dir.file("count.ini");
    write_text(config, "model = " + std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt\noutput_dir = " +
                           dir.file("out") + "\ntask = count\nannotations = " +
                           dir.file("cowc/ground_truth_sets/Synthetic_SATSAL") + "\nthreads = 2\nquiet = true\nscene = " +
                           scene + "\n");
    const CommandResult r = run_satsal("run " + quoted(config), dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string folder = dir.file("out/" + fs::path(scene).stem().string());

    auto input = open_gdal(scene);
    REQUIRE(input);
    const std::array<double, 6> scene_t = transform_of(*input);
    const OGRSpatialReference* scene_srs = input->GetSpatialRef();
    REQUIRE(scene_srs != nullptr);
    const int width = input->GetRasterXSize(), height = input->GetRasterYSize();
    REQUIRE(width == 384);

    SECTION("saliency.tif and lovi.tif: CRS, extent, nodata, alpha, metadata, statistics") {
        auto tif = open_gdal(folder + "/saliency.tif");
        REQUIRE(tif);
        CHECK(tif->GetSpatialRef()->IsSame(scene_srs));
        check_transform(transform_of(*tif), scene_t);
        CHECK(tif->GetRasterXSize() == width);
        int has_nodata = 0;
        CHECK(std::isnan(tif->GetRasterBand(1)->GetNoDataValue(&has_nodata)));
        CHECK(has_nodata == 1);
        for (const char* key : {"TIFFTAG_SOFTWARE", "TIFFTAG_DATETIME", "model_sha256", "taps", "strides", "statistic",
                                "norm", "weights"}) {
            INFO(key);
            CHECK(metadata(*tif, key) != "(missing)");
        }
        // Every tap on its own stride's grid: nothing resampled, so no resampled note.
        CHECK(metadata(*tif, "strides") == "2,4,8,16,32");
        CHECK(metadata(*tif, "resampled") == "(missing)");
        CHECK(tif->GetRasterBand(1)->GetMetadataItem("STATISTICS_MEAN") != nullptr);
        auto lovi = open_gdal(folder + "/lovi.tif");
        REQUIRE(lovi);
        CHECK(lovi->GetRasterCount() == 4);
        CHECK(lovi->GetRasterBand(4)->GetColorInterpretation() == GCI_AlphaBand);
        CHECK(lovi->GetRasterBand(1)->GetMaskFlags() == (GMF_ALPHA | GMF_PER_DATASET));
        check_transform(transform_of(*lovi), scene_t);
        CHECK(fs::exists(folder + "/lovi_legend.png"));
    }
    SECTION("saliency.h5 by its plain path: the HDF5 driver lists georeferenced subdatasets") {
        auto root = open_gdal(folder + "/saliency.h5");
        REQUIRE(root);
        CHECK(std::string(root->GetDriver()->GetDescription()) == "HDF5");
        const std::string prefix = "HDF5:\"" + folder + "/saliency.h5\"://";
        for (const char* name : {"combined", "lovi", "layers_normalized/L1"}) {
            INFO(name);
            auto sub = open_gdal(prefix + name);
            REQUIRE(sub);
            REQUIRE(sub->GetSpatialRef() != nullptr);
            CHECK(sub->GetSpatialRef()->IsSame(scene_srs));
            const double stride = std::string(name) == "layers_normalized/L1" ? 2.0 : 1.0;
            check_transform(transform_of(*sub), scene_t, stride);
            CHECK(sub->GetRasterCount() == (std::string(name) == "lovi" ? 3 : 1));
        }
        auto layer5 = open_gdal(prefix + std::string("layers/L5"));  // 12 rows: below the HDF5 driver's 100
        REQUIRE(layer5);
        const char* tap = layer5->GetRasterBand(1)->GetMetadataItem("layers_L5_tap");
        CHECK(std::string(tap != nullptr ? tap : "(missing)") == "layer4");
        // The netCDF driver (NETCDF: prefix, or a .nc name) reads the CF georeferencing of every grid.
        auto nc = open_gdal("NETCDF:\"" + folder + "/saliency.h5\":/layers/L5");
        REQUIRE(nc);
        check_transform(transform_of(*nc), scene_t, 32.0);
        CHECK(metadata(*nc, "/layers/L5#tap_stride") == "32");
    }
    SECTION("quicklook.png: alpha where nodata, georeferenced by its world file and .aux.xml") {
        auto png = open_gdal(folder + "/quicklook.png");
        REQUIRE(png);
        CHECK(png->GetRasterCount() == 4);
        CHECK(png->GetRasterBand(4)->GetColorInterpretation() == GCI_AlphaBand);
        CHECK(png->GetRasterXSize() == width);
        CHECK(png->GetRasterYSize() > height);  // the legend strip below the scene
        check_transform(transform_of(*png), scene_t);
        REQUIRE(png->GetSpatialRef() != nullptr);
        CHECK(png->GetSpatialRef()->IsSame(scene_srs));
        CHECK(fs::exists(folder + "/quicklook.pgw"));
    }

    const nlohmann::json summary = nlohmann::json::parse(read_text(dir.file("out/count-summary.json")));
    const int64_t predicted = summary.at("scenes").at(0).at("predicted");
    const int64_t annotated = summary.at("scenes").at(0).at("true");
    SECTION("counts.tif covers exactly the scene; counts.gpkg sums to the scene count") {
        auto counts = open_gdal(folder + "/counts.tif");
        REQUIRE(counts);
        CHECK(metadata(*counts, "COMPRESSION", "IMAGE_STRUCTURE") == "ZSTD");
        const std::array<double, 6> t = transform_of(*counts);
        CHECK(t[0] == Approx(scene_t[0]));
        CHECK(t[3] == Approx(scene_t[3]));
        CHECK(counts->GetRasterXSize() * t[1] == Approx(width * scene_t[1]));
        CHECK(counts->GetRasterYSize() * t[5] == Approx(height * scene_t[5]));
        CHECK(counts->GetSpatialRef()->IsSame(scene_srs));

        auto gpkg = open_gdal(folder + "/counts.gpkg", GDAL_OF_VECTOR);
        REQUIRE(gpkg);
        OGRLayer* windows = gpkg->GetLayerByName("windows");
        REQUIRE(windows != nullptr);
        CHECK(windows->GetFeatureCount() == 4);  // 384 px in 192 px windows: 2 x 2
        CHECK(windows->GetSpatialRef()->IsSame(scene_srs));
        int64_t sum_predicted = 0, sum_annotated = 0;
        double area = 0;
        for (auto& feature : *windows) {
            sum_predicted += feature->GetFieldAsInteger64("predicted");
            sum_annotated += feature->GetFieldAsInteger64("annotated");
            area += feature->GetGeometryRef()->toPolygon()->get_Area();
        }
        CHECK(sum_predicted == predicted);
        CHECK(sum_annotated == annotated);
        CHECK(area == Approx(width * height * scene_t[1] * -scene_t[5]));  // the windows tile the scene
        OGRLayer* cars = gpkg->GetLayerByName("cars");
        REQUIRE(cars != nullptr);
        CHECK(cars->GetFeatureCount() == annotated);

        // counts.csv: window 0's centre in map coordinates.
        const std::string csv = read_text(folder + "/counts.csv");
        CHECK(csv.rfind("window,column,row,x0,y0,x1,y1,x_center,y_center,predicted,true\n", 0) == 0);
        const std::string row0 = csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
        std::vector<std::string> cells;
        std::stringstream ss(row0);
        for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
        REQUIRE(cells.size() == 11);
        CHECK(std::stod(cells[7]) == Approx(scene_t[0] + 96 * scene_t[1]));
        CHECK(std::stod(cells[8]) == Approx(scene_t[3] + 96 * scene_t[5]));
    }
    SECTION("item.json and collection.json carry the STAC fields") {
        const nlohmann::json item = nlohmann::json::parse(read_text(folder + "/item.json"));
        CHECK(item.at("type") == "Feature");
        CHECK(item.at("stac_version") == "1.0.0");
        CHECK(item.at("stac_extensions").at(0) == "https://stac-extensions.github.io/projection/v1.1.0/schema.json");
        CHECK(item.at("id") == fs::path(scene).stem().string());
        CHECK(item.at("geometry").at("type") == "Polygon");
        const auto& props = item.at("properties");
        CHECK(props.at("datetime").get<std::string>().size() == 20);
        CHECK(props.at("proj:epsg") == std::stoi(scene_srs->GetAuthorityCode(nullptr)));
        CHECK(props.at("proj:shape") == nlohmann::json::array({height, width}));
        const auto& pt = props.at("proj:transform");
        CHECK(pt.at(0).get<double>() == Approx(scene_t[1]));
        CHECK(pt.at(2).get<double>() == Approx(scene_t[0]));
        CHECK(pt.at(5).get<double>() == Approx(scene_t[3]));
        CHECK(props.at("satsal:counted") == predicted);
        // bbox in WGS 84 contains the scene centre transformed independently.
        OGRSpatialReference wgs84;
        wgs84.SetWellKnownGeogCS("WGS84");
        wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        OGRSpatialReference source(*scene_srs);
        source.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&source, &wgs84));
        double cx = scene_t[0] + width / 2.0 * scene_t[1], cy = scene_t[3] + height / 2.0 * scene_t[5];
        REQUIRE(ct->Transform(1, &cx, &cy));
        const auto& bbox = item.at("bbox");
        CHECK(bbox.at(0).get<double>() < cx);
        CHECK(cx < bbox.at(2).get<double>());
        CHECK(bbox.at(1).get<double>() < cy);
        CHECK(cy < bbox.at(3).get<double>());
        const std::map<std::string, std::string> want = {
            {"saliency", "image/tiff; application=geotiff"}, {"lovi", "image/tiff; application=geotiff"},
            {"counts", "image/tiff; application=geotiff"},   {"saliency_h5", "application/x-hdf5"},
            {"quicklook", "image/png"},                      {"counts_gpkg", "application/geopackage+sqlite3"},
            {"counts_csv", "text/csv"},                      {"run_json", "application/json"}};
        for (const auto& [key, type] : want) {
            INFO(key);
            REQUIRE(item.at("assets").contains(key));
            const auto& asset = item.at("assets").at(key);
            CHECK(asset.at("type") == type);
            CHECK_FALSE(asset.at("roles").empty());
            CHECK(fs::exists(folder + "/" + asset.at("href").get<std::string>()));
        }
        CHECK(item.at("assets").at("counts").at("proj:shape") == nlohmann::json::array({height / 192, width / 192}));

        const nlohmann::json collection = nlohmann::json::parse(read_text(dir.file("out/collection.json")));
        CHECK(collection.at("type") == "Collection");
        CHECK(collection.at("stac_version") == "1.0.0");
        CHECK(collection.at("extent").at("spatial").at("bbox").at(0) == item.at("bbox"));
        bool linked = false;
        for (const auto& link : collection.at("links")) {
            linked = linked || (link.at("rel") == "item" && link.at("href") == "./syn-01.5%25_a/item.json");
        }
        CHECK(linked);
    }
}
