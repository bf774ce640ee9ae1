// pipeline/SaliencyProduct through a scene run with a nodata corner: what a GIS user sees besides
// the data - CF attributes in saliency.h5, GeoTIFF metadata and embedded statistics (no .aux.xml
// when QGIS/GDAL ask for statistics), lovi.tif's alpha band, the QGIS styles.
#include "io/RunConfig.hpp"
#include "io/SyntheticScene.hpp"
#include "pipeline/SceneRun.hpp"
#include "pipeline/Version.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <cpl_minixml.h>
#include <gdal_priv.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <regex>

using namespace satsal;
using namespace satsal::ptest;

namespace {

/// A string attribute of any object (variable-length or fixed-length), "" when absent.
std::string object_string_attribute(const std::string& file, const std::string& object, const std::string& name) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    std::string value;
    if (H5Aexists_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
        const hid_t attr = H5Aopen_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        const hid_t type = H5Aget_type(attr);
        REQUIRE(H5Tget_class(type) == H5T_STRING);
        if (H5Tis_variable_str(type) > 0) {
            char* text = nullptr;
            const hid_t mem = H5Tcopy(H5T_C_S1);
            H5Tset_size(mem, H5T_VARIABLE);
            H5Tset_cset(mem, H5Tget_cset(type));
            REQUIRE(H5Aread(attr, mem, &text) >= 0);
            value = text ? text : "";
            H5free_memory(text);
            H5Tclose(mem);
        } else {
            std::string buffer(H5Tget_size(type), '\0');
            REQUIRE(H5Aread(attr, type, buffer.data()) >= 0);
            value = buffer.c_str();
        }
        H5Tclose(type);
        H5Aclose(attr);
    }
    H5Fclose(f);
    return value;
}

/// A numeric attribute of any object as doubles, and its stored class and size (e.g. float32).
struct NumericAttribute {
    std::vector<double> values;
    H5T_class_t type_class = H5T_NO_CLASS;
    std::size_t type_size = 0;
};

NumericAttribute object_numeric_attribute(const std::string& file, const std::string& object, const std::string& name) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    NumericAttribute out;
    if (H5Aexists_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
        const hid_t attr = H5Aopen_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        const hid_t type = H5Aget_type(attr);
        const hid_t space = H5Aget_space(attr);
        out.type_class = H5Tget_class(type);
        out.type_size = H5Tget_size(type);
        out.values.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
        REQUIRE(H5Aread(attr, H5T_NATIVE_DOUBLE, out.values.data()) >= 0);
        H5Sclose(space);
        H5Tclose(type);
        H5Aclose(attr);
    }
    H5Fclose(f);
    return out;
}

struct BandStatistics {
    double min = INFINITY, max = -INFINITY, mean = 0, stddev = 0;
    int64_t count = 0;
};

/// Statistics of every valid (non-NaN) value, computed here from the pixels.
BandStatistics statistics_of(const std::vector<float>& values) {
    BandStatistics s;
    double sum = 0, squares = 0;
    for (float v : values) {
        if (std::isnan(v)) continue;
        s.min = std::min(s.min, static_cast<double>(v));
        s.max = std::max(s.max, static_cast<double>(v));
        sum += v;
        ++s.count;
    }
    s.mean = sum / static_cast<double>(s.count);
    for (float v : values) {
        if (!std::isnan(v)) squares += (v - s.mean) * (v - s.mean);
    }
    s.stddev = std::sqrt(squares / static_cast<double>(s.count));
    return s;
}

std::vector<float> read_band(GDALDataset& dataset, int band) {
    const int w = dataset.GetRasterXSize(), h = dataset.GetRasterYSize();
    std::vector<float> values(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
    REQUIRE(dataset.GetRasterBand(band)->RasterIO(GF_Read, 0, 0, w, h, values.data(), w, h, GDT_Float32, 0, 0) ==
            CE_None);
    return values;
}

double metadata_number(GDALRasterBand* band, const char* name) {
    const char* text = band->GetMetadataItem(name);
    REQUIRE(text != nullptr);
    return std::stod(text);
}

struct ProductRun {
    TempDir dir;
    std::string folder;
    std::string sha256;
};

/// One scene run of the footprint model over a 320 x 256 scene with a nodata corner, layer tifs on.
const ProductRun& product_run() {
    static std::unique_ptr<ProductRun> once;
    if (once) return *once;
    once = std::make_unique<ProductRun>();
    ProductRun& r = *once;
    {
        SyntheticSceneOptions options;
        options.path = r.dir.file("corner.tif");
        options.width = 320;
        options.height = 256;
        options.nodata_corner = true;
        options.block_size = 64;
        write_synthetic_scene(options);
        const std::string text = "model = " + footprint_model() + "\noutput_dir = " + r.dir.file("out") +
                                 "\nthreads = 2\nquiet = true\nscene = " + options.path +
                                 "\ntile_size = 32\nmargin = 32\nwrite_layers = true\n";
        const RunOutcome outcome = run_scenes(parse_run_config(text, "test.ini", r.dir.path()));
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        r.folder = r.dir.file("out/corner");
        r.sha256 = outcome.scenes[0].report.at("model_sha256").get<std::string>();
    }
    return r;
}

}  // namespace

