#include "cowc/Synthetic.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "cowc/CountingList.hpp"
#include "cowc/Names.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/SyntheticCanvas.hpp"
#include "cowc/SyntheticV1.hpp"
#include "cowc/SyntheticV2.hpp"
#include "io/AtomicFile.hpp"
#include "io/GeoReference.hpp"

namespace satsal::cowc {
namespace {

using synthetic_detail::derive_seed;


std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

SyntheticScene render_synthetic_scene(int width, int height, uint64_t seed) {
    if (width < 256 || height < 256)
        throw std::invalid_argument("synthetic COWC scene must be at least 256 x 256 pixels, got " +
                                    std::to_string(width) + " x " + std::to_string(height));
    return synthetic_detail::SceneBuilderV1(width, height, seed).build();
}

SyntheticScene render_synthetic_scene_v2(int width, int height, uint64_t seed, const std::vector<std::string>& palettes) {
    if (width < 256 || height < 256)
        throw std::invalid_argument("synthetic COWC scene must be at least 256 x 256 pixels, got " +
                                    std::to_string(width) + " x " + std::to_string(height));
    return synthetic_detail::SceneBuilderV2(width, height, seed, palettes.empty() ? synthetic_training_palettes() : palettes)
        .build();
}

std::string synthetic_scene_name(int index, bool test) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "syn-%02d.5%%_%s", index + 1, test ? "t" : "a");
    return buf;
}

