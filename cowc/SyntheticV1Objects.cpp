#include "cowc/SyntheticV1.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace satsal::cowc::synthetic_detail {

// ---- cars and distractors -------------------------------------------------------------

Colour SceneBuilderV1::car_colour() {
    struct Choice {
        double weight;
        Colour c;
    };
    static const std::array<Choice, 11> palette = {{{0.22, {228, 228, 226}},
                                                     {0.17, {28, 29, 32}},
                                                     {0.17, {168, 170, 174}},
                                                     {0.13, {102, 104, 108}},
                                                     {0.08, {158, 26, 24}},
                                                     {0.08, {32, 56, 128}},
                                                     {0.03, {30, 74, 46}},
                                                     {0.04, {196, 180, 142}},
                                                     {0.02, {226, 196, 40}},
                                                     {0.03, {96, 64, 44}},
                                                     {0.03, {70, 110, 170}}}};
    double t = rng_.uniform();
    for (const auto& choice : palette) {
        if (t < choice.weight) return choice.c.scaled(rng_.uniform(0.9, 1.08));
        t -= choice.weight;
    }
    return palette[0].c;
}

// A small shadow cast to the lower right (sun in the north-west).
void SceneBuilderV1::box_shadow(double cx, double cy, double hl, double hw, double angle, double offset, double strength) {
    for_box(cx + offset, cy + offset, hl, hw, angle, 2.0, [&](int x, int y, double, double, double cov) {
        if (!objects_[index(x, y)]) darken(x, y, 1.0 - strength * cov);
    });
}

// Places a car if the spot is free; the car's centre pixel becomes its annotation dot.
bool SceneBuilderV1::car(double cx, double cy, double angle, std::initializer_list<Surface> allowed) {
    const bool van = rng_.chance(0.12);
    const double hl = (van ? rng_.uniform(16.0, 18.0) : rng_.uniform(13.5, 16.5));
    const double hw = (van ? rng_.uniform(6.6, 7.2) : rng_.uniform(5.5, 6.6));
    if (!box_free(cx, cy, hl, hw, angle, allowed)) return false;
    const PixelPosition dot{static_cast<int>(std::floor(cx)), static_cast<int>(std::floor(cy))};
    box_shadow(cx, cy, hl, hw, angle, 2.5, 0.45);
    const Colour body = car_colour();
    const Colour glass{34, 40, 48};
    const double front_glass0 = hl * (van ? 0.30 : 0.12), front_glass1 = hl * (van ? 0.52 : 0.42);
    const double rear_glass0 = -hl * 0.62, rear_glass1 = -hl * (van ? 0.50 : 0.40);
    const bool sunroof = rng_.chance(0.1);
    for_box(cx, cy, hl, hw, angle, 2.6, [&](int x, int y, double u, double v, double cov) {
        Colour c = body;
        const double av = std::fabs(v);
        if ((u > front_glass0 && u < front_glass1 && av < hw - 1.2) ||
            (u > rear_glass0 && u < rear_glass1 && av < hw - 1.4))
            c = glass;
        else if (u > rear_glass1 && u < front_glass0 && av > hw - 2.2 && av < hw - 1.0)
            c = glass.scaled(1.2);  // side windows
        else if (sunroof && u > -hl * 0.2 && u < hl * 0.05 && av < hw * 0.45)
            c = glass;
        else
            c = body.scaled(1.06 - 0.14 * av / hw);  // curved body: darker towards the sides
        blend(x, y, c, cov);
    });
    mark_box(cx, cy, hl, hw, angle);
    cars_.push_back(dot);
    return true;
}


