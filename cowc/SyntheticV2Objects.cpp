// Synthetic COWC v2: vehicles, distractors, buildings, trees and their cast shadows
// (SyntheticV2.hpp).
#include <algorithm>
#include <cmath>

#include "cowc/SyntheticV2.hpp"

namespace satsal::cowc::synthetic_detail {

// Body colours by share of the fleet (white, black, gray and silver are about three quarters of
// the cars on North American roads), each with a little variation of its own.
Colour SceneBuilderV2::fleet_colour() {
    struct Choice {
        double weight;
        Colour c;
    };
    static const Choice palette[] = {{0.25, {232, 232, 230}}, {0.20, {24, 25, 28}},    {0.16, {112, 114, 118}},
                                     {0.14, {176, 178, 182}}, {0.09, {40, 62, 120}},   {0.08, {150, 28, 26}},
                                     {0.03, {190, 176, 146}}, {0.02, {34, 72, 48}},    {0.02, {110, 70, 44}},
                                     {0.01, {220, 186, 40}}};
    double t = rng_.uniform();
    for (const auto& choice : palette) {
        if (t < choice.weight) return choice.c.scaled(rng_.uniform(0.88, 1.1));
        t -= choice.weight;
    }
    return palette[0].c;
}

// The shadow of a box of `height` metres: its footprint swept along the sun direction. Falls on
// the ground and on nothing that stands (placed objects keep their light).
void SceneBuilderV2::box_cast_shadow(double cx, double cy, double hl, double hw, double angle, double height) {
    const double len = height * shadow_per_metre_;
    const int samples = std::max(2, static_cast<int>(std::ceil(len / 2.0)));
    const double c = std::cos(angle), s = std::sin(angle);
    for (int k = 1; k <= samples; ++k) {
        const double t = len * k / samples;
        for_box(cx + sun_x_ * t, cy + sun_y_ * t, hl, hw, angle, 2.0, [&](int x, int y, double, double, double cov) {
            const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (rounded_rect_distance(c * dx + s * dy, -s * dx + c * dy, hl, hw, 2.0) < 0) return;  // itself
            const std::size_t i = index(x, y);
            if (objects_[i]) return;
            shade_[i] = std::max<uint8_t>(shade_[i], static_cast<uint8_t>(255 * cov));
        });
    }
}

// A car, SUV, van or pickup (all count as cars in COWC) if the spot is free.
bool SceneBuilderV2::vehicle(double cx, double cy, double angle, std::initializer_list<Surface> allowed,
                             double clearance) {
    const double pick = rng_.uniform();
    const Vehicle kind = pick < 0.66 ? Vehicle::Sedan : pick < 0.84 ? Vehicle::Suv : pick < 0.92 ? Vehicle::Van : Vehicle::Pickup;
    double length = rng_.uniform(4.3, 4.9), width = rng_.uniform(1.75, 1.9), height = 1.45;
    if (kind == Vehicle::Suv) length = rng_.uniform(4.6, 5.0), width = rng_.uniform(1.85, 2.0), height = 1.75;
    if (kind == Vehicle::Van) length = rng_.uniform(4.9, 5.4), width = rng_.uniform(1.9, 2.05), height = 2.0;
    if (kind == Vehicle::Pickup) length = rng_.uniform(5.3, 5.9), width = rng_.uniform(1.95, 2.05), height = 1.85;
    const double hl = px(length) / 2, hw = px(width) / 2;
    if (!box_free(cx, cy, hl, hw, angle, allowed, clearance)) return false;
    box_cast_shadow(cx, cy, hl, hw, angle, height);
    const Colour body = fleet_colour();
    const Colour glass = Colour{30, 36, 44}.scaled(rng_.uniform(0.8, 1.5));
    // Cabin layout along the length (u / hl in -1..1, front at +1).
    double ws0 = 0.12, ws1 = 0.42, roof0 = -0.42, rw0 = -0.62;  // windshield, roof, rear window
    if (kind == Vehicle::Suv) ws0 = 0.22, ws1 = 0.48, roof0 = -0.78, rw0 = -0.9;
    if (kind == Vehicle::Van) ws0 = 0.42, ws1 = 0.66, roof0 = -0.94, rw0 = -0.98;
    if (kind == Vehicle::Pickup) ws0 = 0.18, ws1 = 0.42, roof0 = -0.12, rw0 = -0.2;
    // Light from the sun: the side facing it is brighter (sun towards -shadow direction).
    const double c = std::cos(angle), s = std::sin(angle);
    const double sun_v = -(-s * sun_x_ + c * sun_y_);  // +v side faces the sun when > 0
    const double sun_u = -(c * sun_x_ + s * sun_y_);
    const bool glare = rng_.chance(0.15);
    for_box(cx, cy, hl, hw, angle, px(0.4), [&](int x, int y, double u, double v, double cov) {
        const double fu = u / hl, fv = v / hw, av = std::fabs(fv);
        Colour p = body;
        double light = 1.02 - 0.22 * av * av + 0.10 * fv * sun_v + 0.04 * fu * sun_u;
        const bool cabin_width = av < 0.80;
        if (cabin_width && fu > ws0 && fu < ws1) {
            p = glass;
            light = 1.0 + 0.25 * (fu - ws0) / (ws1 - ws0) * (glare ? 2.5 : 1.0);
        } else if (cabin_width && fu > roof0 && fu <= ws0) {
            light *= 1.07;  // roof faces the sky
            if (kind == Vehicle::Pickup && fu < roof0 + 0.04) p = glass;
        } else if (kind != Vehicle::Pickup && cabin_width && fu > rw0 && fu <= roof0) {
            p = glass;
        } else if (kind == Vehicle::Pickup && fu < rw0 && fu > -0.95 && av < 0.78) {
            p = body.scaled(0.55);  // the bed
        } else if (av > 0.8 && fu > rw0 && fu < ws1) {
            light *= 0.85;  // side windows and pillars seen from above
        }
        blend(x, y, p.scaled(light), cov);
    });
    mark_box(cx, cy, hl, hw, angle);
    cars_.push_back({static_cast<int>(std::floor(cx)), static_cast<int>(std::floor(cy))});
    return true;
}

// A box truck or car trailer: a COWC negative of about a car's size or larger.
bool SceneBuilderV2::box_truck(double cx, double cy, double angle, std::initializer_list<Surface> allowed) {
    const double hl = px(rng_.uniform(6.0, 8.5)) / 2, hw = px(rng_.uniform(2.3, 2.5)) / 2;
    if (!box_free(cx, cy, hl, hw, angle, allowed)) return false;
    box_cast_shadow(cx, cy, hl, hw, angle, 3.2);
    const Colour box = rng_.chance(0.7) ? Colour{232, 232, 228} : fleet_colour();
    const Colour cab = fleet_colour();
    for_box(cx, cy, hl, hw, angle, 1.0, [&](int x, int y, double u, double v, double cov) {
        const double fu = u / hl;
        Colour p = fu > 0.62 ? (fu > 0.7 && fu < 0.82 && std::fabs(v) < hw - 1 ? Colour{34, 40, 48} : cab) : box;
        if (fu <= 0.62 && (static_cast<int>(std::floor(u + hl)) % 5 == 0)) p = p.scaled(0.92);
        blend(x, y, p, cov);
    });
    mark_box(cx, cy, hl, hw, angle);
    negatives_.push_back({static_cast<int>(std::floor(cx)), static_cast<int>(std::floor(cy))});
    return true;
}

// Dumpsters, rooftop units, sheds: plain boxes with a shadow, annotated as negatives.
bool SceneBuilderV2::small_object(double cx, double cy, double angle, double hl, double hw, double height,
                                  const Colour& c, std::initializer_list<Surface> allowed) {
    if (!box_free(cx, cy, hl, hw, angle, allowed)) return false;
    box_cast_shadow(cx, cy, hl, hw, angle, height);
    for_box(cx, cy, hl, hw, angle, 0.8, [&](int x, int y, double u, double, double cov) {
        blend(x, y, c.scaled(std::fabs(u) < 0.8 ? 0.7 : 1.0), cov);
    });
    mark_box(cx, cy, hl, hw, angle);
    negatives_.push_back({static_cast<int>(std::floor(cx)), static_cast<int>(std::floor(cy))});
    return true;
}

// A rectangle of `height` metres swept along the sun direction: pixel p is in shadow when
// p - t * sun lies in the rectangle for some t in [0, length].
void SceneBuilderV2::rect_cast_shadow(const Rect& r, double height) {
    const double len = height * shadow_per_metre_;
    const int x0 = std::max(0, static_cast<int>(std::floor(std::min(r.x0 + 0.0, r.x0 + sun_x_ * len))));
    const int x1 = std::min(w_, static_cast<int>(std::ceil(std::max(r.x1 + 0.0, r.x1 + sun_x_ * len))));
    const int y0 = std::max(0, static_cast<int>(std::floor(std::min(r.y0 + 0.0, r.y0 + sun_y_ * len))));
    const int y1 = std::min(h_, static_cast<int>(std::ceil(std::max(r.y1 + 0.0, r.y1 + sun_y_ * len))));
    auto interval = [&](double p, double lo, double hi, double d, double& t0, double& t1) {
        if (std::fabs(d) < 1e-9) {
            if (p < lo || p >= hi) t0 = 1, t1 = 0;
            return;
        }
        double a = (p - hi) / d, b = (p - lo) / d;
        if (a > b) std::swap(a, b);
        t0 = std::max(t0, a);
        t1 = std::min(t1, b);
    };
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            const std::size_t i = index(x, y);
            if (surface_[i] == kBuilding) continue;
            double t0 = 0, t1 = len;
            interval(x + 0.5, r.x0, r.x1, sun_x_, t0, t1);
            interval(y + 0.5, r.y0, r.y1, sun_y_, t0, t1);
            if (t0 <= t1) shade_[i] = 255;
        }
}

