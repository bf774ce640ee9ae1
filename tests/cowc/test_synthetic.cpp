// Synthetic COWC: determinism, layout on disk, georeferencing, list counts that agree with the
// annotations, and the same files as before the move to cowc/ (golden hashes).
#include <catch2/catch.hpp>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <filesystem>
#include <map>
#include <set>

#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/Names.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/Raster.hpp"
#include "cowc/Synthetic.hpp"
#include "model/Sha256.hpp"
#include "tests/cowc/test_support.hpp"

using namespace satsal::cowc;
using satsal::cowc_test::read_bytes;
using satsal::cowc_test::TempDir;

TEST_CASE("synthetic scenes are deterministic in the seed", "[cowc][synthetic]") {
    const SyntheticScene a = render_synthetic_scene(640, 512, 7);
    const SyntheticScene b = render_synthetic_scene(640, 512, 7);
    const SyntheticScene c = render_synthetic_scene(640, 512, 8);
    CHECK(a.image.pixels == b.image.pixels);
    CHECK(a.cars == b.cars);
    CHECK(a.negatives == b.negatives);
    CHECK(a.image.pixels != c.image.pixels);
    CHECK(a.cars != c.cars);
    CHECK_THROWS_WITH(render_synthetic_scene(255, 512, 1),
                      "synthetic COWC scene must be at least 256 x 256 pixels, got 255 x 512");
}

TEST_CASE("synthetic objects have unique, well-separated dots", "[cowc][synthetic]") {
    const SyntheticScene s = render_synthetic_scene(1000, 1000, 3);
    REQUIRE(s.cars.size() > 50);
    REQUIRE(s.negatives.size() > 5);
    // Dots are unique, inside, and never shared between cars and negatives.
    const ObjectPositions cars(1000, 1000, s.cars);
    const ObjectPositions negatives(1000, 1000, s.negatives);
    std::set<std::pair<int, int>> car_set;
    for (const auto& p : s.cars) car_set.insert({p.x, p.y});
    for (const auto& p : s.negatives) CHECK(car_set.count({p.x, p.y}) == 0);
    // Cars are at least a car width apart: no two dots within 8 px.
    int close = 0;
    for (const auto& p : cars.positions()) close += cars.count_in_window(p.x - 4, p.y - 4, p.x + 5, p.y + 5) > 1;
    CHECK(close == 0);
}

