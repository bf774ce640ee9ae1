#pragma once
// COWC counting patches: geometry, cutting from annotated scenes, and reading.
//
// Geometry (all in scene pixels; pixel (x, y) covers [x, x+1) x [y, y+1), its centre is at
// (x + 0.5, y + 0.5)). A patch with centre (cx, cy) and angle a is 256 x 256: its central
// 192 x 192 (patch pixels 32..223 in both axes) holds the scene, the 32 px margin is filled
// with COWC's mean colour RGB (123, 117, 104). The patch shows the scene rotated by a degrees
// counter-clockwise as displayed, about the point (cx, cy) (the corner shared by pixels
// (cx-1, cy-1) and (cx, cy)): patch pixel (i, j) samples the scene bilinearly at
//     (cx, cy) + R^T (i + 0.5 - 128, j + 0.5 - 128),   R = [[cos a, sin a], [-sin a, cos a]],
// so at a = 0 patch pixel (i, j) is exactly scene pixel (cx - 128 + i, cy - 128 + j) and the
// content is scene pixels [cx-96, cx+96) x [cy-96, cy+96). Scene samples outside the image take
// the margin colour.
//
// Which cars count: a car whose dot (annotation pixel (x, y)) lands on a content pixel, i.e.
// d = R (x + 0.5 - cx, y + 0.5 - cy) has -96 <= d.x < 96 and -96 <= d.y < 96 (half-open, so
// at a = 0 it is exactly the window count of [cx-96, cx+96) x [cy-96, cy+96), and abutting
// patches at stride 192 partition the dots). Multiples of 90 degrees use exact sines/cosines.
//
// Thread rules: the free functions open their own handles; cut_counting_patches writes files
// under out_root and must not run concurrently with another call writing the same folder.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/Raster.hpp"

namespace satsal::cowc {

constexpr int kPatchSize = 256;
constexpr int kPatchContent = 192;
constexpr int kPatchMargin = (kPatchSize - kPatchContent) / 2;  // 32
constexpr std::array<uint8_t, 3> kPatchMarginColour = {123, 117, 104};

/// Centre of a patch in scene pixels (see the geometry above).
struct PatchCentre {
    int x = 0;
    int y = 0;
};

/// True when the dot at annotation pixel `dot` falls in the content square of the patch.
bool dot_in_patch_content(const PixelPosition& dot, int cx, int cy, int angle_degrees);

/// Number of objects in the content square of the patch.
int count_in_patch(const ObjectPositions& objects, int cx, int cy, int angle_degrees);

/// Centres of a regular grid whose angle-0 content squares lie inside the scene:
/// cx = 96 + k * stride while cx + 96 <= width (same for y); empty when the scene is smaller
/// than 192 px. Throws std::invalid_argument for stride <= 0.
std::vector<PatchCentre> grid_patch_centres(int width, int height, int stride);

/// Renders one patch from a scene reader. The reader is forward-only: call in order of
/// non-decreasing cy.
Rgb8Image render_counting_patch(SceneRowReader& scene, int cx, int cy, int angle_degrees);

/// Options of cut_counting_patches.
struct CountingPatchOptions {
    std::string site;             ///< `<Site>` folder and list prefix, e.g. `Utah_AGRC`
    std::string split = "train";  ///< `<split>` folder, e.g. `train` or `test`
    int stride = 96;              ///< grid stride (pixels) when `centres` is empty
    std::vector<PatchCentre> centres;  ///< explicit centres; overrides the grid when non-empty
    std::vector<int> angles = {0};     ///< degrees, multiples of 15 in [0, 360)
    /// Added to (cx, cy) in the patch *names* only: lets several scenes of one site share a
    /// `<Site>/<split>` folder without name clashes (e.g. the scene's offset in a site mosaic).
    int name_offset_x = 0;
    int name_offset_y = 0;
    /// zlib level of the patch PNGs (1..9): PNG encoding dominates the cutting time, and level 3
    /// is about 3x faster than libpng's usual 6 for 6% more bytes.
    int png_zlevel = 3;
};

/// Cuts 256 x 256 counting patches from `scene_png` and writes them as
/// `<out_root>/<site>/<split>/{count:02d}.{x:05d}.{y:05d}.{angle:03d}.png`, count = cars in the
/// content square (see above). Returns the list entries (count = name count) in the order
/// written: by cy, then cx, then angle. Write them with write_counting_list.
/// Throws std::invalid_argument for bad options (empty site/split, angle not a multiple of 15,
/// `cars` sized unlike the scene, two patches of this call that would get the same name) and
/// IoError naming the file on I/O errors. Patches are written through `<name>.partial`.
std::vector<CountingListEntry> cut_counting_patches(const std::string& scene_png, const ObjectPositions& cars,
                                                    const std::string& out_root,
                                                    const CountingPatchOptions& options);

/// What cut_counting_patch_set wrote.
struct CountingPatchSetResult {
    std::string list_path;                    ///< `<out_root>/COWC_<split>_list_64_class.txt[.bz2]`
    std::vector<CountingListEntry> entries;   ///< all patches, scene by scene
    std::vector<int> scene_name_offset_x;     ///< name_offset_x used for each scene
};

/// The whole `satsal cowc-patches` job for one split: for each scene (a COWC `<scene>.png` with
/// `<scene>_Annotated_Cars.png` beside it; negatives are not needed), cut patches with
/// `options` into `<out_root>/<site>/<split>/` and write the list
/// `<out_root>/COWC_<split>_list_64_class.txt` (`.bz2` appended and compressed when `bz2`).
/// Scenes are placed side by side in a site mosaic for naming: scene i's patch names get
/// name_offset_x = options.name_offset_x + the widths of scenes 0..i-1, so patches of different
/// scenes never share a name (the offsets are returned). Errors name the scene or file.
CountingPatchSetResult cut_counting_patch_set(const std::vector<std::string>& scene_pngs, const std::string& out_root,
                                              const CountingPatchOptions& options, bool bz2 = false);

/// Reads a counting patch; it must be 256 x 256 RGB (an alpha band is dropped). Throws
/// IoError naming the file and what was found otherwise.
Rgb8Image read_counting_patch(const std::string& path);

}  // namespace satsal::cowc
