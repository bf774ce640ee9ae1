#pragma once
// COWC file names: counting patch names, detection patch names and the annotation images that
// sit beside a scene. Pure string work, no I/O.
//
// Scene names in COWC contain '.', '-' and '%' (e.g. `syn-01.5%_a`), so every parser here takes
// fields from the right or by fixed suffixes, never by splitting the whole name on dots.
//
// Thread rules: free functions on values; safe from any thread.
#include <string>

namespace satsal::cowc {

/// Fields of a counting patch name `{count:02d}.{x:05d}.{y:05d}.{angle:03d}.png`.
/// x, y are the scene pixel coordinates of the patch centre (see PatchCutting.hpp for the exact
/// geometry); angle is in degrees, counter-clockwise as displayed, 0 <= angle < 360.
struct CountingPatchName {
    int count = 0;
    int x = 0;
    int y = 0;
    int angle = 0;

    bool operator==(const CountingPatchName& o) const {
        return count == o.count && x == o.x && y == o.y && angle == o.angle;
    }
};

/// Parses a counting patch file name (no folder). Fields must be non-negative decimal integers,
/// angle below 360. Widths may exceed the nominal ones (a count of 100 has three digits).
/// Throws std::invalid_argument saying what was expected.
CountingPatchName parse_counting_patch_name(const std::string& file_name);

/// Formats `{count:02d}.{x:05d}.{y:05d}.{angle:03d}.png`. Throws std::invalid_argument on a
/// negative field or an angle outside [0, 360).
std::string format_counting_patch_name(const CountingPatchName& name);

/// Fields of a detection patch name `car.<Site>-<src>_<gsd>cm_<scene>.<x>.<y>.<angle>.png`
/// (`neg.` instead of `car.` for negatives), e.g.
/// `car.Utah_AGRC-AGRC_15.0cm_12TVL240120.01234.00567.000.png`.
struct DetectionPatchName {
    bool is_car = true;     ///< `car.` prefix; false for `neg.`
    std::string site;       ///< up to the first '-', e.g. `Utah_AGRC`
    std::string source;     ///< between '-' and `_<gsd>cm_`, e.g. `AGRC`
    std::string gsd_cm;     ///< ground sample distance as written, e.g. `15.0`
    std::string scene;      ///< the rest (may contain '.', '-', '%', '_')
    std::string x;          ///< kept as written (leading zeros matter for round trips)
    std::string y;
    std::string angle;

    int x_value() const { return std::stoi(x); }
    int y_value() const { return std::stoi(y); }
    int angle_value() const { return std::stoi(angle); }
};

/// Parses a detection patch file name, taking x, y and angle from the right.
/// Throws std::invalid_argument saying which part is missing.
DetectionPatchName parse_detection_patch_name(const std::string& file_name);

/// Formats a detection patch name; the inverse of parse_detection_patch_name.
std::string format_detection_patch_name(const DetectionPatchName& name);

/// Paths of one COWC scene and its two annotation images, derived by suffix:
/// `<dir>/<scene>.png` -> `<dir>/<scene>_Annotated_Cars.png`, `<dir>/<scene>_Annotated_Negatives.png`.
struct ScenePaths {
    std::string scene;      ///< `<dir>/<scene>.png`
    std::string cars;       ///< `<dir>/<scene>_Annotated_Cars.png`
    std::string negatives;  ///< `<dir>/<scene>_Annotated_Negatives.png`
    std::string name;       ///< `<scene>` (file name without folder and without `.png`)
};

/// Derives the annotation paths from a scene path ending in `.png` (case-insensitive).
/// Throws std::invalid_argument when the path does not end in `.png` or names an annotation.
ScenePaths scene_paths(const std::string& scene_png);

}  // namespace satsal::cowc
