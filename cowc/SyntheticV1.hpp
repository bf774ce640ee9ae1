#pragma once
// Internal: the first synthetic COWC style (`make-cowc --style v1`): a town grid of roads with
// lane markings, blocks of parking lots, commercial lots, houses, industrial yards and parks, cars
// and car-like distractors, sun in the north-west. The draw order (and so every random number) is
// fixed: the same seed gives the same bytes as before the split into files.
#include <initializer_list>
#include <vector>

#include "cowc/Synthetic.hpp"
#include "cowc/SyntheticCanvas.hpp"

namespace satsal::cowc::synthetic_detail {

class SceneBuilderV1 : public Canvas {
public:
    SceneBuilderV1(int width, int height, uint64_t seed) : Canvas(width, height, seed) {}
    SyntheticScene build();

private:
    enum class Distractor { Container, LongContainer, Trailer, Dumpster, Boat, Hvac };
    static Rect inset(const Rect& r, int d) { return {r.x0 + d, r.y0 + d, r.x1 - d, r.y1 - d}; }

    // SyntheticV1Layout.cpp: ground, roads, blocks, road cars, trees, the final image.
    void paint_ground();
    void lay_out_roads();
    void paint_roads();
    std::vector<Rect> blocks() const;
    void fill_block(const Rect& b);
    void park(const Rect& b);
    void place_road_cars();
    void scatter_trees();
    void draw_trees();
    SyntheticScene finish();

    // SyntheticV1Objects.cpp: cars, distractors and the block types.
    Colour car_colour();
    void box_shadow(double cx, double cy, double hl, double hw, double angle, double offset, double strength);
    bool car(double cx, double cy, double angle, std::initializer_list<Surface> allowed);
    bool distractor(Distractor kind, double cx, double cy, double angle, std::initializer_list<Surface> allowed);
    void parking_lot(const Rect& r, double occupancy, bool rows_horizontal);
    void flat_building(const Rect& r);
    void house(const Rect& r);
    void building_shadow(const Rect& r, int o);
    void commercial(const Rect& b);
    void residential(const Rect& b);
    void industrial(const Rect& b);

    std::vector<uint8_t> in_hroad_, in_vroad_;
    std::vector<Road> roads_;
    std::vector<TreeRequest> trees_;
    std::vector<PixelPosition> cars_, negatives_;
};

}  // namespace satsal::cowc::synthetic_detail