bool SceneBuilderV1::distractor(Distractor kind, double cx, double cy, double angle, std::initializer_list<Surface> allowed) {
    double hl = 0, hw = 0, radius = 0.6;
    Colour c{};
    switch (kind) {
        case Distractor::Container: {
            hl = 20;
            hw = 8;
            static const std::array<Colour, 6> colours = {
                {{150, 62, 40}, {40, 80, 140}, {50, 110, 70}, {210, 210, 205}, {200, 110, 40}, {120, 120, 118}}};
            c = colours[static_cast<std::size_t>(rng_.integer(0, 5))];
            break;
        }
        case Distractor::LongContainer:
            hl = 40;
            hw = 8;
            c = Colour{rng_.uniform(90, 200), rng_.uniform(60, 120), rng_.uniform(40, 110)};
            break;
        case Distractor::Trailer:  // car-sized box: the hardest negative
            hl = rng_.uniform(13, 17);
            hw = rng_.uniform(6, 7.5);
            c = Colour{rng_.uniform(120, 230), rng_.uniform(120, 230), rng_.uniform(120, 230)};
            break;
        case Distractor::Dumpster:
            hl = rng_.uniform(7, 9);
            hw = rng_.uniform(5, 6);
            c = rng_.chance(0.5) ? Colour{40, 92, 58} : Colour{44, 66, 120};
            break;
        case Distractor::Boat:
            hl = rng_.uniform(14, 19);
            hw = rng_.uniform(5, 6.5);
            radius = hw;  // rounded hull
            c = Colour{232, 232, 228};
            break;
        case Distractor::Hvac:
            hl = rng_.uniform(7, 13);
            hw = rng_.uniform(5, 8);
            c = Colour{178, 180, 182};
            break;
    }
    if (!box_free(cx, cy, hl, hw, angle, allowed)) return false;
    box_shadow(cx, cy, hl, hw, angle, kind == Distractor::Hvac ? 2.0 : 3.0, 0.5);
    const bool ribbed = kind == Distractor::Container || kind == Distractor::LongContainer ||
                        kind == Distractor::Trailer;
    for_box(cx, cy, hl, hw, angle, radius, [&](int x, int y, double u, double v, double cov) {
        Colour p = c;
        if (ribbed) p = c.scaled((static_cast<int>(std::floor(u + hl)) % 3 == 0) ? 0.82 : 1.0);
        if (kind == Distractor::Dumpster && std::fabs(u) < 0.8) p = c.scaled(0.6);  // lid seam
        if (kind == Distractor::Boat && std::fabs(v) < hw - 2 && u < hl * 0.4 && u > -hl + 2)
            p = Colour{150, 140, 120};  // deck
        if (kind == Distractor::Hvac) {
            const double fu = u - hl * 0.35;
            if (fu * fu + v * v < (hw * 0.6) * (hw * 0.6)) p = Colour{60, 62, 64};  // fan
        }
        blend(x, y, p, cov);
    });
    mark_box(cx, cy, hl, hw, angle);
    negatives_.push_back({static_cast<int>(std::floor(cx)), static_cast<int>(std::floor(cy))});
    return true;
}

// ---- block types ----------------------------------------------------------------------

// Double rows of stalls separated by aisles; `rows_horizontal` puts the rows along x (cars
// then point along y).
void SceneBuilderV1::parking_lot(const Rect& r, double occupancy, bool rows_horizontal) {
    if (r.width() < 60 || r.height() < 60) return;
    const double tone = rng_.uniform(74, 100);
    paint_surface(r, kLot, Colour{tone, tone, tone * 1.02}, 0.06);
    const int stall_w = rng_.integer(17, 19);
    const int stall_d = rng_.integer(33, 36);
    const int aisle = rng_.integer(42, 50);
    const int a0 = rows_horizontal ? r.x0 : r.y0, a1 = rows_horizontal ? r.x1 : r.y1;
    const int b0 = rows_horizontal ? r.y0 : r.x0, b1 = rows_horizontal ? r.y1 : r.x1;
    const Colour paint{222, 222, 214};
    auto px = [&](int a, int b, const Colour& c, double alpha) {
        const int x = rows_horizontal ? a : b, y = rows_horizontal ? b : a;
        if (inside(x, y)) blend(x, y, c, alpha);
    };
    std::vector<std::pair<int, bool>> rows;  // (row start along b, car faces +b)
    int b = b0 + 4;
    while (b + stall_d <= b1 - 4) {
        rows.push_back({b, false});
        if (b + 2 * stall_d <= b1 - 4) rows.push_back({b + stall_d, true});
        b += 2 * stall_d + aisle;
    }
    for (const auto& row : rows) {
        const int rb = row.first;
        for (int a = a0 + 6; a + stall_w <= a1 - 6; a += stall_w) {
            // Stall separator lines (2 px) along b.
            for (int k = 0; k < stall_d - 3; ++k)
                for (int t = 0; t < 2; ++t) px(a + t, rb + (row.second ? 3 + k : k), paint, 0.7);
            const double ca = a + stall_w / 2.0 + rng_.uniform(-1.5, 1.5);
            const double cb = rb + stall_d / 2.0 + rng_.uniform(-2.0, 2.0);
            const double axis = rows_horizontal ? kPi / 2 : 0.0;
            const double angle = axis + (rng_.chance(0.5) ? kPi : 0.0) + rng_.angle_jitter(4);
            const double cx = rows_horizontal ? ca : cb, cy = rows_horizontal ? cb : ca;
            if (rng_.chance(occupancy)) {
                car(cx, cy, angle, {kLot});
            } else if (rng_.chance(0.03)) {
                distractor(rng_.chance(0.5) ? Distractor::Trailer : Distractor::Boat, cx, cy, angle, {kLot});
            }
        }
    }
    if (rng_.chance(0.4)) {  // trees on the lot's edge
        for (int k = 0; k < rng_.integer(1, 4); ++k)
            trees_.push_back({rng_.uniform(r.x0, r.x1), rng_.chance(0.5) ? r.y0 - 8.0 : r.y1 + 8.0, rng_.uniform(10, 18)});
    }
}

