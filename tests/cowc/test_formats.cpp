// COWC formats: list files (plain and bz2), patch and detection names, annotations, window counts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/Names.hpp"
#include "cowc/Raster.hpp"
#include "tests/cowc/test_support.hpp"

using namespace satsal::cowc;
using satsal::cowc_test::TempDir;
using satsal::cowc_test::write_text;

TEST_CASE("counting patch names parse and format", "[cowc][names]") {
    const CountingPatchName n = parse_counting_patch_name("07.01234.00567.045.png");
    CHECK(n.count == 7);
    CHECK(n.x == 1234);
    CHECK(n.y == 567);
    CHECK(n.angle == 45);
    CHECK(format_counting_patch_name(n) == "07.01234.00567.045.png");
    CHECK(format_counting_patch_name({3, 5, 123456, 0}) == "03.00005.123456.000.png");
    CHECK(format_counting_patch_name({104, 0, 0, 345}) == "104.00000.00000.345.png");
    CHECK(parse_counting_patch_name("104.00000.00000.345.png") == CountingPatchName{104, 0, 0, 345});

    CHECK_THROWS_WITH(parse_counting_patch_name("07.01234.00567.png"),
                      "'07.01234.00567.png': expected a counting patch name {count:02d}.{x:05d}.{y:05d}.{angle:03d}.png"
                      " (need exactly 4 dot-separated fields)");
    CHECK_THROWS_WITH(parse_counting_patch_name("07.01234.00567.000.jpg"),
                      Catch::Contains("(no .png suffix)"));
    CHECK_THROWS_WITH(parse_counting_patch_name("07.0x234.00567.000.png"),
                      Catch::Contains("(every field must be a non-negative integer)"));
    CHECK_THROWS_WITH(parse_counting_patch_name("07.01234.00567.360.png"),
                      Catch::Contains("(angle 360 is not below 360)"));
    CHECK_THROWS_AS(format_counting_patch_name({-1, 0, 0, 0}), std::invalid_argument);
}

TEST_CASE("detection patch names are split from the right", "[cowc][names]") {
    const auto d = parse_detection_patch_name("car.Utah_AGRC-AGRC_15.0cm_12TVL240120.01234.00567.090.png");
    CHECK(d.is_car);
    CHECK(d.site == "Utah_AGRC");
    CHECK(d.source == "AGRC");
    CHECK(d.gsd_cm == "15.0");
    CHECK(d.scene == "12TVL240120");
    CHECK(d.x_value() == 1234);
    CHECK(d.y_value() == 567);
    CHECK(d.angle_value() == 90);

    // A scene name with dots, dashes, underscores and a percent sign, and a multi-part source.
    const std::string name = "neg.Columbus_CSUAV_AFRL-CSUAV_AFRL_15.0cm_syn-01.5%_a.00010.00020.015.png";
    const auto n = parse_detection_patch_name(name);
    CHECK_FALSE(n.is_car);
    CHECK(n.site == "Columbus_CSUAV_AFRL");
    CHECK(n.source == "CSUAV_AFRL");
    CHECK(n.scene == "syn-01.5%_a");
    CHECK(n.x == "00010");
    CHECK(n.y == "00020");
    CHECK(n.angle == "015");
    CHECK(format_detection_patch_name(n) == name);

    CHECK_THROWS_WITH(parse_detection_patch_name("dog.Utah_AGRC-AGRC_15.0cm_a.1.2.3.png"),
                      Catch::Contains("(prefix is neither car. nor neg.)"));
    CHECK_THROWS_WITH(parse_detection_patch_name("car.Utah_AGRC-AGRC_15.0cm_a.1.x.3.png"),
                      Catch::Contains("the last three dot fields must be integers"));
    CHECK_THROWS_WITH(parse_detection_patch_name("car.Utah_AGRC-AGRC_a.1.2.3.png"),
                      Catch::Contains("no '-<src>_<gsd>cm_<scene>' part"));
}

TEST_CASE("scene annotation paths come from suffixes, not dots", "[cowc][names]") {
    const auto p = scene_paths("/data/ground_truth_sets/Utah_AGRC/syn-01.5%_a.png");
    CHECK(p.name == "syn-01.5%_a");
    CHECK(p.cars == "/data/ground_truth_sets/Utah_AGRC/syn-01.5%_a_Annotated_Cars.png");
    CHECK(p.negatives == "/data/ground_truth_sets/Utah_AGRC/syn-01.5%_a_Annotated_Negatives.png");
    CHECK(scene_paths("top.potsdam_2-13.png").cars == "top.potsdam_2-13_Annotated_Cars.png");
    CHECK_THROWS_WITH(scene_paths("x/scene.tif"), "COWC scene 'x/scene.tif': expected a path ending in .png");
    CHECK_THROWS_AS(scene_paths("x/a_Annotated_Cars.png"), std::invalid_argument);
}

