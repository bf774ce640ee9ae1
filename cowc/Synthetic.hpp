#pragma once
// A synthetic COWC: overhead scenes at 15 cm/pixel with roads and lane markings, parking lots,
// houses and flat-roofed buildings with shadows, trees, and cars of many colours and
// orientations (about 4.5 x 1.8 m = 30 x 12 px), plus car-like distractors that COWC would mark
// as negatives (shipping containers, car-sized trailers and boxes, dumpsters, boats on trailers,
// rooftop HVAC units). Written in COWC's own layout so every COWC reader in satsal can be tested
// and a counting model trained without the real data set:
//
//   <root>/ground_truth_sets/<site>/<scene>.png                 RGB scene
//   <root>/ground_truth_sets/<site>/<scene>_Annotated_Cars.png   RGBA, one dot per car
//   <root>/ground_truth_sets/<site>/<scene>_Annotated_Negatives.png
//   <root>/geotiff/<site>/<scene>.tif                            same pixels, UTM, 0.15 m
//   <root>/<site>/train/<count>.<x>.<y>.<angle>.png              counting patches (train scenes)
//   <root>/<site>/test/...                                       counting patches (test scenes)
//   <root>/COWC_train_list_64_class.txt, <root>/COWC_test_list_64_class.txt
//   <root>/synthetic_scenes.csv                                  one line per scene (manifest)
//
// Scene names contain '.', '-' and '%' like real ones: `syn-01.5%_a` (train), `syn-05.5%_t`
// (test). Scenes are laid side by side in a site mosaic (scene k starts at x = k * width): the
// GeoTIFF origins and the x in patch names use mosaic coordinates, so patch names of different
// scenes never clash in the shared `<site>/<split>` folders. Test scenes are separate scenes,
// never cut into train patches.
//
// Everything is a function of the options: the same seed gives byte-identical files (the
// random generator is our own SplitMix64, not std:: distributions, whose output differs between
// standard libraries).
//
// Two styles write the same files: v1 (the default, described above) and v2 (options.style = "v2",
// cowc/SyntheticV2.hpp: composed like real 15 cm imagery, with named palettes).
//
// Thread rules: free functions, no shared state; two calls must not write the same root.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cowc/Annotations.hpp"
#include "cowc/Raster.hpp"

namespace satsal::cowc {

/// One synthetic scene in memory.
struct SyntheticScene {
    Rgb8Image image;
    std::vector<PixelPosition> cars;       ///< centre pixel of each car
    std::vector<PixelPosition> negatives;  ///< centre pixel of each distractor
};

/// Renders one scene in the first style, v1 (deterministic in width, height and seed). Throws
/// std::invalid_argument for a scene smaller than 256 x 256.
SyntheticScene render_synthetic_scene(int width, int height, uint64_t seed);

/// Renders one scene in style v2 (cowc/SyntheticV2.hpp: composed like real 15 cm imagery, a
/// per-scene sun, ground sample distance 15 cm +- 10%, sensor effects), its palette drawn from
/// `palettes` (empty: synthetic_training_palettes()). Deterministic in all arguments. Throws
/// std::invalid_argument for a scene smaller than 256 x 256 or an unknown palette.
SyntheticScene render_synthetic_scene_v2(int width, int height, uint64_t seed,
                                         const std::vector<std::string>& palettes = {});

/// Every v2 palette name, and the ones a default v2 set draws from (all but the held-out
/// `autumn-dusk`, kept for the domain-shift check).
const std::vector<std::string>& synthetic_palette_names();
const std::vector<std::string>& synthetic_training_palettes();

struct SyntheticCowcSceneInfo;

struct SyntheticCowcOptions {
    std::string root;                       ///< output folder (created)
    std::string site = "Synthetic_SATSAL";  ///< site folder name
    int scene_width = 2000;                 ///< pixels (0.15 m each): 2000 px = 300 m
    int scene_height = 2000;
    int train_scenes = 4;
    int test_scenes = 1;
    uint64_t seed = 1;
    bool write_patches = true;              ///< cut counting patch sets and write the lists
    int patch_stride = 96;                  ///< grid stride of patch centres (pixels)
    std::vector<int> patch_angles = {0};    ///< degrees, multiples of 15
    bool bz2_lists = false;                 ///< also write `.bz2` copies of both lists
    bool write_geotiffs = true;
    int png_zlevel = 3;                     ///< zlib level of scene and patch PNGs (1..9)
    int utm_epsg = 32617;                   ///< WGS 84 / UTM 17N (Columbus, Toronto)
    double origin_easting = 330000.0;       ///< top-left corner of the site mosaic, metres
    double origin_northing = 4430000.0;
    std::string style = "v1";               ///< scene generator: v1 | v2 (same files, same layout)
    std::vector<std::string> palettes;      ///< v2 only: palettes to draw from (empty: the training ones)
    /// Called after each scene is written (e.g. to print progress); may be empty.
    std::function<void(const SyntheticCowcSceneInfo&, int index, int total)> on_scene;
};

/// What was written.
struct SyntheticCowcSceneInfo {
    std::string split;       ///< "train" or "test"
    std::string name;        ///< scene name, e.g. `syn-01.5%_a`
    std::string scene_png;   ///< full paths
    std::string cars_png;
    std::string negatives_png;
    std::string geotiff;     ///< empty when not written
    int width = 0;
    int height = 0;
    int mosaic_x = 0;        ///< offset added to patch-name x (site mosaic column of pixel 0)
    std::size_t cars = 0;
    std::size_t negatives = 0;
    std::size_t patches = 0;
};

struct SyntheticCowcResult {
    std::vector<SyntheticCowcSceneInfo> scenes;
    std::string train_list;  ///< `<root>/COWC_train_list_64_class.txt` (empty without patches)
    std::string test_list;
    std::vector<std::size_t> train_count_histogram;  ///< [count] -> number of train patches
    std::vector<std::size_t> test_count_histogram;
};

/// Generates the whole synthetic COWC under options.root (see the layout above). Throws
/// std::invalid_argument for bad options and IoError naming the file on I/O errors.
SyntheticCowcResult generate_synthetic_cowc(const SyntheticCowcOptions& options);

/// The demo set of `satsal run configs/cowc-demo.ini`: when `root`/synthetic_scenes.csv does not
/// exist yet, generates one held-out 2000 x 2000 scene (seed 2026, no patches) under `root`, with
/// its annotations and GeoTIFF; otherwise does nothing. Returns true when it generated. `on_note`
/// (may be empty) hears one line before a generation starts; the library prints nothing itself.
bool ensure_synthetic_cowc_demo(const std::string& root,
                                const std::function<void(const std::string& text)>& on_note = {});

/// The scene name used for scene index k (0-based) of a split: `syn-<k+1:02d>.5%_a` for train,
/// `..._t` for test.
std::string synthetic_scene_name(int index, bool test);

}  // namespace satsal::cowc