TEST_CASE("saliency.h5 carries CF-1.8 global attributes and per-variable descriptions", "[pipeline][product][cf]") {
    const ProductRun& run = product_run();
    const std::string h5 = run.folder + "/saliency.h5";
    CHECK(object_string_attribute(h5, "/", "Conventions") == "CF-1.8");
    CHECK_THAT(object_string_attribute(h5, "/", "title"), Catch::Contains("corner.tif"));
    CHECK(object_string_attribute(h5, "/", "source") == "satsal " + satsal_version());
    const std::string created = object_string_attribute(h5, "/", "date_created");
    CHECK(std::regex_match(created, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
    CHECK_THAT(object_string_attribute(h5, "/", "history"),
               Catch::StartsWith(created + " satsal " + satsal_version()) && Catch::Contains("smoe"));

    for (const std::string variable : {"/combined", "/lovi"}) {
        INFO(variable);
        CHECK_FALSE(object_string_attribute(h5, variable, "long_name").empty());
        CHECK(object_string_attribute(h5, variable, "units") == "1");
        CHECK_FALSE(object_string_attribute(h5, variable, "description").empty());
    }
    const NumericAttribute combined_range = object_numeric_attribute(h5, "/combined", "valid_range");
    CHECK(combined_range.values == std::vector<double>{0.0, 1.0});
    CHECK(combined_range.type_class == H5T_FLOAT);
    CHECK(combined_range.type_size == 4);  // the type of the float32 variable, as CF requires
    CHECK_THAT(object_string_attribute(h5, "/combined", "description"), Catch::StartsWith("normalized"));

    const std::vector<std::string> taps = {"s2", "s4", "s8", "s16", "s32"};
    for (std::size_t k = 0; k < taps.size(); ++k) {
        const std::string name = "L" + std::to_string(k + 1);
        const std::string raw = "/layers/" + name, normalized = "/layers_normalized/" + name;
        INFO(name);
        for (const std::string& variable : {raw, normalized}) {
            CHECK(object_string_attribute(h5, variable, "tap") == taps[k]);
            CHECK(object_numeric_attribute(h5, variable, "stride").values ==
                  std::vector<double>{static_cast<double>(kFootprintStrides[k])});
            CHECK(object_string_attribute(h5, variable, "units") == "1");
            CHECK_THAT(object_string_attribute(h5, variable, "long_name"), Catch::Contains("tap " + taps[k]));
        }
        CHECK_THAT(object_string_attribute(h5, raw, "description"), Catch::StartsWith("raw statistic"));
        CHECK(object_numeric_attribute(h5, raw, "valid_range").values.empty());  // raw SMOE is unbounded
        CHECK_THAT(object_string_attribute(h5, normalized, "description"), Catch::StartsWith("normalized"));
        CHECK(object_numeric_attribute(h5, normalized, "valid_range").values == std::vector<double>{0.0, 1.0});
    }
}

TEST_CASE("GeoTIFFs carry software, date, model and method metadata and exact embedded statistics",
          "[pipeline][product][geotiff]") {
    const ProductRun& run = product_run();
    for (const std::string name : {"saliency.tif", "lovi.tif", "layer_L1.tif", "layer_L5.tif"}) {
        INFO(name);
        const std::string path = run.folder + "/" + name;
        {
            GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
            REQUIRE(dataset);
            CHECK(std::string(dataset->GetMetadataItem("TIFFTAG_SOFTWARE") ?: "") == "satsal " + satsal_version());
            CHECK(std::regex_match(std::string(dataset->GetMetadataItem("TIFFTAG_DATETIME") ?: ""),
                                   std::regex(R"(\d{4}:\d\d:\d\d \d\d:\d\d:\d\d)")));
            CHECK(std::string(dataset->GetMetadataItem("model_sha256") ?: "") == run.sha256);
            CHECK(std::string(dataset->GetMetadataItem("taps") ?: "") == "s2,s4,s8,s16,s32");
            CHECK(std::string(dataset->GetMetadataItem("strides") ?: "") == "2,4,8,16,32");
            CHECK(std::string(dataset->GetMetadataItem("statistic") ?: "") == "smoe");
            CHECK(std::string(dataset->GetMetadataItem("norm") ?: "") == "gauss");
            CHECK(std::string(dataset->GetMetadataItem("weights") ?: "") == "1,1,1,1,1");
            // The embedded statistics are those of the pixels (valid ones only: NaN is nodata).
            for (int b = 1; b <= dataset->GetRasterCount(); ++b) {
                INFO("band " << b);
                GDALRasterBand* band = dataset->GetRasterBand(b);
                const BandStatistics want = statistics_of(read_band(*dataset, b));
                CHECK(metadata_number(band, "STATISTICS_MINIMUM") == Approx(want.min).margin(1e-6));
                CHECK(metadata_number(band, "STATISTICS_MAXIMUM") == Approx(want.max).margin(1e-6));
                CHECK(metadata_number(band, "STATISTICS_MEAN") == Approx(want.mean).epsilon(1e-6).margin(1e-6));
                CHECK(metadata_number(band, "STATISTICS_STDDEV") == Approx(want.stddev).epsilon(1e-5).margin(1e-6));
                // What QGIS asks: exact statistics, answered from the file without computing.
                double mn = 0, mx = 0, mean = 0, sd = 0;
                CHECK(band->GetStatistics(FALSE, FALSE, &mn, &mx, &mean, &sd) == CE_None);
                CHECK(mean == Approx(want.mean).epsilon(1e-6).margin(1e-6));
            }
        }
        CHECK_FALSE(std::filesystem::exists(path + ".aux.xml"));
    }
    GDALDatasetUniquePtr layer(GDALDataset::Open((run.folder + "/layer_L4.tif").c_str(), GDAL_OF_RASTER));
    REQUIRE(layer);
    CHECK(std::string(layer->GetMetadataItem("tap") ?: "") == "s16");
    CHECK(std::string(layer->GetMetadataItem("stride") ?: "") == "16");
}

TEST_CASE("lovi.tif has an alpha band: 0 exactly where the saliency is nodata", "[pipeline][product][alpha]") {
    const ProductRun& run = product_run();
    GDALDatasetUniquePtr lovi(GDALDataset::Open((run.folder + "/lovi.tif").c_str(), GDAL_OF_RASTER));
    GDALDatasetUniquePtr saliency(GDALDataset::Open((run.folder + "/saliency.tif").c_str(), GDAL_OF_RASTER));
    REQUIRE(lovi);
    REQUIRE(saliency);
    REQUIRE(lovi->GetRasterCount() == 4);
    CHECK(lovi->GetRasterBand(1)->GetColorInterpretation() == GCI_RedBand);
    CHECK(lovi->GetRasterBand(4)->GetColorInterpretation() == GCI_AlphaBand);
    // GDAL (and QGIS) take the alpha band as the dataset's mask.
    CHECK((lovi->GetRasterBand(1)->GetMaskFlags() & GMF_ALPHA) != 0);
    const std::vector<float> alpha = read_band(*lovi, 4), values = read_band(*saliency, 1);
    REQUIRE(alpha.size() == values.size());
    int64_t transparent = 0, opaque = 0, wrong = 0;
    for (std::size_t i = 0; i < alpha.size(); ++i) {
        const float want = std::isnan(values[i]) ? 0.0f : 255.0f;
        wrong += alpha[i] == want ? 0 : 1;
        (alpha[i] == 0 ? transparent : opaque) += 1;
    }
    CHECK(wrong == 0);
    // The corner triangle x/W + y/H < 1/4 of 320 x 256 covers about 1/32 of the scene.
    CHECK(transparent > 320 * 256 / 40);
    CHECK(opaque > 320 * 256 * 9 / 10);
}

TEST_CASE("QGIS styles beside saliency.tif and lovi.tif are well-formed and name their renderers",
          "[pipeline][product][qml]") {
    const ProductRun& run = product_run();
    struct Style {
        std::string file, renderer;
    };
    for (const Style& style : {Style{"saliency.qml", "singlebandpseudocolor"}, Style{"lovi.qml", "multibandcolor"}}) {
        INFO(style.file);
        const std::string text = read_text(run.folder + "/" + style.file);
        CPLXMLNode* root = CPLParseXMLString(text.c_str());
        REQUIRE(root != nullptr);
        const CPLXMLNode* renderer = CPLGetXMLNode(root, "=qgis.pipe.rasterrenderer");
        REQUIRE(renderer != nullptr);
        CHECK(std::string(CPLGetXMLValue(renderer, "type", "")) == style.renderer);
        if (style.renderer == "singlebandpseudocolor") {
            CHECK(std::string(CPLGetXMLValue(renderer, "classificationMin", "")) == "0");
            CHECK(std::string(CPLGetXMLValue(renderer, "classificationMax", "")) == "1");
            const CPLXMLNode* shader = CPLGetXMLNode(renderer, "rastershader.colorrampshader");
            REQUIRE(shader != nullptr);
            std::vector<std::string> values, colours;
            for (const CPLXMLNode* item = shader->psChild; item; item = item->psNext) {
                if (item->eType != CXT_Element || std::string(item->pszValue) != "item") continue;
                values.push_back(CPLGetXMLValue(item, "value", ""));
                colours.push_back(CPLGetXMLValue(item, "color", ""));
            }
            CHECK(values == std::vector<std::string>{"0", "0.25", "0.5", "0.75", "1"});
            CHECK(colours.front() == "#440154");  // viridis ends
            CHECK(colours.back() == "#fde725");
        } else {
            CHECK(std::string(CPLGetXMLValue(renderer, "alphaBand", "")) == "4");
            CHECK(std::string(CPLGetXMLValue(renderer, "redBand", "")) == "1");
            CHECK(std::string(CPLGetXMLValue(renderer, "blueBand", "")) == "3");
        }
        CPLDestroyXMLNode(root);
    }
}