TEST_CASE("a hand-written list file parses into entries", "[cowc][list]") {
    TempDir dir("list_literal");
    // CRLF endings, a tab separator, a trailing blank line, as files from other tools have.
    const std::string path = dir.path() + "/COWC_train_list_64_class.txt";
    write_text(path,
               "Toronto_ISPRS/train/03.01234.00567.000.png 3\r\n"
               "Selwyn_LINZ/test/00.00096.00096.345.png\t0\r\n"
               "\r\n");
    const auto entries = read_counting_list(path);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].site == "Toronto_ISPRS");
    CHECK(entries[0].split == "train");
    CHECK(entries[0].file == "03.01234.00567.000.png");
    CHECK(entries[0].count == 3);
    CHECK(entries[0].name == CountingPatchName{3, 1234, 567, 0});
    CHECK(entries[0].relative_path() == "Toronto_ISPRS/train/03.01234.00567.000.png");
    CHECK(entries[1].site == "Selwyn_LINZ");
    CHECK(entries[1].split == "test");
    CHECK(entries[1].count == 0);
    CHECK(entries[1].name.angle == 345);
}

TEST_CASE("list files round-trip plain and bz2", "[cowc][list]") {
    TempDir dir("list_roundtrip");
    std::vector<CountingListEntry> entries;
    for (int i = 0; i < 500; ++i) {
        CountingListEntry e;
        e.site = i % 2 ? "Potsdam_ISPRS" : "Utah_AGRC";
        e.split = i % 3 ? "train" : "test";
        e.count = i % 41;
        e.name = {e.count, 96 + i * 7, 96 + i * 3, (i % 24) * 15};
        e.file = format_counting_patch_name(e.name);
        entries.push_back(e);
    }
    const std::string plain = dir.path() + "/sub/COWC_train_list_64_class.txt";
    const std::string bz2 = dir.path() + "/COWC_train_list_64_class.txt.bz2";
    write_counting_list(plain, entries);
    write_counting_list(bz2, entries);

    std::ifstream raw(bz2, std::ios::binary);
    std::string magic(3, '\0');
    raw.read(&magic[0], 3);
    CHECK(magic == "BZh");
    CHECK(std::filesystem::file_size(bz2) < std::filesystem::file_size(plain));

    for (const auto& path : {plain, bz2}) {
        const auto back = read_counting_list(path);
        REQUIRE(back.size() == entries.size());
        for (std::size_t i = 0; i < entries.size(); ++i) {
            CHECK(back[i].relative_path() == entries[i].relative_path());
            CHECK(back[i].count == entries[i].count);
            CHECK(back[i].name == entries[i].name);
        }
    }
    // The first line as text, exactly.
    std::ifstream in(plain);
    std::string first;
    std::getline(in, first);
    CHECK(first == "Utah_AGRC/test/00.00096.00096.000.png 0");
}

TEST_CASE("concatenated bz2 streams decompress fully; corrupt ones name the file", "[cowc][list]") {
    const std::string a = "Utah_AGRC/train/01.00096.00096.000.png 1\n";
    const std::string b = "Utah_AGRC/train/02.00192.00096.000.png 2\n";
    const std::string joined = bzip2_compress(a, "a") + bzip2_compress(b, "b");
    CHECK(bzip2_decompress(joined, "joined") == a + b);

    TempDir dir("list_corrupt");
    std::string damaged = bzip2_compress(a + b, "x");
    damaged.resize(damaged.size() / 2);
    const std::string path = dir.path() + "/COWC_test_list_64_class.txt.bz2";
    write_text(path, damaged);
    CHECK_THROWS_WITH(read_counting_list(path), Catch::StartsWith("'" + path + "': bzip2"));
    CHECK_THROWS_WITH(read_counting_list(dir.path() + "/missing.txt"),
                      "cannot open COWC list file '" + dir.path() + "/missing.txt'");
}

