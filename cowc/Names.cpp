#include "cowc/Names.hpp"

#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace satsal::cowc {
namespace {

bool is_decimal(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

// A non-negative decimal field of at most 9 digits (fits an int without overflow checks).
bool parse_field(const std::string& s, int& out) {
    if (!is_decimal(s) || s.size() > 9) return false;
    out = std::stoi(s);
    return true;
}

bool ends_with_png(const std::string& s) {
    if (s.size() < 4) return false;
    std::string tail = s.substr(s.size() - 4);
    for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return tail == ".png";
}

// Splits off the last `n` dot-separated fields of `stem`; the remainder keeps its own dots.
bool split_right(const std::string& stem, int n, std::string& rest, std::vector<std::string>& fields) {
    fields.assign(static_cast<std::size_t>(n), std::string());
    std::string left = stem;
    for (int i = n - 1; i >= 0; --i) {
        const auto dot = left.rfind('.');
        if (dot == std::string::npos) return false;
        fields[static_cast<std::size_t>(i)] = left.substr(dot + 1);
        left = left.substr(0, dot);
    }
    rest = left;
    return true;
}

}  // namespace

CountingPatchName parse_counting_patch_name(const std::string& file_name) {
    const std::string expected =
        "expected a counting patch name {count:02d}.{x:05d}.{y:05d}.{angle:03d}.png";
    if (!ends_with_png(file_name))
        throw std::invalid_argument("'" + file_name + "': " + expected + " (no .png suffix)");
    const std::string stem = file_name.substr(0, file_name.size() - 4);
    std::string rest;
    std::vector<std::string> f;
    if (!split_right(stem, 3, rest, f) || rest.find('.') != std::string::npos)
        throw std::invalid_argument("'" + file_name + "': " + expected + " (need exactly 4 dot-separated fields)");
    CountingPatchName n;
    if (!parse_field(rest, n.count) || !parse_field(f[0], n.x) || !parse_field(f[1], n.y) ||
        !parse_field(f[2], n.angle))
        throw std::invalid_argument("'" + file_name + "': " + expected +
                                    " (every field must be a non-negative integer)");
    if (n.angle >= 360)
        throw std::invalid_argument("'" + file_name + "': " + expected + " (angle " +
                                    std::to_string(n.angle) + " is not below 360)");
    return n;
}

std::string format_counting_patch_name(const CountingPatchName& n) {
    if (n.count < 0 || n.x < 0 || n.y < 0 || n.angle < 0 || n.angle >= 360)
        throw std::invalid_argument("counting patch name fields must be non-negative with angle < 360 (count " +
                                    std::to_string(n.count) + ", x " + std::to_string(n.x) + ", y " +
                                    std::to_string(n.y) + ", angle " + std::to_string(n.angle) + ")");
    char buf[96];
    std::snprintf(buf, sizeof buf, "%02d.%05d.%05d.%03d.png", n.count, n.x, n.y, n.angle);
    return buf;
}

DetectionPatchName parse_detection_patch_name(const std::string& file_name) {
    const std::string expected =
        "expected a detection patch name car.<Site>-<src>_<gsd>cm_<scene>.<x>.<y>.<angle>.png (or neg.)";
    if (!ends_with_png(file_name))
        throw std::invalid_argument("'" + file_name + "': " + expected + " (no .png suffix)");
    DetectionPatchName d;
    std::string body;
    if (file_name.rfind("car.", 0) == 0) {
        d.is_car = true;
    } else if (file_name.rfind("neg.", 0) == 0) {
        d.is_car = false;
    } else {
        throw std::invalid_argument("'" + file_name + "': " + expected + " (prefix is neither car. nor neg.)");
    }
    const std::string stem = file_name.substr(4, file_name.size() - 8);
    std::vector<std::string> f;
    if (!split_right(stem, 3, body, f) || !is_decimal(f[0]) || !is_decimal(f[1]) || !is_decimal(f[2]))
        throw std::invalid_argument("'" + file_name + "': " + expected +
                                    " (the last three dot fields must be integers x, y, angle)");
    d.x = f[0];
    d.y = f[1];
    d.angle = f[2];

    const auto dash = body.find('-');
    if (dash == std::string::npos || dash == 0)
        throw std::invalid_argument("'" + file_name + "': " + expected + " (no '<Site>-' part)");
    d.site = body.substr(0, dash);
    // The first `_<number>cm_` after the site ends the source; the scene is everything after it.
    std::size_t pos = dash + 1;
    bool found = false;
    while (!found) {
        const auto cm = body.find("cm_", pos);
        if (cm == std::string::npos) break;
        const auto underscore = body.rfind('_', cm == 0 ? 0 : cm - 1);
        if (underscore != std::string::npos && underscore > dash && underscore + 1 < cm) {
            const std::string gsd = body.substr(underscore + 1, cm - underscore - 1);
            bool numeric = true;
            int dots = 0;
            for (char c : gsd) {
                if (c == '.') ++dots;
                else if (!std::isdigit(static_cast<unsigned char>(c))) numeric = false;
            }
            if (numeric && dots <= 1 && gsd.front() != '.' && gsd.back() != '.') {
                d.source = body.substr(dash + 1, underscore - dash - 1);
                d.gsd_cm = gsd;
                d.scene = body.substr(cm + 3);
                found = true;
            }
        }
        pos = cm + 1;
    }
    if (!found || d.source.empty() || d.scene.empty())
        throw std::invalid_argument("'" + file_name + "': " + expected +
                                    " (no '-<src>_<gsd>cm_<scene>' part after the site)");
    return d;
}

std::string format_detection_patch_name(const DetectionPatchName& d) {
    return std::string(d.is_car ? "car." : "neg.") + d.site + "-" + d.source + "_" + d.gsd_cm + "cm_" +
           d.scene + "." + d.x + "." + d.y + "." + d.angle + ".png";
}

ScenePaths scene_paths(const std::string& scene_png) {
    if (!ends_with_png(scene_png))
        throw std::invalid_argument("COWC scene '" + scene_png + "': expected a path ending in .png");
    ScenePaths p;
    p.scene = scene_png;
    const std::string stem = scene_png.substr(0, scene_png.size() - 4);
    for (const char* suffix : {"_Annotated_Cars", "_Annotated_Negatives"}) {
        const std::string s(suffix);
        if (stem.size() >= s.size() && stem.compare(stem.size() - s.size(), s.size(), s) == 0)
            throw std::invalid_argument("COWC scene '" + scene_png +
                                        "': this is an annotation image; give the scene <scene>.png");
    }
    p.cars = stem + "_Annotated_Cars.png";
    p.negatives = stem + "_Annotated_Negatives.png";
    const auto slash = stem.find_last_of('/');
    p.name = slash == std::string::npos ? stem : stem.substr(slash + 1);
    return p;
}

}  // namespace satsal::cowc