// Flat roof: gravel texture, a parapet lit on the sun side, skylights, rooftop units (negatives).
void SceneBuilderV2::flat_building(const Rect& r) {
    const Colour roof = pick(palette_->flat_roofs).scaled(rng_.uniform(0.9, 1.08));
    ValueNoise broad(w_, h_, px(6.0), rng_);
    for (int y = std::max(0, r.y0); y < std::min(h_, r.y1); ++y)
        for (int x = std::max(0, r.x0); x < std::min(w_, r.x1); ++x) {
            surface_[index(x, y)] = kBuilding;
            const double grain = 0.94 + 0.12 * rng_.uniform();
            set(x, y, roof.scaled(grain * (0.92 + 0.16 * broad.at(x, y))));
            const int e = static_cast<int>(px(0.45));
            if (x < r.x0 + e || y < r.y0 + e || x >= r.x1 - e || y >= r.y1 - e) {
                // Parapet: lit where its outward normal faces the sun.
                const double nx = x < r.x0 + e ? -1 : x >= r.x1 - e ? 1 : 0, ny = y < r.y0 + e ? -1 : y >= r.y1 - e ? 1 : 0;
                darken(x, y, (nx * sun_x_ + ny * sun_y_) < 0 ? 1.15 : 0.75);
            }
        }
    rect_cast_shadow(r, rng_.uniform(4.0, 12.0));
    if (rng_.chance(0.4)) {  // a grid of skylights
        const double step = px(rng_.uniform(6, 10));
        for (double y = r.y0 + step; y < r.y1 - step / 2; y += step)
            for (double x = r.x0 + step; x < r.x1 - step / 2; x += step)
                for_box(x, y, px(0.9), px(0.6), 0, 0.5, [&](int px_, int py, double, double, double cov) {
                    blend(px_, py, Colour{70, 80, 92}, cov);
                });
    }
    const int units = std::max(1, r.width() * r.height() / 12000);
    for (int k = 0; k < units * 3 && k < 50; ++k)
        small_object(rng_.uniform(r.x0 + 14, r.x1 - 14), rng_.uniform(r.y0 + 14, r.y1 - 14), rng_.chance(0.5) ? 0 : kPi / 2,
                     px(rng_.uniform(0.8, 1.8)), px(rng_.uniform(0.7, 1.2)), 1.2, Colour{184, 186, 188}, {kBuilding});
}