TEST_CASE("generate_synthetic_cowc writes the COWC layout", "[cowc][synthetic]") {
    TempDir dir("synthetic");
    SyntheticCowcOptions o;
    o.root = dir.path() + "/a";
    o.scene_width = 640;
    o.scene_height = 512;
    o.train_scenes = 2;
    o.test_scenes = 1;
    o.seed = 5;
    o.patch_stride = 128;
    o.patch_angles = {0, 30};
    o.bz2_lists = true;
    std::vector<std::string> reported;
    o.on_scene = [&](const SyntheticCowcSceneInfo& s, int index, int total) {
        reported.push_back(s.name + " " + std::to_string(index + 1) + "/" + std::to_string(total));
    };
    const SyntheticCowcResult r = generate_synthetic_cowc(o);
    CHECK(reported == std::vector<std::string>{"syn-01.5%_a 1/3", "syn-02.5%_a 2/3", "syn-03.5%_t 3/3"});
    REQUIRE(r.scenes.size() == 3);
    CHECK(r.scenes[0].name == "syn-01.5%_a");
    CHECK(r.scenes[1].name == "syn-02.5%_a");
    CHECK(r.scenes[2].name == "syn-03.5%_t");
    CHECK(r.scenes[2].split == "test");
    CHECK(r.scenes[0].scene_png == o.root + "/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_a.png");
    CHECK(r.scenes[0].cars_png == o.root + "/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_a_Annotated_Cars.png");
    CHECK(r.train_list == o.root + "/COWC_train_list_64_class.txt");
    CHECK(r.test_list == o.root + "/COWC_test_list_64_class.txt");
    CHECK(std::filesystem::exists(o.root + "/synthetic_scenes.csv"));

    // Annotations on disk match the scene sizes and the reported counts.
    std::vector<SceneAnnotations> truth;
    for (const auto& s : r.scenes) {
        truth.push_back(read_scene_annotations(s.scene_png));
        CHECK(truth.back().width == 640);
        CHECK(truth.back().cars.size() == s.cars);
        CHECK(truth.back().negatives.size() == s.negatives);
        CHECK(s.cars > 0);
    }

    // Every list entry: right split, file exists, count = cars in its content square of its scene.
    const auto train = read_counting_list(r.train_list);
    const auto test = read_counting_list(r.test_list);
    // Grid per scene: cx = 96, 224, 352, 480 (4), cy = 96, 224, 352 (3); 2 angles.
    CHECK(train.size() == 2 * 4 * 3 * 2);
    CHECK(test.size() == 1 * 4 * 3 * 2);
    std::map<int, int> histogram;
    for (const auto* list : {&train, &test}) {
        for (const auto& e : *list) {
            const int scene = e.name.x / 640;
            const int cx = e.name.x - scene * 640;
            CHECK(e.site == "Synthetic_SATSAL");
            CHECK(e.split == (scene >= 2 ? "test" : "train"));
            CHECK(e.split == (list == &test ? "test" : "train"));
            CHECK(std::filesystem::exists(o.root + "/" + e.relative_path()));
            CHECK(e.count == count_in_patch(truth[static_cast<std::size_t>(scene)].cars, cx, e.name.y, e.name.angle));
            ++histogram[e.count];
        }
    }
    CHECK(histogram.size() >= 4);  // a spread of counts, not one value
    const auto bz = read_counting_list(r.train_list + ".bz2");
    REQUIRE(bz.size() == train.size());
    CHECK(bz.back().relative_path() == train.back().relative_path());

    // GeoTIFF: same pixels as the PNG, UTM 17N, 0.15 m, origin shifted by the mosaic column.
    GDALAllRegister();
    for (const auto& s : r.scenes) {
        GDALDatasetUniquePtr tif(GDALDataset::Open(s.geotiff.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
        REQUIRE(tif);
        double gt[6];
        REQUIRE(tif->GetGeoTransform(gt) == CE_None);
        CHECK(gt[0] == Approx(330000.0 + s.mosaic_x * 0.15));
        CHECK(gt[1] == Approx(0.15));
        CHECK(gt[3] == Approx(4430000.0));
        CHECK(gt[5] == Approx(-0.15));
        const OGRSpatialReference* srs = tif->GetSpatialRef();
        REQUIRE(srs);
        CHECK(std::string(srs->GetAuthorityCode(nullptr)) == "32617");
        const Rgb8Image png = read_rgb(s.scene_png, "scene");
        const Rgb8Image geo = read_rgb(s.geotiff, "geotiff");
        CHECK(png.pixels == geo.pixels);
    }
    CHECK(r.scenes[1].mosaic_x == 640);

    // Same options, another root: byte-identical files. Another seed: different scenes.
    SyntheticCowcOptions same = o;
    same.root = dir.path() + "/b";
    generate_synthetic_cowc(same);
    for (const auto& rel : {std::string("/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_a.png"),
                            std::string("/ground_truth_sets/Synthetic_SATSAL/syn-03.5%_t_Annotated_Cars.png"),
                            std::string("/ground_truth_sets/Synthetic_SATSAL/syn-02.5%_a_Annotated_Negatives.png"),
                            std::string("/COWC_train_list_64_class.txt"), std::string("/COWC_test_list_64_class.txt.bz2"),
                            std::string("/geotiff/Synthetic_SATSAL/syn-02.5%_a.tif")})
        CHECK(read_bytes(o.root + rel) == read_bytes(same.root + rel));
    CHECK(read_bytes(o.root + "/Synthetic_SATSAL/train/" + train.front().file) ==
          read_bytes(same.root + "/Synthetic_SATSAL/train/" + train.front().file));

    SyntheticCowcOptions other = o;
    other.root = dir.path() + "/c";
    other.seed = 6;
    other.write_patches = false;
    other.write_geotiffs = false;
    const auto rc = generate_synthetic_cowc(other);
    CHECK(rc.train_list.empty());
    CHECK(rc.scenes[0].geotiff.empty());
    CHECK(read_bytes(o.root + "/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_a.png") !=
          read_bytes(other.root + "/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_a.png"));
    CHECK_FALSE(std::filesystem::exists(other.root + "/COWC_train_list_64_class.txt"));
}

TEST_CASE("synthetic COWC option errors", "[cowc][synthetic]") {
    SyntheticCowcOptions o;
    CHECK_THROWS_WITH(generate_synthetic_cowc(o), "synthetic COWC: no output root given");
    o.root = "/tmp/unused";
    o.train_scenes = 0;
    o.test_scenes = 0;
    CHECK_THROWS_WITH(generate_synthetic_cowc(o), "synthetic COWC: need at least one scene (train 0, test 0)");
    CHECK(synthetic_scene_name(11, true) == "syn-12.5%_t");
}

TEST_CASE("the synthetic COWC is the same as before, file by file", "[cowc][synthetic][golden]") {
    // SHA-256 of each file of `satsal make-cowc ROOT --scene-size 256 --train-scenes 1
    // --test-scenes 1 --angles 0,45 --bz2` as written by satsal before cowc/ existed (commit
    // 4002802): text files byte for byte; images by their decoded RGB pixels, interleaved (what
    // `gdal_translate -of ENVI -b 1 -b 2 -b 3 -co INTERLEAVE=BIP` gives), so that a libpng or zlib
    // update does not matter while any change of the generator, the patch cutter or the list
    // writer does.
    TempDir dir("golden");
    SyntheticCowcOptions o;
    o.root = dir.path();
    o.scene_width = o.scene_height = 256;
    o.train_scenes = 1;
    o.test_scenes = 1;
    o.patch_angles = {0, 45};
    o.bz2_lists = true;
    generate_synthetic_cowc(o);

    const std::vector<std::pair<std::string, std::string>> bytes = {
        {"COWC_test_list_64_class.txt", "06aafd475170d1db04e8eb48041499aa7da08fee4c85e72f9401f73522175f4b"},
        {"COWC_test_list_64_class.txt.bz2", "d8b43a4c39b5c8d40c3b9b8ebda1470ad6a7d066766bf689897fba46ad53f329"},
        {"COWC_train_list_64_class.txt", "cab0cad70718be83f03eeb997b42cd06fa6ee41ae366b26fe52e02ae05965d37"},
        {"COWC_train_list_64_class.txt.bz2", "10438a378b9f95146bfb9a30d955083de0047e2a2e12853679a2e1783b249762"},
        {"synthetic_scenes.csv", "583d4847802e37d415ea1e390dc8d893f1d6a58a0cef866fd1a50061f6da1b1f"},
    };
    const std::string truth = "ground_truth_sets/Synthetic_SATSAL/";
    const std::vector<std::pair<std::string, std::string>> pixels = {
        {"Synthetic_SATSAL/test/13.00352.00096.045.png", "1e97af2fe250016bc2da594448996d9474b5396b951a34142f3398b5335937d7"},
        {"Synthetic_SATSAL/test/16.00352.00096.000.png", "4cd576c6e3159e935181baad5520c7811a470f44039a68e48a94eb1bf82fbbff"},
        {"Synthetic_SATSAL/train/03.00096.00096.000.png", "f4f1450ac16376b35d3d8d8fd983d5ae7a8a4dafa52cf0eeda6c74b2e2d37ec0"},
        {"Synthetic_SATSAL/train/03.00096.00096.045.png", "11b0d6eabdb3181a01459670120e633e90d3a6e420db891eb16ea91af07d2b50"},
        {"geotiff/Synthetic_SATSAL/syn-01.5%_a.tif", "c6a0b962168907fbbdc00752ca87c6b424a38f023ae5eb80ec45ad5019098044"},
        {"geotiff/Synthetic_SATSAL/syn-02.5%_t.tif", "107284045b25fdc894255abb0892f0f0dc6a1f9590878d2c060436a9868416bc"},
        {truth + "syn-01.5%_a.png", "c6a0b962168907fbbdc00752ca87c6b424a38f023ae5eb80ec45ad5019098044"},
        {truth + "syn-01.5%_a_Annotated_Cars.png", "df1514fbd2c88c4a03dfd93bdf8f4268568832baad17b7862f377920c112f950"},
        {truth + "syn-01.5%_a_Annotated_Negatives.png", "0d0f78db8ffec97e17be98b14513fc702d96d4387cb67018394fa786dc1c49d7"},
        {truth + "syn-02.5%_t.png", "107284045b25fdc894255abb0892f0f0dc6a1f9590878d2c060436a9868416bc"},
        {truth + "syn-02.5%_t_Annotated_Cars.png", "9a2ae679e176031fb2ba714297801fdaa3c14487585092c65f8e0b04df7c55ef"},
        {truth + "syn-02.5%_t_Annotated_Negatives.png", "7f05b728cc7db9bd32ff2103755b28e240c2462017845d82ffb9c7a0dd0a58aa"},
    };
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path()))
        if (entry.is_regular_file()) ++files;
    CHECK(files == bytes.size() + pixels.size());
    for (const auto& [file, sha] : bytes) {
        INFO(file);
        CHECK(satsal::sha256_hex(read_bytes(dir / file)) == sha);
    }
    for (const auto& [file, sha] : pixels) {
        INFO(file);
        const Rgb8Image image = read_rgb(dir / file, "golden file");
        CHECK(satsal::sha256_hex(std::string(image.pixels.begin(), image.pixels.end())) == sha);
    }
}