// A flat-roofed building with rooftop units (negatives) and its shadow.
void SceneBuilderV1::flat_building(const Rect& r) {
    const double tone = rng_.uniform(165, 225);
    const Colour roof{tone, tone * rng_.uniform(0.96, 1.0), tone * rng_.uniform(0.9, 1.0)};
    paint_surface(r, kBuilding, roof, 0.05);
    for (int y = r.y0; y < r.y1; ++y)
        for (int x = r.x0; x < r.x1; ++x)
            if (x < r.x0 + 3 || y < r.y0 + 3 || x >= r.x1 - 3 || y >= r.y1 - 3) darken(x, y, 0.8);  // parapet
    building_shadow(r, rng_.integer(14, 40));
    const int units = std::max(1, r.width() * r.height() / 9000);
    for (int k = 0; k < units * 3 && k < 60; ++k) {
        const double cx = rng_.uniform(r.x0 + 14, r.x1 - 14), cy = rng_.uniform(r.y0 + 14, r.y1 - 14);
        distractor(Distractor::Hvac, cx, cy, rng_.chance(0.5) ? 0.0 : kPi / 2, {kBuilding});
    }
}

// A house with a pitched roof: two halves lit differently, shingle rows along the ridge.
void SceneBuilderV1::house(const Rect& r) {
    static const std::array<Colour, 5> roofs = {
        {{150, 78, 58}, {72, 72, 78}, {112, 88, 68}, {150, 150, 148}, {96, 110, 100}}};
    const Colour roof = roofs[static_cast<std::size_t>(rng_.integer(0, 4))].scaled(rng_.uniform(0.9, 1.1));
    const bool ridge_along_x = r.width() >= r.height();
    for (int y = r.y0; y < r.y1; ++y)
        for (int x = r.x0; x < r.x1; ++x) {
            if (!inside(x, y)) continue;
            surface_[index(x, y)] = kBuilding;
            const int across = ridge_along_x ? y - r.y0 : x - r.x0;
            const int span = ridge_along_x ? r.height() : r.width();
            const bool lit = across < span / 2;  // north / west half faces the sun
            const double shingle = (across % 4 == 0) ? 0.9 : 1.0;
            set(x, y, roof.scaled((lit ? 1.12 : 0.78) * shingle));
        }
    building_shadow(r, rng_.integer(8, 14));
}

void SceneBuilderV1::building_shadow(const Rect& r, int o) {
    // The building's footprint swept towards the lower right: a hexagon minus the footprint.
    for (int y = r.y0; y < r.y1 + o; ++y)
        for (int x = r.x0; x < r.x1 + o; ++x) {
            if (!inside(x, y)) continue;
            if (x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1) continue;
            if (x >= r.x1 && (y - r.y0) < (x - r.x1)) continue;
            if (y >= r.y1 && (x - r.x0) < (y - r.y1)) continue;
            if (surface_[index(x, y)] != kBuilding) shade_[index(x, y)] = 1;
        }
}

void SceneBuilderV1::commercial(const Rect& b) {
    // Building along one side, parking on the rest.
    const bool building_top = rng_.chance(0.5);
    const int bh = std::clamp(static_cast<int>(b.height() * rng_.uniform(0.35, 0.55)), 70, b.height() - 80);
    Rect building{b.x0 + rng_.integer(10, 30), 0, b.x1 - rng_.integer(10, 30), 0};
    Rect lot{b.x0 + 6, 0, b.x1 - 6, 0};
    if (building_top) {
        building.y0 = b.y0 + 12;
        building.y1 = b.y0 + bh;
        lot.y0 = building.y1 + 45;
        lot.y1 = b.y1 - 6;
    } else {
        building.y0 = b.y1 - bh;
        building.y1 = b.y1 - 12;
        lot.y0 = b.y0 + 6;
        lot.y1 = building.y0 - 10;
    }
    paint_surface({b.x0 + 4, building_top ? building.y1 : lot.y1, b.x1 - 4, building_top ? lot.y0 : building.y0},
                  kYard, Colour{150, 148, 140}, 0.05);
    flat_building(building);
    parking_lot(lot, rng_.uniform(0.3, 0.95), rng_.chance(0.7));
    for (int k = 0; k < rng_.integer(1, 4); ++k) {
        const double cx = rng_.uniform(building.x0 + 10, building.x1 - 10);
        const double cy = building_top ? building.y1 + rng_.uniform(12, 30) : building.y0 - 6.0;
        distractor(Distractor::Dumpster, cx, cy, rng_.chance(0.5) ? 0.0 : kPi / 2, {kYard});
    }
    // A few cars loosely parked in the service area, at any angle.
    for (int k = 0; k < rng_.integer(0, 3); ++k)
        car(rng_.uniform(b.x0 + 20, b.x1 - 20), building_top ? building.y1 + rng_.uniform(14, 32) : building.y0 - 6.0,
            rng_.uniform(0, 2 * kPi), {kYard});
}