// Pitched roof: the half whose slope faces the sun is lit, shingle rows along the ridge.
void SceneBuilderV2::house(const Rect& r) {
    const Colour roof = pick(palette_->pitched_roofs).scaled(rng_.uniform(0.88, 1.12));
    const bool ridge_along_x = r.width() >= r.height();
    const double toward_sun = ridge_along_x ? -sun_y_ : -sun_x_;  // > 0: the +y / +x half faces the sun
    const double row = px(0.3);
    for (int y = std::max(0, r.y0); y < std::min(h_, r.y1); ++y)
        for (int x = std::max(0, r.x0); x < std::min(w_, r.x1); ++x) {
            surface_[index(x, y)] = kBuilding;
            const int across = ridge_along_x ? y - r.y0 : x - r.x0;
            const int span = ridge_along_x ? r.height() : r.width();
            const double side = across < span / 2 ? -1.0 : 1.0;
            const double light = 0.95 + 0.22 * side * toward_sun;
            const double shingle = (std::fmod(std::fabs(across - span / 2.0), 2 * row) < row) ? 0.93 : 1.0;
            set(x, y, roof.scaled(light * shingle * (0.96 + 0.08 * rng_.uniform())));
        }
    rect_cast_shadow(r, rng_.uniform(5.0, 8.0));
}

