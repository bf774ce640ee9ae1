// Synthetic COWC v2: scene composition (SyntheticV2.hpp): the look of the scene, the ground, the
// street grid, and the blocks between streets (parking lots most of all).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cowc/SyntheticV2.hpp"

namespace satsal::cowc::synthetic_detail {

SceneBuilderV2::SceneBuilderV2(int width, int height, uint64_t seed, const std::vector<std::string>& palettes)
    : Canvas(width, height, seed) {
    if (palettes.empty()) throw std::invalid_argument("synthetic COWC v2: no palette to draw from");
    palette_ = &palette_named(palettes[static_cast<std::size_t>(rng_.integer(0, static_cast<int>(palettes.size()) - 1))]);
}

SyntheticScene SceneBuilderV2::build() {
    // The scene's look: ground sample distance, sun, sensor.
    gsd_ = 0.15 * rng_.uniform(0.9, 1.1);
    const double azimuth = rng_.uniform(0, 2 * kPi);
    sun_x_ = std::cos(azimuth);
    sun_y_ = std::sin(azimuth);
    const double elevation = rng_.uniform(palette_->sun_elevation_lo, palette_->sun_elevation_hi) * kPi / 180;
    shadow_per_metre_ = 1.0 / (std::tan(elevation) * gsd_);
    shadow_strength_ = rng_.uniform(palette_->shadow_lo, palette_->shadow_hi);
    const double cast = 0.06;
    for (double& g : look_.gain) g = rng_.uniform(1 - cast, 1 + cast);
    look_.brightness = rng_.uniform(-14, 14);
    look_.contrast = rng_.uniform(0.8, 1.2);
    look_.gamma = rng_.uniform(0.85, 1.15);
    look_.haze = rng_.uniform(0, palette_->haze_hi);
    look_.blur_sigma = rng_.chance(0.8) ? rng_.uniform(0.3, 1.1) : 0.0;
    look_.noise_sigma = rng_.uniform(1.0, 5.0);
    look_.block_step = rng_.chance(0.5) ? rng_.uniform(2.0, 7.0) : 0.0;
    look_.chroma_subsample = rng_.chance(0.5);

    paint_ground();
    lay_out_roads();
    paint_roads();
    for (const Rect& block : blocks()) fill_block(block);
    place_road_cars();
    for (int k = 0; k < w_ * h_ / 40000; ++k) tree(rng_.uniform(0, w_), rng_.uniform(0, h_), px(rng_.uniform(2.0, 5.0)));
    draw_trees();

    SyntheticScene out;
    out.image = develop_v2(rgb_, shade_, w_, h_, shadow_strength_, look_, rng_);
    out.cars = std::move(cars_);
    out.negatives = std::move(negatives_);
    return out;
}

void SceneBuilderV2::paint_ground() {
    ValueNoise broad(w_, h_, px(25.0), rng_);
    ValueNoise patches(w_, h_, px(3.5), rng_);
    const Colour lush = palette_->grass_lush, dry = palette_->grass_dry;
    for (int y = 0; y < h_; ++y)
        for (int x = 0; x < w_; ++x) {
            const double t = std::clamp(broad.at(x, y) * 1.3 - 0.15 + (patches.at(x, y) - 0.5) * 0.5, 0.0, 1.0);
            const double f = 0.86 + 0.28 * rng_.uniform();  // grass grain
            set(x, y, Colour{lush.r + t * (dry.r - lush.r), lush.g + t * (dry.g - lush.g), lush.b + t * (dry.b - lush.b)}
                          .scaled(f));
        }
}

void SceneBuilderV2::lay_out_roads() {
    for (int pass = 0; pass < 2; ++pass) {
        const bool horizontal = pass == 0;
        const int extent = horizontal ? h_ : w_;
        int pos = static_cast<int>(px(rng_.uniform(12, 50)));
        while (true) {
            const bool arterial = rng_.chance(0.25);
            const int width = static_cast<int>(px(arterial ? rng_.uniform(13, 15) : rng_.uniform(7, 8.5)));
            if (pos + width + 12 > extent - 40) break;
            roads_.push_back({horizontal, pos, width, arterial ? 4 : 2});
            pos += width + static_cast<int>(px(rng_.uniform(55, 110)));
        }
    }
    in_hroad_.assign(static_cast<std::size_t>(h_), 0);
    in_vroad_.assign(static_cast<std::size_t>(w_), 0);
    for (const Road& r : roads_) {
        auto& band = r.horizontal ? in_hroad_ : in_vroad_;
        for (int i = r.start; i < r.start + r.width; ++i) band[static_cast<std::size_t>(i)] = 1;
    }
}

// Asphalt: tone, broad patches (repairs, wear), fine grain, a few oil stains and cracks.
void SceneBuilderV2::asphalt(const Rect& r, Surface s, double tone) {
    ValueNoise broad(w_, h_, px(4.0), rng_);
    for (int y = std::max(0, r.y0); y < std::min(h_, r.y1); ++y)
        for (int x = std::max(0, r.x0); x < std::min(w_, r.x1); ++x) {
            const std::size_t i = index(x, y);
            surface_[i] = s;
            const double t = tone * (0.88 + 0.2 * broad.at(x, y)) * (0.93 + 0.14 * rng_.uniform());
            set(x, y, Colour{t, t * 1.0, t * 1.03});
        }
    const int cracks = r.width() * r.height() / 40000;
    for (int k = 0; k < cracks; ++k) {
        double x = rng_.uniform(r.x0, r.x1), y = rng_.uniform(r.y0, r.y1), a = rng_.uniform(0, 2 * kPi);
        for (int step = 0; step < rng_.integer(20, 120); ++step) {
            a += rng_.uniform(-0.5, 0.5);
            x += std::cos(a);
            y += std::sin(a);
            const int ix = static_cast<int>(x), iy = static_cast<int>(y);
            if (ix < r.x0 || iy < r.y0 || ix >= r.x1 || iy >= r.y1 || !inside(ix, iy)) break;
            darken(ix, iy, 0.7);
        }
    }
}

void SceneBuilderV2::paint_roads() {
    const int sidewalk = static_cast<int>(px(1.6));
    for (const Road& r : roads_) {
        const Rect band = r.horizontal ? Rect{0, r.start, w_, r.start + r.width} : Rect{r.start, 0, r.start + r.width, h_};
        asphalt(band, kRoad, rng_.uniform(palette_->asphalt_lo, palette_->asphalt_hi));
    }
    for (const Road& r : roads_) {
        const int along = r.horizontal ? w_ : h_;
        for (int a = 0; a < along; ++a)
            for (int side = 0; side < 2; ++side)
                for (int k = 0; k < sidewalk; ++k) {
                    const int b = side == 0 ? r.start - 1 - k : r.start + r.width + k;
                    const int x = r.horizontal ? a : b, y = r.horizontal ? b : a;
                    if (!inside(x, y) || surface_[index(x, y)] == kRoad) continue;
                    surface_[index(x, y)] = kSidewalk;
                    set(x, y, palette_->concrete.scaled(0.92 + 0.1 * rng_.uniform()));
                }
    }
    const Colour white{226, 226, 220}, yellow{214, 180, 60};
    for (const Road& r : roads_) {
        const int along = r.horizontal ? w_ : h_;
        const double wear = rng_.uniform(0.4, 0.85);
        auto line = [&](int offset, const Colour& c, bool dashed) {
            const int dash = static_cast<int>(px(3.0)), gap = static_cast<int>(px(9.0));
            for (int a = 0; a < along; ++a) {
                if (dashed && (a % (dash + gap)) >= dash) continue;
                for (int k = 0; k < 2; ++k) {
                    const int b = r.start + offset + k;
                    const int x = r.horizontal ? a : b, y = r.horizontal ? b : a;
                    if (!inside(x, y)) continue;
                    if (in_hroad_[static_cast<std::size_t>(y)] && in_vroad_[static_cast<std::size_t>(x)]) continue;
                    blend(x, y, c, wear);
                }
            }
        };
        if (r.lanes == 2) {
            line(r.width / 2 - 1, rng_.chance(0.6) ? yellow : white, rng_.chance(0.5));
        } else {
            line(r.width / 2 - 3, yellow, false);
            line(r.width / 2 + 1, yellow, false);
            line(r.width / 4 - 1, white, true);
            line(3 * r.width / 4 - 1, white, true);
        }
    }
}

std::vector<Rect> SceneBuilderV2::blocks() const {
    const int margin = static_cast<int>(px(1.6));
    auto spans = [&](bool horizontal, int extent) {
        std::vector<std::pair<int, int>> out;
        std::vector<Road> rs;
        for (const Road& r : roads_)
            if (r.horizontal == horizontal) rs.push_back(r);
        std::sort(rs.begin(), rs.end(), [](const Road& a, const Road& b) { return a.start < b.start; });
        int cursor = 0;
        for (const Road& r : rs) {
            out.push_back({cursor, r.start - margin});
            cursor = r.start + r.width + margin;
        }
        out.push_back({cursor, extent});
        return out;
    };
    std::vector<Rect> out;
    for (const auto& ys : spans(true, h_))
        for (const auto& xs : spans(false, w_))
            if (xs.second - xs.first >= 90 && ys.second - ys.first >= 90) out.push_back({xs.first, ys.first, xs.second, ys.second});
    return out;
}

void SceneBuilderV2::fill_block(const Rect& b) {
    const double pick = rng_.uniform();
    const int d = rng_.integer(4, 12);
    if (pick < 0.42) {
        parking_lot({b.x0 + d, b.y0 + d, b.x1 - d, b.y1 - d}, rng_.uniform(0.35, 1.0));
    } else if (pick < 0.70 && b.height() >= 200 && b.width() >= 160) {
        commercial(b);
    } else if (pick < 0.92) {
        residential(b);
    } else {
        park(b);
    }
}

// Double rows of stalls nose to nose along one axis, aisles between the pairs, planted islands at
// the row ends, worn paint, oil stains where cars stand.
void SceneBuilderV2::parking_lot(const Rect& r, double occupancy) {
    if (r.width() < 80 || r.height() < 80) return;
    asphalt(r, kLot, rng_.uniform(palette_->asphalt_lo, palette_->asphalt_hi));
    const bool rows_horizontal = rng_.chance(0.5);
    const double stall_w = px(rng_.uniform(2.6, 2.9)), stall_d = px(rng_.uniform(5.0, 5.5)), aisle = px(rng_.uniform(6.5, 7.5));
    const double island = px(rng_.uniform(2.5, 4.0));
    const Colour paint = pick(palette_->stall_paint);
    const double paint_alpha = rng_.uniform(0.35, 0.9);
    ValueNoise worn(w_, h_, px(1.5), rng_);
    ValueNoise busy(w_, h_, px(20.0), rng_);  // occupancy varies across the lot
    const double a0 = (rows_horizontal ? r.x0 : r.y0) + island, a1 = (rows_horizontal ? r.x1 : r.y1) - island;
    const double b0 = rows_horizontal ? r.y0 : r.x0, b1 = rows_horizontal ? r.y1 : r.x1;
    auto at = [&](double a, double b, double& x, double& y) {
        x = rows_horizontal ? a : b;
        y = rows_horizontal ? b : a;
    };
    const int line_w = std::max(1, static_cast<int>(std::lround(px(0.12))));
    for (double b = b0 + px(1.0); b + 2 * stall_d <= b1 - px(1.0); b += 2 * stall_d + aisle) {
        // Stall lines of both rows, the shared middle line, then cars.
        for (double a = a0; a <= a1 - stall_w + 0.5; a += stall_w) {
            for (double t = 0; t < 2 * stall_d; t += 1)
                for (int k = 0; k < line_w; ++k) {
                    double x, y;
                    at(a + k, b + t, x, y);
                    const int ix = static_cast<int>(x), iy = static_cast<int>(y);
                    if (inside(ix, iy)) blend(ix, iy, paint, paint_alpha * std::clamp(worn.at(x, y) * 1.6, 0.0, 1.0));
                }
        }
        for (double a = a0; a < a1; a += 1)
            for (int k = 0; k < line_w; ++k) {
                double x, y;
                at(a, b + stall_d + k, x, y);
                const int ix = static_cast<int>(x), iy = static_cast<int>(y);
                if (inside(ix, iy)) blend(ix, iy, paint, 0.8 * paint_alpha * std::clamp(worn.at(x, y) * 1.6, 0.0, 1.0));
            }
        for (int row = 0; row < 2; ++row)
            for (double a = a0; a + stall_w <= a1 + 0.5; a += stall_w) {
                const double ca = a + stall_w / 2 + rng_.uniform(-0.12, 0.12) * stall_w;
                const double cb = b + (row + 0.5) * stall_d + rng_.uniform(-0.08, 0.08) * stall_d;
                double cx, cy;
                at(ca, cb, cx, cy);
                if (rng_.chance(0.5)) {  // an oil stain in the stall
                    const double sx = cx + rng_.uniform(-2, 2), sy = cy + rng_.uniform(-2, 2);
                    for_box(sx, sy, px(0.7), px(0.5), rng_.uniform(0, kPi), px(0.5),
                            [&](int x, int y, double, double, double cov) { darken(x, y, 1.0 - 0.18 * cov); });
                }
                const double axis = rows_horizontal ? kPi / 2 : 0.0;
                const bool nose_in = rng_.chance(0.8);  // nose towards the middle line
                const double angle = axis + ((row == 0) == nose_in ? 0.0 : kPi) + rng_.angle_jitter(3);
                const double p = occupancy * (0.55 + 0.9 * busy.at(cx, cy));
                if (rng_.chance(p)) {
                    if (rng_.chance(0.015)) {
                        box_truck(cx, cy, angle, {kLot});
                    } else {
                        vehicle(cx, cy, angle, {kLot}, 0.3);
                    }
                }
            }
        // Islands with trees at both ends of the double row.
        for (int end = 0; end < 2; ++end) {
            if (!rng_.chance(0.6)) continue;
            const double ea = end == 0 ? a0 - island / 2 : a1 + island / 2;
            double x, y;
            at(ea, b + stall_d, x, y);
            const Rect isl = rows_horizontal
                                 ? Rect{static_cast<int>(x - island / 2), static_cast<int>(b + 2), static_cast<int>(x + island / 2), static_cast<int>(b + 2 * stall_d - 2)}
                                 : Rect{static_cast<int>(b + 2), static_cast<int>(y - island / 2), static_cast<int>(b + 2 * stall_d - 2), static_cast<int>(y + island / 2)};
            for (int yy = std::max(0, isl.y0); yy < std::min(h_, isl.y1); ++yy)
                for (int xx = std::max(0, isl.x0); xx < std::min(w_, isl.x1); ++xx) {
                    const bool curb = xx - isl.x0 < 2 || isl.x1 - xx <= 2 || yy - isl.y0 < 2 || isl.y1 - yy <= 2;
                    surface_[index(xx, yy)] = kYard;
                    set(xx, yy, curb ? palette_->concrete : palette_->grass_lush.scaled(0.9 + 0.2 * rng_.uniform()));
                }
            tree(x, y, px(rng_.uniform(2.5, 5.0)));
        }
    }
}

void SceneBuilderV2::commercial(const Rect& b) {
    const bool building_top = rng_.chance(0.5);
    const int bh = std::clamp(static_cast<int>(b.height() * rng_.uniform(0.3, 0.5)), 70, b.height() - 90);
    Rect building{b.x0 + rng_.integer(10, 30), 0, b.x1 - rng_.integer(10, 30), 0};
    Rect lot{b.x0 + 4, 0, b.x1 - 4, 0};
    if (building_top) {
        building.y0 = b.y0 + 10;
        building.y1 = b.y0 + bh;
        lot.y0 = building.y1 + static_cast<int>(px(4.0));
        lot.y1 = b.y1 - 4;
    } else {
        building.y0 = b.y1 - bh;
        building.y1 = b.y1 - 10;
        lot.y0 = b.y0 + 4;
        lot.y1 = building.y0 - static_cast<int>(px(4.0));
    }
    asphalt({b.x0 + 4, building_top ? building.y1 : lot.y1, b.x1 - 4, building_top ? lot.y0 : building.y0}, kYard,
            rng_.uniform(palette_->asphalt_lo, palette_->asphalt_hi) * 1.1);
    parking_lot(lot, rng_.uniform(0.45, 1.0));
    flat_building(building);
    for (int k = 0; k < rng_.integer(1, 4); ++k) {
        const double cx = rng_.uniform(building.x0 + 10, building.x1 - 10);
        const double cy = building_top ? building.y1 + px(1.5) : building.y0 - px(1.5);
        small_object(cx, cy, rng_.chance(0.5) ? 0 : kPi / 2, px(1.0), px(0.8), 1.4,
                     rng_.chance(0.5) ? Colour{40, 92, 58} : Colour{44, 66, 120}, {kYard});
    }
    if (rng_.chance(0.4))
        box_truck(rng_.uniform(building.x0 + 30, building.x1 - 30), building_top ? building.y1 + px(2.2) : building.y0 - px(2.2),
                  0.0, {kYard});
}

void SceneBuilderV2::residential(const Rect& b) {
    const int setback = static_cast<int>(px(rng_.uniform(5.5, 8.0)));
    const bool two_rows = b.height() >= 2 * (setback + static_cast<int>(px(11))) + 20;
    for (int side = 0; side < (two_rows ? 2 : 1); ++side) {
        const bool top = side == 0;
        for (int a = b.x0 + 4;;) {
            const int lot_w = static_cast<int>(px(rng_.uniform(15, 21)));
            if (a + lot_w > b.x1 - 4) break;
            const int hw = static_cast<int>(px(rng_.uniform(8, 12)));
            const int hh = static_cast<int>(px(rng_.uniform(7, 10)));
            const int drive_w = static_cast<int>(px(rng_.uniform(3.0, 5.6)));  // one or two cars wide
            const int hx = a + drive_w + 3;
            if (hx + hw > a + lot_w) {
                a += lot_w;
                continue;
            }
            const int hy = top ? b.y0 + setback : b.y1 - setback - hh;
            if (hy < b.y0 || hy + hh > b.y1) break;
            const Rect drive{a + 1, top ? b.y0 : hy, a + 1 + drive_w, top ? hy + hh : b.y1};
            for (int y = std::max(0, drive.y0); y < std::min(h_, drive.y1); ++y)
                for (int x = std::max(0, drive.x0); x < std::min(w_, drive.x1); ++x) {
                    surface_[index(x, y)] = kYard;
                    set(x, y, palette_->concrete.scaled(0.9 + 0.1 * rng_.uniform()));
                }
            house({hx, hy, hx + hw, hy + hh});
            const int slots = drive_w > px(4.6) ? 2 : 1;
            for (int k = 0; k < 2; ++k)
                for (int lane = 0; lane < slots; ++lane) {
                    if (!rng_.chance(0.45)) continue;
                    const double cy = top ? b.y0 + px(3.0) + k * px(5.6) : b.y1 - px(3.0) - k * px(5.6);
                    const double cx = drive.x0 + (lane + 0.5) * drive_w / static_cast<double>(slots);
                    vehicle(cx, cy, kPi / 2 + (rng_.chance(0.5) ? kPi : 0) + rng_.angle_jitter(4), {kYard}, 0.3);
                }
            for (int k = 0; k < rng_.integer(0, 3); ++k)
                tree(rng_.uniform(a, a + lot_w), top ? hy + hh + px(rng_.uniform(2, 8)) : hy - px(rng_.uniform(2, 8)),
                     px(rng_.uniform(2.5, 5.5)));
            a += lot_w;
        }
    }
}

void SceneBuilderV2::park(const Rect& b) {
    for (int k = 0; k < b.width() * b.height() / 4000; ++k)
        tree(rng_.uniform(b.x0, b.x1), rng_.uniform(b.y0, b.y1), px(rng_.uniform(2.0, 6.0)));
}

// Traffic in the lanes (bunched, as at lights) and cars parked along the curbs.
void SceneBuilderV2::place_road_cars() {
    for (const Road& r : roads_) {
        const int along = r.horizontal ? w_ : h_;
        const double density = rng_.uniform(0.0, 0.7);
        auto junction = [&](double cx, double cy) {
            return in_hroad_[static_cast<std::size_t>(std::clamp(static_cast<int>(cy), 0, h_ - 1))] &&
                   in_vroad_[static_cast<std::size_t>(std::clamp(static_cast<int>(cx), 0, w_ - 1))];
        };
        const bool curb_parking = r.lanes == 2 && rng_.chance(0.5);
        const int lanes = r.lanes;
        for (int lane = 0; lane < lanes; ++lane) {
            double centre = r.start + (lane + 0.5) * r.width / static_cast<double>(lanes);
            if (curb_parking) centre = r.start + r.width / 2.0 + (lane == 0 ? -1 : 1) * r.width * 0.12;
            const bool forward = lane >= lanes / 2;
            const double heading = (r.horizontal ? 0.0 : kPi / 2) + (forward ? 0.0 : kPi);
            for (double t = rng_.uniform(0, px(10)); t < along;) {
                const double cx = r.horizontal ? t : centre, cy = r.horizontal ? centre : t;
                if (!junction(cx, cy) && rng_.chance(density)) vehicle(cx, cy, heading + rng_.angle_jitter(1.5), {kRoad}, 1.0);
                t += rng_.chance(0.6) ? px(rng_.uniform(6.0, 8.0)) : px(rng_.uniform(10, 40));
            }
        }
        if (curb_parking) {
            for (int edge = 0; edge < 2; ++edge) {
                const double centre = edge == 0 ? r.start + px(1.2) : r.start + r.width - px(1.2);
                const double heading = (r.horizontal ? 0.0 : kPi / 2) + (edge == 0 ? kPi : 0.0);
                for (double t = rng_.uniform(0, px(6)); t < along; t += px(rng_.uniform(5.6, 8.0))) {
                    const double cx = r.horizontal ? t : centre, cy = r.horizontal ? centre : t;
                    if (!junction(cx, cy) && rng_.chance(0.6)) vehicle(cx, cy, heading + rng_.angle_jitter(2), {kRoad, kSidewalk}, 0.5);
                }
            }
        }
        if (rng_.chance(0.5)) {  // street trees along one sidewalk
            const double spacing = px(rng_.uniform(9, 16));
            for (double t = rng_.uniform(0, spacing); t < along; t += spacing) {
                const double off = rng_.chance(0.5) ? r.start - px(2.5) : r.start + r.width + px(2.5);
                tree(r.horizontal ? t : off, r.horizontal ? off : t, px(rng_.uniform(2.5, 4.5)));
            }
        }
    }
}

}  // namespace satsal::cowc::synthetic_detail