SyntheticCowcResult generate_synthetic_cowc(const SyntheticCowcOptions& o) {
    if (o.root.empty()) throw std::invalid_argument("synthetic COWC: no output root given");
    if (o.site.empty() || o.site.find('/') != std::string::npos)
        throw std::invalid_argument("synthetic COWC: site '" + o.site + "' must be a non-empty folder name");
    if (o.scene_width < 256 || o.scene_height < 256)
        throw std::invalid_argument("synthetic COWC: scenes must be at least 256 x 256 pixels, got " +
                                    std::to_string(o.scene_width) + " x " + std::to_string(o.scene_height));
    if (o.train_scenes < 0 || o.test_scenes < 0 || o.train_scenes + o.test_scenes == 0)
        throw std::invalid_argument("synthetic COWC: need at least one scene (train " + std::to_string(o.train_scenes) +
                                    ", test " + std::to_string(o.test_scenes) + ")");

    if (o.style != "v1" && o.style != "v2")
        throw std::invalid_argument("synthetic COWC: style '" + o.style + "' is not known; expected v1 or v2");
    if (o.style == "v1" && !o.palettes.empty())
        throw std::invalid_argument("synthetic COWC: palettes are a v2 option (style is v1)");
    for (const std::string& p : o.palettes) synthetic_detail::palette_named(p);  // names the bad one

    SyntheticCowcResult result;
    std::vector<CountingListEntry> train_entries, test_entries;
    const int total = o.train_scenes + o.test_scenes;
    const std::string truth_dir = o.root + "/ground_truth_sets/" + o.site;
    for (int k = 0; k < total; ++k) {
        const bool test = k >= o.train_scenes;
        SyntheticCowcSceneInfo info;
        info.split = test ? "test" : "train";
        info.name = synthetic_scene_name(k, test);
        info.width = o.scene_width;
        info.height = o.scene_height;
        info.mosaic_x = k * o.scene_width;
        const ScenePaths paths = scene_paths(truth_dir + "/" + info.name + ".png");
        info.scene_png = paths.scene;
        info.cars_png = paths.cars;
        info.negatives_png = paths.negatives;

        const uint64_t scene_seed = derive_seed(o.seed, static_cast<uint64_t>(k));
        SyntheticScene scene = o.style == "v2" ? render_synthetic_scene_v2(o.scene_width, o.scene_height, scene_seed, o.palettes)
                                               : render_synthetic_scene(o.scene_width, o.scene_height, scene_seed);
        const ObjectPositions cars(o.scene_width, o.scene_height, scene.cars);
        const ObjectPositions negatives(o.scene_width, o.scene_height, scene.negatives);
        info.cars = cars.size();
        info.negatives = negatives.size();
        write_png(paths.scene, scene.image, o.png_zlevel);
        write_annotation_png(paths.cars, cars);
        write_annotation_png(paths.negatives, negatives);
        if (o.write_geotiffs) {
            info.geotiff = o.root + "/geotiff/" + o.site + "/" + info.name + ".tif";
            const double pixel_size = 0.15;
            const GeoReference geo = GeoReference::from_epsg(
                o.utm_epsg, {o.origin_easting + info.mosaic_x * pixel_size, pixel_size, 0.0, o.origin_northing, 0.0,
                             -pixel_size});
            write_geotiff(info.geotiff, scene.image, geo);
        }
        if (o.write_patches) {
            CountingPatchOptions po;
            po.site = o.site;
            po.split = info.split;
            po.stride = o.patch_stride;
            po.angles = o.patch_angles;
            po.name_offset_x = info.mosaic_x;
            po.png_zlevel = o.png_zlevel;
            auto entries = cut_counting_patches(paths.scene, cars, o.root, po);
            info.patches = entries.size();
            auto& into = test ? test_entries : train_entries;
            auto& histogram = test ? result.test_count_histogram : result.train_count_histogram;
            for (auto& e : entries) {
                if (histogram.size() <= static_cast<std::size_t>(e.count)) histogram.resize(static_cast<std::size_t>(e.count) + 1, 0);
                ++histogram[static_cast<std::size_t>(e.count)];
                into.push_back(std::move(e));
            }
        }
        result.scenes.push_back(std::move(info));
        if (o.on_scene) o.on_scene(result.scenes.back(), k, total);
    }

    if (o.write_patches) {
        result.train_list = o.root + "/COWC_train_list_64_class.txt";
        result.test_list = o.root + "/COWC_test_list_64_class.txt";
        write_counting_list(result.train_list, train_entries);
        write_counting_list(result.test_list, test_entries);
        if (o.bz2_lists) {
            write_counting_list(result.train_list + ".bz2", train_entries);
            write_counting_list(result.test_list + ".bz2", test_entries);
        }
    }

    const std::string manifest = o.root + "/synthetic_scenes.csv";
    std::ostringstream csv;
    csv << "site,split,scene,width,height,cars,negatives,patches,mosaic_x,scene_png,geotiff,epsg,origin_x,origin_y,"
           "pixel_size,seed\n";
    for (const auto& s : result.scenes) {
        const auto rel = [&](const std::string& p) {
            return p.empty() ? std::string() : std::filesystem::path(p).lexically_relative(o.root).generic_string();
        };
        char geo[128];
        std::snprintf(geo, sizeof geo, "%d,%.3f,%.3f,0.15", o.utm_epsg, o.origin_easting + s.mosaic_x * 0.15,
                      o.origin_northing);
        csv << csv_field(o.site) << ',' << s.split << ',' << csv_field(s.name) << ',' << s.width << ',' << s.height << ','
            << s.cars << ',' << s.negatives << ',' << s.patches << ',' << s.mosaic_x << ',' << csv_field(rel(s.scene_png))
            << ',' << csv_field(rel(s.geotiff)) << ',' << geo << ',' << o.seed << '\n';
    }
    // Written last and atomically: its presence says the set is complete (ensure_synthetic_cowc_demo).
    write_text_file(manifest, csv.str());
    return result;
}

bool ensure_synthetic_cowc_demo(const std::string& root, const std::function<void(const std::string& text)>& on_note) {
    if (std::filesystem::exists(std::filesystem::path(root) / "synthetic_scenes.csv")) return false;
    SyntheticCowcOptions options;
    options.root = root;
    options.train_scenes = 0;
    options.test_scenes = 1;
    options.seed = 2026;
    options.write_patches = false;
    if (on_note) on_note("generating the synthetic COWC demo scene under " + root + " (once)");
    generate_synthetic_cowc(options);
    return true;
}

}  // namespace satsal::cowc