void SceneBuilderV2::tree(double x, double y, double r) { trees_.push_back({x, y, r}); }

// Crowns last, over everything but buildings' middles: they may cover parts of cars, never a car's
// centre (the annotation must stay visible to be learnable). Each crown is a cluster of lobes lit
// from the sun, with its shadow cast along the sun direction.
void SceneBuilderV2::draw_trees() {
    for (const TreeRequest& t : trees_) {
        if (t.x < t.r || t.y < t.r || t.x >= w_ - t.r || t.y >= h_ - t.r) continue;
        double radius = t.r;
        for (const PixelPosition& c : cars_) {
            const double d = std::hypot(c.x + 0.5 - t.x, c.y + 0.5 - t.y);
            radius = std::min(radius, d - px(0.9));
        }
        if (radius < px(1.5)) continue;
        const Colour leaf = pick(palette_->leaves).scaled(rng_.uniform(0.85, 1.15));
        struct Lobe {
            double x, y, r;
        };
        std::vector<Lobe> lobes{{t.x, t.y, radius * 0.75}};
        const int n = rng_.integer(3, 7);
        for (int k = 0; k < n; ++k) {
            const double a = rng_.uniform(0, 2 * kPi), d = radius * rng_.uniform(0.2, 0.45);
            lobes.push_back({t.x + d * std::cos(a), t.y + d * std::sin(a), radius * rng_.uniform(0.4, 0.6)});
        }
        const double height = rng_.uniform(5.0, 12.0);
        const double len = height * shadow_per_metre_ * 0.8;
        const int x0 = std::max(0, static_cast<int>(t.x - radius - 2 - (sun_x_ < 0 ? len : 0)));
        const int x1 = std::min(w_ - 1, static_cast<int>(t.x + radius + 2 + (sun_x_ > 0 ? len : 0)));
        const int y0 = std::max(0, static_cast<int>(t.y - radius - 2 - (sun_y_ < 0 ? len : 0)));
        const int y1 = std::min(h_ - 1, static_cast<int>(t.y + radius + 2 + (sun_y_ > 0 ? len : 0)));
        auto crown = [&](double x, double y, double& lit) {
            double best = -1e9;
            for (const Lobe& l : lobes) {
                const double dx = x - l.x, dy = y - l.y;
                const double inside = l.r - std::sqrt(dx * dx + dy * dy);
                if (inside > best) {
                    best = inside;
                    lit = -(dx * sun_x_ + dy * sun_y_) / l.r;  // +1 on the sun side
                }
            }
            return best;
        };
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) {
                double lit = 0;
                const double sx = x + 0.5 - sun_x_ * len, sy = y + 0.5 - sun_y_ * len;
                if (crown(sx, sy, lit) > 0 && surface_[index(x, y)] != kTree) shade_[index(x, y)] = 230;
            }
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) {
                double lit = 0;
                const double inside = crown(x + 0.5, y + 0.5, lit);
                const double cov = std::clamp(inside + 0.5, 0.0, 1.0);
                if (cov <= 0) continue;
                const double speckle = 0.78 + 0.44 * rng_.uniform();
                blend(x, y, leaf.scaled((0.8 + 0.3 * lit) * speckle), cov);
                if (cov > 0.5) {
                    surface_[index(x, y)] = kTree;
                    shade_[index(x, y)] = 0;
                }
            }
    }
}

}  // namespace satsal::cowc::synthetic_detail
