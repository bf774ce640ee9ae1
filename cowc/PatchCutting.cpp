#include "cowc/PatchCutting.hpp"

#include "io/FolderCommit.hpp"
#include "io/OutputLock.hpp"
#include "io/PathPolicy.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <tuple>

#include "io/IoError.hpp"
#include "io/RasterReader.hpp"

namespace satsal::cowc {
namespace {

struct Rotation {
    double c = 1.0;
    double s = 0.0;
};

// Exact values at multiples of 90 degrees keep angle-0/90/180/270 patches pixel-exact.
Rotation rotation(int angle_degrees) {
    const int a = ((angle_degrees % 360) + 360) % 360;
    switch (a) {
        case 0: return {1.0, 0.0};
        case 90: return {0.0, 1.0};
        case 180: return {-1.0, 0.0};
        case 270: return {0.0, -1.0};
        default: {
            const double r = a * M_PI / 180.0;
            return {std::cos(r), std::sin(r)};
        }
    }
}

// Half-diagonal of the content square plus one pixel for the bilinear neighbour.
constexpr int kSampleReach = 138;

}  // namespace

bool dot_in_patch_content(const PixelPosition& dot, int cx, int cy, int angle_degrees) {
    const Rotation r = rotation(angle_degrees);
    const double sx = dot.x + 0.5 - cx;
    const double sy = dot.y + 0.5 - cy;
    const double px = r.c * sx + r.s * sy;
    const double py = -r.s * sx + r.c * sy;
    const double h = kPatchContent / 2.0;
    return px >= -h && px < h && py >= -h && py < h;
}

int count_in_patch(const ObjectPositions& objects, int cx, int cy, int angle_degrees) {
    int n = 0;
    for (const auto& p : objects.positions_in_window(cx - kSampleReach, cy - kSampleReach, cx + kSampleReach,
                                                     cy + kSampleReach))
        if (dot_in_patch_content(p, cx, cy, angle_degrees)) ++n;
    return n;
}

std::vector<PatchCentre> grid_patch_centres(int width, int height, int stride) {
    if (stride <= 0) throw std::invalid_argument("patch stride must be positive, got " + std::to_string(stride));
    std::vector<PatchCentre> centres;
    const int h = kPatchContent / 2;
    for (int y = h; y + h <= height; y += stride)
        for (int x = h; x + h <= width; x += stride) centres.push_back({x, y});
    return centres;
}

Rgb8Image render_counting_patch(SceneRowReader& scene, int cx, int cy, int angle_degrees) {
    scene.ensure_rows(cy - kSampleReach, cy + kSampleReach);
    const Rotation r = rotation(angle_degrees);
    Rgb8Image patch(kPatchSize, kPatchSize, kPatchMarginColour[0], kPatchMarginColour[1], kPatchMarginColour[2]);
    const int w = scene.width();
    const int h = scene.height();
    const uint8_t* margin = kPatchMarginColour.data();
    if (((angle_degrees % 360) + 360) % 360 == 0) {
        // Angle 0 is a plain copy (the bilinear weights are exactly 0 and 1): copy row spans.
        for (int j = kPatchMargin; j < kPatchMargin + kPatchContent; ++j) {
            const int y = cy - kPatchSize / 2 + j;
            if (y < 0 || y >= h) continue;
            const int x_first = std::max(cx - kPatchSize / 2 + kPatchMargin, 0);
            const int x_end = std::min(cx - kPatchSize / 2 + kPatchMargin + kPatchContent, w);
            if (x_end <= x_first) continue;
            std::copy(scene.row(y) + static_cast<std::size_t>(x_first) * 3, scene.row(y) + static_cast<std::size_t>(x_end) * 3,
                      patch.at(x_first - (cx - kPatchSize / 2), j));
        }
        return patch;
    }
    auto pixel = [&](int x, int y) -> const uint8_t* {
        if (x < 0 || y < 0 || x >= w || y >= h) return margin;
        return scene.row(y) + static_cast<std::size_t>(x) * 3;
    };
    for (int j = kPatchMargin; j < kPatchMargin + kPatchContent; ++j) {
        const double dy = j + 0.5 - kPatchSize / 2.0;
        for (int i = kPatchMargin; i < kPatchMargin + kPatchContent; ++i) {
            const double dx = i + 0.5 - kPatchSize / 2.0;
            // Scene position of the patch pixel centre, then to pixel-index space (centre at +0.5).
            const double u = cx + r.c * dx - r.s * dy - 0.5;
            const double v = cy + r.s * dx + r.c * dy - 0.5;
            const double fu = std::floor(u);
            const double fv = std::floor(v);
            const int x0 = static_cast<int>(fu);
            const int y0 = static_cast<int>(fv);
            const double ax = u - fu;
            const double ay = v - fv;
            const uint8_t* p00 = pixel(x0, y0);
            const uint8_t* p10 = pixel(x0 + 1, y0);
            const uint8_t* p01 = pixel(x0, y0 + 1);
            const uint8_t* p11 = pixel(x0 + 1, y0 + 1);
            uint8_t* out = patch.at(i, j);
            for (int c = 0; c < 3; ++c) {
                const double top = p00[c] + ax * (p10[c] - p00[c]);
                const double bottom = p01[c] + ax * (p11[c] - p01[c]);
                const double value = top + ay * (bottom - top);
                out[c] = static_cast<uint8_t>(std::clamp(std::lround(value), 0L, 255L));
            }
        }
    }
    return patch;
}

std::vector<CountingListEntry> cut_counting_patches(const std::string& scene_png, const ObjectPositions& cars,
                                                    const std::string& out_root,
                                                    const CountingPatchOptions& options) {
    if (!is_safe_name_component(options.site) || !is_safe_name_component(options.split))
        throw std::invalid_argument("counting patches of '" + scene_png + "': site ('" + printable(options.site) +
                                    "') and split ('" + printable(options.split) +
                                    "') must be plain folder names (not empty, no '/', not '.' or '..')");
    if (options.angles.empty())
        throw std::invalid_argument("counting patches of '" + scene_png + "': no angles given");
    for (int a : options.angles)
        if (a < 0 || a >= 360 || a % 15 != 0)
            throw std::invalid_argument("counting patches of '" + scene_png + "': angle " + std::to_string(a) +
                                        " is not a multiple of 15 degrees in [0, 360)");

    SceneRowReader scene(scene_png);
    if (cars.width() != scene.width() || cars.height() != scene.height())
        throw std::invalid_argument("counting patches of '" + scene_png + "': the car annotations are " +
                                    std::to_string(cars.width()) + " x " + std::to_string(cars.height()) +
                                    " but the scene is " + std::to_string(scene.width()) + " x " +
                                    std::to_string(scene.height()));
    std::vector<PatchCentre> centres =
        options.centres.empty() ? grid_patch_centres(scene.width(), scene.height(), options.stride) : options.centres;
    // The scene reader is forward-only: visit centres top to bottom.
    std::stable_sort(centres.begin(), centres.end(),
                     [](const PatchCentre& a, const PatchCentre& b) { return std::tie(a.y, a.x) < std::tie(b.y, b.x); });

    const std::string folder = out_root + "/" + options.site + "/" + options.split;
    std::vector<CountingListEntry> entries;
    std::set<std::string> names;
    for (const auto& c : centres) {
        for (int angle : options.angles) {
            CountingListEntry e;
            e.site = options.site;
            e.split = options.split;
            e.count = count_in_patch(cars, c.x, c.y, angle);
            e.name = {e.count, c.x + options.name_offset_x, c.y + options.name_offset_y, angle};
            try {
                e.file = format_counting_patch_name(e.name);
            } catch (const std::invalid_argument& ex) {
                throw std::invalid_argument("counting patches of '" + scene_png + "': " + ex.what() +
                                            " (centres must give non-negative names; adjust name_offset)");
            }
            if (!names.insert(e.file).second)
                throw std::invalid_argument("counting patches of '" + scene_png + "': two patches would both be named '" +
                                            folder + "/" + e.file + "' (repeated centre or angle)");
            write_png(folder + "/" + e.file, render_counting_patch(scene, c.x, c.y, angle), options.png_zlevel);
            entries.push_back(std::move(e));
        }
    }
    return entries;
}

CountingPatchSetResult cut_counting_patch_set(const std::vector<std::string>& scene_pngs, const std::string& out_root,
                                              const CountingPatchOptions& options, bool bz2) {
    if (scene_pngs.empty()) throw std::invalid_argument("counting patch set: no scenes given");
    check_name_component(options.site, "COWC site");
    check_name_component(options.split, "COWC split");
    // The patches of <site>/<split> are cut into a staging root and the finished folder replaces
    // <out_root>/<site>/<split> in one rename (io/FolderCommit); the list, written in full beside
    // them, is renamed into place right after. One run at a time per out_root (io/OutputLock).
    namespace fs = std::filesystem;
    std::error_code error;
    fs::create_directories(fs::path(out_root) / options.site, error);
    if (error) throw IoError("cannot create '" + out_root + "/" + options.site + "': " + error.message());
    const OutputLock lock(out_root, ".satsal-lock", "COWC counting patches");
    for (const auto& entry : fs::directory_iterator(out_root, error)) {
        if (entry.path().filename().string().rfind(".satsal-staging-patches-", 0) == 0) fs::remove_all(entry.path(), error);
    }
    const std::string staging_root = out_root + "/.satsal-staging-patches-" + std::to_string(::getpid());
    struct StagingRemover {
        std::string path;
        ~StagingRemover() {
            std::error_code ignored;
            std::filesystem::remove_all(path, ignored);
        }
    } remover{staging_root};
    fs::create_directories(fs::path(staging_root) / options.site / options.split, error);
    if (error) throw IoError("cannot create the staging folder '" + staging_root + "': " + error.message());

    CountingPatchSetResult result;
    int offset = options.name_offset_x;
    for (const auto& scene : scene_pngs) {
        const SceneAnnotations annotations = read_scene_annotations(scene, false);
        CountingPatchOptions per_scene = options;
        per_scene.name_offset_x = offset;
        auto entries = cut_counting_patches(scene, annotations.cars, staging_root, per_scene);
        result.scene_name_offset_x.push_back(offset);
        for (auto& e : entries) result.entries.push_back(std::move(e));
        offset += annotations.width;
    }
    // The list is written in full before the patches appear, and renamed right after them.
    const std::string list_name = "COWC_" + options.split + "_list_64_class.txt" + (bz2 ? ".bz2" : "");
    const std::string staged_list = staging_root + "/" + list_name;
    write_counting_list(staged_list, result.entries);
    const std::string target = out_root + "/" + options.site + "/" + options.split;
    commit_folder(staging_root + "/" + options.site + "/" + options.split, target,
                  staging_root + "/old-" + options.split, "COWC patch folder '" + target + "'");
    result.list_path = out_root + "/" + list_name;
    if (std::rename(staged_list.c_str(), result.list_path.c_str()) != 0) {
        throw IoError("cannot move COWC list file '" + result.list_path + "' into place: " +
                                 std::strerror(errno));
    }
    return result;
}

Rgb8Image read_counting_patch(const std::string& path) {
    const std::string what = "COWC counting patch";
    const RasterReader raster = open_raster(path, what);
    const auto cb = colour_bands(raster.info(), what);
    const bool rgb = cb.colour.size() == 3 && !cb.gray();
    if (raster.width() != kPatchSize || raster.height() != kPatchSize || !rgb)
        throw IoError(what + " '" + path + "': expected 256 x 256 RGB, found " + std::to_string(raster.width()) +
                      " x " + std::to_string(raster.height()) + " with " + std::to_string(raster.info().band_count()) +
                      " band(s)" + (rgb ? "" : " (not RGB)"));
    return read_rgb(raster, cb);
}

}  // namespace satsal::cowc