TEST_CASE("malformed list lines are errors naming file and line", "[cowc][list]") {
    TempDir dir("list_bad");
    const std::string good = "Utah_AGRC/train/01.00096.00096.000.png 1\n";
    const std::string path = dir.path() + "/COWC_train_list_64_class.txt";

    write_text(path, good + "\nUtah_AGRC/train/01.00096.00096.000.png 1 extra\n");
    CHECK_THROWS_WITH(read_counting_list(path),
                      path + ":3: expected '<Site>/<split>/<file>.png <count>' (2 fields), found 3 fields in "
                             "'Utah_AGRC/train/01.00096.00096.000.png 1 extra'");

    write_text(path, good + "Utah_AGRC/train/01.00096.00096.000.png\n");
    CHECK_THROWS_WITH(read_counting_list(path),
                      path + ":2: expected '<Site>/<split>/<file>.png <count>' (2 fields), found 1 fields in "
                             "'Utah_AGRC/train/01.00096.00096.000.png'");

    write_text(path, good + good + "Utah_AGRC/train/01.00096.00096.000.png one\n");
    CHECK_THROWS_WITH(read_counting_list(path), path + ":3: expected a non-negative integer count, found 'one'");

    write_text(path, "Utah_AGRC/train/01.00096.00096.000.png -1\n");
    CHECK_THROWS_WITH(read_counting_list(path), path + ":1: expected a non-negative integer count, found '-1'");

    write_text(path, good + "Utah_AGRC/train/01.00096.00096.png 1\n");
    CHECK_THROWS_WITH(read_counting_list(path),
                      path + ":2: '01.00096.00096.png': expected a counting patch name "
                             "{count:02d}.{x:05d}.{y:05d}.{angle:03d}.png (need exactly 4 dot-separated fields)");

    write_text(path, "train/01.00096.00096.000.png 1\n");
    CHECK_THROWS_WITH(read_counting_list(path),
                      path + ":1: expected the patch path '<Site>/<split>/<file>.png', found "
                             "'train/01.00096.00096.000.png'");

    // The same message through the bz2 path: line numbers count decompressed lines.
    const std::string bz = dir.path() + "/COWC_test_list_64_class.txt.bz2";
    write_text(bz, bzip2_compress(good + good + good + "Utah_AGRC/test/xx.00096.00096.000.png 1\n", bz));
    CHECK_THROWS_WITH(read_counting_list(bz), Catch::StartsWith(bz + ":4: 'xx.00096.00096.000.png': expected"));
}

TEST_CASE("annotation images read back the drawn positions", "[cowc][annotations]") {
    TempDir dir("annotations");
    const std::vector<PixelPosition> drawn = {{0, 0}, {299, 0}, {17, 5}, {18, 5}, {150, 99}, {299, 199}, {0, 199}};
    const ObjectPositions positions(300, 200, drawn);
    const std::string path = dir.path() + "/syn-01.5%_a_Annotated_Cars.png";
    write_annotation_png(path, positions);

    const ObjectPositions back = read_annotation_positions(path);
    CHECK(back.width() == 300);
    CHECK(back.height() == 200);
    std::vector<PixelPosition> expected = drawn;
    std::sort(expected.begin(), expected.end());
    CHECK(back.positions() == expected);

    // The written file is COWC's RGBA: red 255 and alpha 255 at the dot, zero elsewhere.
    const Rgb8Image rgb = read_rgb(path, "annotation");
    CHECK(int(rgb.at(17, 5)[0]) == 255);
    CHECK(int(rgb.at(17, 5)[1]) == 0);
    CHECK(int(rgb.at(16, 5)[0]) == 0);
}

TEST_CASE("annotation pixels count only with non-zero colour and alpha", "[cowc][annotations]") {
    TempDir dir("annotations_alpha");
    // Hand-made RGBA: (2,1) red+alpha (object), (5,1) red with alpha 0 (not), (7,3) alpha only (not),
    // (9,4) green+alpha (object: any colour band counts).
    const int w = 12, h = 6;
    std::vector<uint8_t> rgba(static_cast<std::size_t>(w) * h * 4, 0);
    auto put = [&](int x, int y, uint8_t r, uint8_t g, uint8_t b, uint8_t a) {
        uint8_t* p = &rgba[(static_cast<std::size_t>(y) * w + x) * 4];
        p[0] = r;
        p[1] = g;
        p[2] = b;
        p[3] = a;
    };
    put(2, 1, 255, 0, 0, 255);
    put(5, 1, 255, 0, 0, 0);
    put(7, 3, 0, 0, 0, 255);
    put(9, 4, 0, 200, 0, 255);
    const std::string path = dir.path() + "/hand_Annotated_Cars.png";
    satsal::cowc_test::write_rgba_png(path, w, h, rgba);
    const auto p = read_annotation_positions(path);
    CHECK(p.positions() == std::vector<PixelPosition>{{2, 1}, {9, 4}});
}