void SceneBuilderV1::residential(const Rect& b) {
    const int setback = rng_.integer(24, 36);
    const bool two_rows = b.height() >= 2 * (setback + 70) + 20;
    for (int side = 0; side < (two_rows ? 2 : 1); ++side) {
        const bool top = side == 0;
        for (int a = b.x0 + 6;;) {
            const int lot_w = rng_.integer(95, 135);
            if (a + lot_w > b.x1 - 6) break;
            const int hw = rng_.integer(50, std::min(86, lot_w - 34));
            const int hh = rng_.integer(44, 66);
            const bool drive_left = rng_.chance(0.5);
            const int hx = drive_left ? a + 26 + rng_.integer(0, lot_w - hw - 30) : a + rng_.integer(2, lot_w - hw - 28);
            const int hy = top ? b.y0 + setback : b.y1 - setback - hh;
            if (hy < b.y0 || hy + hh > b.y1) break;
            // Driveway from the street edge of the block to the house.
            const int dx0 = drive_left ? hx - 22 : hx + hw + 2;
            const Rect drive{dx0, top ? b.y0 : hy + hh / 3, dx0 + 20, top ? hy + 2 * hh / 3 : b.y1};
            paint_surface(drive, kYard, Colour{176, 172, 164}, 0.04);
            house({hx, hy, hx + hw, hy + hh});
            const int parked = rng_.chance(0.35) ? 0 : rng_.integer(1, 2);
            for (int k = 0; k < parked; ++k) {
                const double cy = top ? b.y0 + 20 + k * 34 : b.y1 - 20 - k * 34;
                car(dx0 + 10 + rng_.uniform(-1, 1), cy, kPi / 2 + (rng_.chance(0.5) ? kPi : 0) + rng_.angle_jitter(5),
                    {kYard});
            }
            if (rng_.chance(0.06))
                distractor(Distractor::Boat, dx0 + 10, top ? hy + 2 * hh / 3 - 22.0 : hy + hh / 3 + 22.0,
                           kPi / 2 + rng_.angle_jitter(5), {kYard});
            for (int k = 0; k < rng_.integer(0, 3); ++k)
                trees_.push_back({rng_.uniform(a + 10, a + lot_w - 10),
                                  top ? hy + hh + rng_.uniform(18, 50) : hy - rng_.uniform(18, 50),
                                  rng_.uniform(10, 22)});
            a += lot_w;
        }
    }
}

void SceneBuilderV1::industrial(const Rect& b) {
    const Rect yard = inset(b, 8);
    paint_surface(yard, kYard, Colour{rng_.uniform(135, 160), rng_.uniform(130, 150), rng_.uniform(118, 135)}, 0.08);
    const bool warehouse_left = rng_.chance(0.5);
    const int ww = static_cast<int>(yard.width() * rng_.uniform(0.3, 0.5));
    if (ww >= 60 && yard.height() >= 80) {
        const Rect wh = warehouse_left ? Rect{yard.x0 + 8, yard.y0 + 10, yard.x0 + 8 + ww, yard.y1 - 10}
                                       : Rect{yard.x1 - 8 - ww, yard.y0 + 10, yard.x1 - 8, yard.y1 - 10};
        flat_building(wh);
    }
    // Rows of containers and car-sized boxes.
    const bool along_x = rng_.chance(0.5);
    const double angle = along_x ? 0.0 : kPi / 2;
    for (int k = 0; k < rng_.integer(6, 30); ++k) {
        const double cx = rng_.uniform(yard.x0 + 30, yard.x1 - 30), cy = rng_.uniform(yard.y0 + 30, yard.y1 - 30);
        const double pick = rng_.uniform();
        const Distractor kind = pick < 0.4   ? Distractor::Container
                                : pick < 0.6 ? Distractor::LongContainer
                                : pick < 0.85 ? Distractor::Trailer
                                              : Distractor::Dumpster;
        // A short row of the same kind, side by side.
        for (int n = 0; n < rng_.integer(1, 4); ++n) {
            const double off = n * 19.0;
            distractor(kind, cx + (along_x ? 0 : off), cy + (along_x ? off : 0), angle, {kYard});
        }
    }
    for (int k = 0; k < rng_.integer(2, 14); ++k)
        car(rng_.uniform(yard.x0 + 20, yard.x1 - 20), rng_.uniform(yard.y0 + 20, yard.y1 - 20),
            rng_.uniform(0, 2 * kPi), {kYard});
}


}  // namespace satsal::cowc::synthetic_detail
