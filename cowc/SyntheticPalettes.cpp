// The named palettes of synthetic COWC v2. Each is a region/season/archive look; `autumn-dusk` is
// the held-out one (orange and red foliage, brown lawns, yellow stall paint, a low sun): no default
// training set uses it, so a model trained on the others can be scored on a style it never saw.
#include <stdexcept>

#include "cowc/SyntheticV2.hpp"

namespace satsal::cowc {

const std::vector<std::string>& synthetic_palette_names() {
    static const std::vector<std::string> names = {"summer", "arid", "overcast", "fresh-asphalt", "autumn-dusk"};
    return names;
}

const std::vector<std::string>& synthetic_training_palettes() {
    static const std::vector<std::string> names = {"summer", "arid", "overcast", "fresh-asphalt"};
    return names;
}

namespace synthetic_detail {
namespace {

std::vector<Palette> make_palettes() {
    std::vector<Palette> p;
    // Midwest / Ontario summer (Columbus, Toronto): green lawns, grey asphalt, high sun.
    p.push_back({"summer", {70, 102, 52}, {124, 128, 84}, 70, 110, {178, 176, 168},
                 {{196, 196, 192}, {150, 150, 148}, {92, 92, 96}, {214, 210, 200}},
                 {{120, 72, 56}, {70, 70, 76}, {108, 92, 76}, {146, 146, 144}, {88, 96, 92}},
                 {{44, 74, 38}, {56, 86, 44}, {38, 62, 40}, {70, 92, 50}},
                 {{228, 228, 222}, {232, 232, 230}}, 45, 70, 0.45, 0.62, 0.12});
    // Utah-like dry: tan and olive ground, pale asphalt, hard shadows.
    p.push_back({"arid", {128, 122, 88}, {176, 160, 124}, 96, 140, {196, 190, 178},
                 {{214, 210, 202}, {170, 162, 150}, {122, 116, 108}, {198, 186, 168}},
                 {{150, 118, 92}, {96, 90, 86}, {168, 150, 124}, {120, 108, 94}},
                 {{64, 78, 48}, {84, 92, 58}, {54, 68, 46}},
                 {{236, 234, 226}, {230, 200, 90}}, 35, 65, 0.50, 0.70, 0.15});
    // Overcast / hazy: muted colours, soft weak shadows.
    p.push_back({"overcast", {88, 104, 74}, {120, 122, 100}, 82, 112, {164, 164, 160},
                 {{176, 178, 178}, {140, 142, 144}, {104, 106, 110}},
                 {{104, 84, 76}, {84, 86, 92}, {120, 116, 110}},
                 {{58, 78, 56}, {70, 86, 62}},
                 {{208, 208, 204}}, 50, 75, 0.15, 0.35, 0.28});
    // Newly paved lots: near-black asphalt, bright paint, lush grass.
    p.push_back({"fresh-asphalt", {60, 110, 50}, {96, 124, 64}, 40, 70, {190, 188, 182},
                 {{222, 222, 220}, {86, 88, 92}, {176, 170, 160}},
                 {{64, 64, 70}, {136, 80, 60}, {150, 150, 150}},
                 {{40, 80, 40}, {52, 96, 46}},
                 {{240, 240, 236}, {236, 206, 70}}, 40, 70, 0.45, 0.65, 0.10});
    // Held out: autumn at a low sun.
    p.push_back({"autumn-dusk", {120, 104, 70}, {150, 120, 80}, 78, 118, {182, 172, 160},
                 {{190, 182, 170}, {128, 120, 112}, {160, 140, 120}},
                 {{130, 62, 44}, {90, 80, 70}, {60, 60, 66}},
                 {{168, 84, 34}, {186, 132, 40}, {132, 48, 34}, {110, 92, 40}},
                 {{228, 196, 60}, {236, 232, 220}}, 18, 32, 0.50, 0.68, 0.20});
    return p;
}

}  // namespace

const Palette& palette_named(const std::string& name) {
    static const std::vector<Palette> palettes = make_palettes();
    for (const Palette& p : palettes)
        if (p.name == name) return p;
    std::string known;
    for (const std::string& n : synthetic_palette_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("synthetic COWC: unknown palette '" + name + "'; expected one of " + known);
}

}  // namespace synthetic_detail
}  // namespace satsal::cowc