TEST_CASE("window counts use half-open bounds", "[cowc][annotations]") {
    const ObjectPositions p(10, 10, {{0, 0}, {3, 3}, {4, 3}, {9, 9}, {5, 0}});
    CHECK(p.count_in_window(0, 0, 10, 10) == 5);
    CHECK(p.count_in_window(0, 0, 1, 1) == 1);   // (0,0) inside
    CHECK(p.count_in_window(1, 1, 3, 3) == 0);   // (3,3) is on the excluded right/bottom edge
    CHECK(p.count_in_window(3, 3, 4, 4) == 1);   // only (3,3); (4,3) is at x1
    CHECK(p.count_in_window(3, 3, 5, 4) == 2);
    CHECK(p.count_in_window(9, 9, 10, 10) == 1);
    CHECK(p.count_in_window(-5, -5, 0, 100) == 0);  // x1 = 0 excludes column 0
    CHECK(p.count_in_window(-5, -5, 1, 100) == 1);
    CHECK(p.count_in_window(4, 0, 6, 1) == 1);   // (5,0)
    CHECK(p.count_in_window(6, 0, 4, 10) == 0);  // empty window
    CHECK(p.positions_in_window(3, 0, 6, 4) == std::vector<PixelPosition>{{5, 0}, {3, 3}, {4, 3}});
    CHECK_THROWS_WITH(ObjectPositions(10, 10, {{10, 0}}), "object at (10, 0) lies outside the 10 x 10 image");
    CHECK_THROWS_AS(ObjectPositions(10, 10, {{1, 1}, {1, 1}}), std::invalid_argument);
}

TEST_CASE("ownership cores partition the dots: window counts sum to the total", "[cowc][annotations]") {
    std::mt19937 gen(42);
    const int w = 1000, h = 700;
    std::set<std::pair<int, int>> unique;
    std::uniform_int_distribution<int> ux(0, w - 1), uy(0, h - 1);
    while (unique.size() < 3000) unique.insert({ux(gen), uy(gen)});
    // Add dots on the future core boundaries too.
    for (int y = 0; y < h; y += 50) unique.insert({192, y});
    std::vector<PixelPosition> dots;
    for (const auto& d : unique) dots.push_back({d.first, d.second});
    const ObjectPositions p(w, h, dots);

    for (int core : {64, 192, 255, 333}) {
        int64_t sum = 0;
        for (int y = 0; y < h; y += core)
            for (int x = 0; x < w; x += core) sum += p.count_in_window(x, y, x + core, y + core);
        CHECK(sum == static_cast<int64_t>(dots.size()));
    }
    // An irregular grid (cut positions differ per axis), cores overhanging the scene edges.
    const std::vector<int> xs = {-40, 0, 1, 191, 192, 500, 501, 999, 1040};
    const std::vector<int> ys = {-3, 17, 18, 350, 699, 700};
    int64_t sum = 0;
    for (std::size_t j = 0; j + 1 < ys.size(); ++j)
        for (std::size_t i = 0; i + 1 < xs.size(); ++i) sum += p.count_in_window(xs[i], ys[j], xs[i + 1], ys[j + 1]);
    CHECK(sum == static_cast<int64_t>(dots.size()));
    // Brute force agrees on a few arbitrary windows.
    for (const auto& win : std::vector<std::array<int, 4>>{{10, 20, 300, 400}, {192, 0, 384, 700}, {999, 699, 1000, 700}}) {
        int64_t brute = 0;
        for (const auto& d : dots) brute += d.x >= win[0] && d.x < win[2] && d.y >= win[1] && d.y < win[3];
        CHECK(p.count_in_window(win[0], win[1], win[2], win[3]) == brute);
    }
}

TEST_CASE("annotation size differing from the scene is an error naming both", "[cowc][annotations]") {
    TempDir dir("size_mismatch");
    const std::string scene = dir.path() + "/top-2.13%x.png";
    write_png(scene, Rgb8Image(120, 100, 10, 20, 30));
    const auto paths = scene_paths(scene);
    write_annotation_png(paths.cars, ObjectPositions(100, 100, {{5, 5}}));
    write_annotation_png(paths.negatives, ObjectPositions(120, 100, {}));
    CHECK_THROWS_WITH(read_scene_annotations(scene),
                      "COWC annotation '" + paths.cars + "' is 100 x 100 pixels but its scene '" + scene +
                          "' is 120 x 100: they must have the same size");

    write_annotation_png(paths.cars, ObjectPositions(120, 100, {{5, 5}, {119, 99}}));
    const auto a = read_scene_annotations(scene);
    CHECK(a.cars.size() == 2);
    CHECK(a.has_negatives);
    CHECK(a.negatives.size() == 0);

    std::filesystem::remove(paths.negatives);
    CHECK_THROWS_WITH(read_scene_annotations(scene), Catch::StartsWith("cannot open COWC annotation '" + paths.negatives + "'"));
    CHECK_FALSE(read_scene_annotations(scene, false).has_negatives);
}
