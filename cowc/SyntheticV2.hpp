#pragma once
// Internal: the second synthetic COWC style (`make-cowc --style v2`), composed like real 15 cm
// aerial imagery (COWC's counting patches are mostly parking lots):
// - a named palette per scene (ground, asphalt, roofs, foliage, stall paint, sun range; see
//   SyntheticPalettes.cpp) and a ground sample distance drawn from 15 cm +- 10% (every size in
//   the scene scales with it);
// - a sun direction and elevation per scene: building, car and tree shadows are cast along it
//   with lengths from the object heights, roofs and car bodies are lit from it;
// - parking lots with painted (sometimes worn) stalls, dense double rows nose to nose, oil stains,
//   islands with trees whose crowns cover parts of the end cars; streets with traffic and curb
//   parking; houses with driveways; flat roofs with gravel texture, skylights and HVAC units;
// - cars ~4.5 x 1.8 m in fleet colours (white, black, gray and silver dominate) with windshield,
//   roof and rear-window shading; pickups and vans count as cars; box trucks,
//   dumpsters and rooftop units are negatives;
// - sensor effects last (SyntheticV2Sensor.cpp): colour cast, brightness/contrast/gamma, haze,
//   blur, noise, JPEG-like 8 x 8 block quantisation and 2 x 2 chroma subsampling.
// A car's annotation dot is the pixel under its centre, whatever covers it (COWC counts a car
// when its centre is in the window).
#include <initializer_list>
#include <string>
#include <vector>

#include "cowc/Synthetic.hpp"
#include "cowc/SyntheticCanvas.hpp"

namespace satsal::cowc::synthetic_detail {

/// A named look: what varies between archives and regions.
struct Palette {
    std::string name;
    Colour grass_lush, grass_dry;        ///< ground between these
    double asphalt_lo, asphalt_hi;       ///< grey level of roads and lots
    Colour concrete;                     ///< sidewalks, driveways, islands
    std::vector<Colour> flat_roofs;
    std::vector<Colour> pitched_roofs;
    std::vector<Colour> leaves;
    std::vector<Colour> stall_paint;
    double sun_elevation_lo, sun_elevation_hi;  ///< degrees
    double shadow_lo, shadow_hi;                ///< darkening of full shadow (0 none .. 1 black)
    double haze_hi;                             ///< largest haze blend
};

/// The palette called `name`; std::invalid_argument listing the names otherwise.
const Palette& palette_named(const std::string& name);

/// Per-scene sensor and rendition parameters (drawn in SceneBuilderV2::build).
struct SensorLook {
    double gain[3] = {1, 1, 1};  ///< colour cast
    double brightness = 0;       ///< added after contrast, 0..255 scale
    double contrast = 1;         ///< around mid-grey
    double gamma = 1;
    double haze = 0;             ///< blend towards haze_colour
    Colour haze_colour{200, 205, 215};
    double blur_sigma = 0;       ///< pixels; 0 = none
    double noise_sigma = 0;      ///< grey levels
    double block_step = 0;       ///< JPEG-like quantisation step of 8 x 8 block detail; 0 = none
    bool chroma_subsample = false;
};

/// Applies the look to a float RGB canvas (w x h x 3) and returns the 8-bit image; `shade` (0..255
/// per pixel) darkens by `shadow_strength` with a blue-ish sky tint first. Deterministic in rng.
Rgb8Image develop_v2(std::vector<float>& rgb, const std::vector<uint8_t>& shade, int w, int h, double shadow_strength,
                     const SensorLook& look, Rng& rng);

class SceneBuilderV2 : public Canvas {
public:
    SceneBuilderV2(int width, int height, uint64_t seed, const std::vector<std::string>& palettes);
    SyntheticScene build();

private:
    enum class Vehicle { Sedan, Suv, Van, Pickup };

    double px(double metres) const { return metres / gsd_; }  ///< metres -> pixels of this scene
    Colour pick(const std::vector<Colour>& colours) {
        return colours[static_cast<std::size_t>(rng_.integer(0, static_cast<int>(colours.size()) - 1))];
    }

    // SyntheticV2Layout.cpp: ground, roads, blocks and what fills them.
    void paint_ground();
    void lay_out_roads();
    void paint_roads();
    std::vector<Rect> blocks() const;
    void fill_block(const Rect& b);
    void parking_lot(const Rect& r, double occupancy);
    void commercial(const Rect& b);
    void residential(const Rect& b);
    void park(const Rect& b);
    void place_road_cars();
    void asphalt(const Rect& r, Surface s, double tone);

    // SyntheticV2Objects.cpp: vehicles, distractors, buildings, trees, shadows.
    Colour fleet_colour();
    bool vehicle(double cx, double cy, double angle, std::initializer_list<Surface> allowed, double clearance = 1.0);
    bool box_truck(double cx, double cy, double angle, std::initializer_list<Surface> allowed);
    bool small_object(double cx, double cy, double angle, double hl, double hw, double height, const Colour& c,
                      std::initializer_list<Surface> allowed);
    void box_cast_shadow(double cx, double cy, double hl, double hw, double angle, double height);
    void flat_building(const Rect& r);
    void house(const Rect& r);
    void rect_cast_shadow(const Rect& r, double height);
    void tree(double x, double y, double r);
    void draw_trees();

    const Palette* palette_ = nullptr;
    double gsd_ = 0.15;              ///< metres per pixel of this scene
    double sun_x_ = 0, sun_y_ = 0;   ///< unit vector along which shadows fall (image axes)
    double shadow_per_metre_ = 1;    ///< shadow length in pixels per metre of height
    double shadow_strength_ = 0.5;
    SensorLook look_;
    std::vector<uint8_t> in_hroad_, in_vroad_;
    std::vector<Road> roads_;
    std::vector<TreeRequest> trees_;
    std::vector<PixelPosition> cars_, negatives_;
};

}  // namespace satsal::cowc::synthetic_detail
