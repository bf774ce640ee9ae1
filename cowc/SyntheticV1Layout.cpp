#include "cowc/SyntheticV1.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace satsal::cowc::synthetic_detail {

SyntheticScene SceneBuilderV1::build() {
    paint_ground();
    lay_out_roads();
    paint_roads();
    for (const Rect& block : blocks()) fill_block(block);
    place_road_cars();
    scatter_trees();
    draw_trees();
    return finish();
}

void SceneBuilderV1::paint_ground() {
    ValueNoise broad(w_, h_, 180.0, rng_);
    ValueNoise patches(w_, h_, 24.0, rng_);
    ValueNoise fine(w_, h_, 4.0, rng_);
    const Colour lush{78, 104, 56}, dry{128, 122, 86};
    for (int y = 0; y < h_; ++y)
        for (int x = 0; x < w_; ++x) {
            const double t = std::clamp(broad.at(x, y) * 1.3 - 0.15 + (patches.at(x, y) - 0.5) * 0.4, 0.0, 1.0);
            const double f = 0.85 + 0.3 * fine.at(x, y);
            set(x, y, Colour{lush.r + t * (dry.r - lush.r), lush.g + t * (dry.g - lush.g),
                             lush.b + t * (dry.b - lush.b)}
                          .scaled(f));
        }
}

void SceneBuilderV1::lay_out_roads() {
    for (int pass = 0; pass < 2; ++pass) {
        const bool horizontal = pass == 0;
        const int extent = horizontal ? h_ : w_;
        int pos = rng_.integer(110, 330);
        while (true) {
            const bool arterial = rng_.chance(0.2);
            const int width = arterial ? rng_.integer(88, 100) : rng_.integer(44, 54);
            if (pos + width + 12 > extent - 40) break;
            roads_.push_back({horizontal, pos, width, arterial ? 4 : 2});
            pos += width + rng_.integer(360, 680);
        }
    }
    in_hroad_.assign(static_cast<std::size_t>(h_), 0);
    in_vroad_.assign(static_cast<std::size_t>(w_), 0);
    for (const Road& r : roads_) {
        auto& band = r.horizontal ? in_hroad_ : in_vroad_;
        for (int i = r.start; i < r.start + r.width; ++i) band[static_cast<std::size_t>(i)] = 1;
    }
}

void SceneBuilderV1::paint_roads() {
    ValueNoise wear(w_, h_, 16.0, rng_);
    const int sidewalk = 10;
    for (const Road& r : roads_) {
        const double tone = rng_.uniform(78, 104);
        const int along = r.horizontal ? w_ : h_;
        for (int a = 0; a < along; ++a) {
            for (int b = r.start - sidewalk; b < r.start + r.width + sidewalk; ++b) {
                const int x = r.horizontal ? a : b;
                const int y = r.horizontal ? b : a;
                if (!inside(x, y)) continue;
                const bool asphalt = b >= r.start && b < r.start + r.width;
                const bool crossing = r.horizontal ? in_vroad_[static_cast<std::size_t>(x)] != 0
                                                   : in_hroad_[static_cast<std::size_t>(y)] != 0;
                const std::size_t i = index(x, y);
                if (asphalt) {
                    surface_[i] = kRoad;
                    const double t = tone * (0.9 + 0.2 * wear.at(x, y));
                    set(x, y, Colour{t, t, t * 1.03});
                } else if (!crossing && surface_[i] != kRoad) {
                    surface_[i] = kSidewalk;
                    const double t = 168 + 14 * wear.at(x, y);
                    set(x, y, Colour{t, t * 0.98, t * 0.94});
                }
            }
        }
    }
    // Markings after all asphalt, skipped inside intersections.
    const Colour white{226, 226, 220}, yellow{214, 180, 60};
    for (const Road& r : roads_) {
        const int along = r.horizontal ? w_ : h_;
        auto line = [&](int offset, const Colour& c, bool dashed, double alpha) {
            for (int a = 0; a < along; ++a) {
                if (dashed && (a % 60) >= 20) continue;
                for (int k = 0; k < 2; ++k) {
                    const int b = r.start + offset + k;
                    const int x = r.horizontal ? a : b;
                    const int y = r.horizontal ? b : a;
                    if (!inside(x, y)) continue;
                    if (in_hroad_[static_cast<std::size_t>(y)] && in_vroad_[static_cast<std::size_t>(x)]) continue;
                    blend(x, y, c, alpha);
                }
            }
        };
        line(3, white, false, 0.75);
        line(r.width - 5, white, false, 0.75);
        if (r.lanes == 2) {
            line(r.width / 2 - 1, rng_.chance(0.5) ? yellow : white, true, 0.85);
        } else {
            line(r.width / 2 - 3, yellow, false, 0.85);
            line(r.width / 2 + 1, yellow, false, 0.85);
            line(r.width / 4 - 1, white, true, 0.8);
            line(3 * r.width / 4 - 1, white, true, 0.8);
        }
    }
}

// Rectangles between roads and their sidewalks.
std::vector<Rect> SceneBuilderV1::blocks() const {
    auto spans = [&](bool horizontal, int extent) {
        std::vector<std::pair<int, int>> out;
        int cursor = 0;
        std::vector<Road> rs;
        for (const Road& r : roads_)
            if (r.horizontal == horizontal) rs.push_back(r);
        std::sort(rs.begin(), rs.end(), [](const Road& a, const Road& b) { return a.start < b.start; });
        for (const Road& r : rs) {
            out.push_back({cursor, r.start - 10});
            cursor = r.start + r.width + 10;
        }
        out.push_back({cursor, extent});
        return out;
    };
    std::vector<Rect> out;
    for (const auto& ys : spans(true, h_))
        for (const auto& xs : spans(false, w_))
            if (xs.second - xs.first >= 90 && ys.second - ys.first >= 90)
                out.push_back({xs.first, ys.first, xs.second, ys.second});
    return out;
}

void SceneBuilderV1::fill_block(const Rect& b) {
    const double pick = rng_.uniform();
    if (pick < 0.24) {
        parking_lot(inset(b, rng_.integer(6, 16)), rng_.uniform(0.25, 0.97), rng_.chance(0.5));
    } else if (pick < 0.50 && b.height() >= 200 && b.width() >= 160) {
        commercial(b);
    } else if (pick < 0.78) {
        residential(b);
    } else if (pick < 0.90) {
        industrial(b);
    } else {
        park(b);
    }
}

void SceneBuilderV1::park(const Rect& b) {
    // Footpaths and many trees.
    const int py = rng_.integer(b.y0 + 20, std::max(b.y0 + 20, b.y1 - 20));
    paint_surface({b.x0, py, b.x1, py + 6}, kYard, Colour{170, 150, 118}, 0.05);
    for (int k = 0; k < b.width() * b.height() / 5000; ++k)
        trees_.push_back({rng_.uniform(b.x0, b.x1), rng_.uniform(b.y0, b.y1), rng_.uniform(12, 32)});
}

void SceneBuilderV1::place_road_cars() {
    for (const Road& r : roads_) {
        const int along = r.horizontal ? w_ : h_;
        const int lanes = r.lanes;
        const double density = rng_.uniform(0.0, 0.6);
        const bool street_parking = r.lanes == 2 && rng_.chance(0.45);
        for (int lane = 0; lane < lanes; ++lane) {
            const double centre = r.start + (lane + 0.5) * r.width / static_cast<double>(lanes);
            // Right-hand traffic: the lanes in the lower / right half go east / south.
            const bool forward = lane >= lanes / 2;
            const double heading = (r.horizontal ? 0.0 : kPi / 2) + (forward ? 0.0 : kPi);
            for (double t = rng_.uniform(0, 80); t < along;) {
                const double cx = r.horizontal ? t : centre, cy = r.horizontal ? centre : t;
                const bool junction = in_hroad_[static_cast<std::size_t>(std::clamp(static_cast<int>(cy), 0, h_ - 1))] &&
                                      in_vroad_[static_cast<std::size_t>(std::clamp(static_cast<int>(cx), 0, w_ - 1))];
                if (!junction && rng_.chance(density)) car(cx, cy, heading + rng_.angle_jitter(2), {kRoad});
                t += rng_.uniform(34, 160);
            }
        }
        if (street_parking) {
            for (int edge = 0; edge < 2; ++edge) {
                const double centre = edge == 0 ? r.start + 9.0 : r.start + r.width - 9.0;
                const double heading = (r.horizontal ? 0.0 : kPi / 2) + (edge == 0 ? kPi : 0.0);
                for (double t = rng_.uniform(0, 40); t < along; t += rng_.uniform(33, 60)) {
                    const double cx = r.horizontal ? t : centre, cy = r.horizontal ? centre : t;
                    const bool junction = in_hroad_[static_cast<std::size_t>(std::clamp(static_cast<int>(cy), 0, h_ - 1))] &&
                                          in_vroad_[static_cast<std::size_t>(std::clamp(static_cast<int>(cx), 0, w_ - 1))];
                    if (!junction && rng_.chance(0.55)) car(cx, cy, heading + rng_.angle_jitter(2), {kRoad});
                }
            }
        }
    }
}

void SceneBuilderV1::scatter_trees() {
    const int n = w_ * h_ / 30000;
    for (int k = 0; k < n; ++k) trees_.push_back({rng_.uniform(0, w_), rng_.uniform(0, h_), rng_.uniform(10, 28)});
    // Street trees along sidewalks.
    for (const Road& r : roads_) {
        if (!rng_.chance(0.5)) continue;
        const int along = r.horizontal ? w_ : h_;
        const double spacing = rng_.uniform(60, 110);
        for (double t = rng_.uniform(0, spacing); t < along; t += spacing) {
            const double off = rng_.chance(0.5) ? r.start - 14.0 : r.start + r.width + 14.0;
            trees_.push_back({r.horizontal ? t : off, r.horizontal ? off : t, rng_.uniform(10, 16)});
        }
    }
}

void SceneBuilderV1::draw_trees() {
    for (const TreeRequest& t : trees_) {
        const int x0 = static_cast<int>(std::floor(t.x - t.r)) - 1, x1 = static_cast<int>(std::ceil(t.x + t.r)) + 1;
        const int y0 = static_cast<int>(std::floor(t.y - t.r)) - 1, y1 = static_cast<int>(std::ceil(t.y + t.r)) + 1;
        bool ok = x0 >= 0 && y0 >= 0 && x1 < w_ && y1 < h_;
        for (int y = y0; ok && y <= y1; ++y)
            for (int x = x0; ok && x <= x1; ++x) {
                const double dx = x + 0.5 - t.x, dy = y + 0.5 - t.y;
                if (dx * dx + dy * dy > (t.r + 2) * (t.r + 2)) continue;
                const uint8_t s = surface_[index(x, y)];
                if (objects_[index(x, y)] || s == kBuilding || s == kRoad || s == kLot) ok = false;
            }
        if (!ok) continue;
        const double phase = rng_.uniform(0, 2 * kPi);
        const int lobes = rng_.integer(5, 9);
        const Colour leaf{rng_.uniform(38, 62), rng_.uniform(66, 96), rng_.uniform(32, 48)};
        auto radius_at = [&](double dx, double dy) {
            return t.r * (1.0 + 0.1 * std::sin(lobes * std::atan2(dy, dx) + phase));
        };
        // Shadow on the ground to the lower right.
        const double o = t.r * 0.6;
        for (int y = y0; y <= std::min(h_ - 1, static_cast<int>(y1 + o)); ++y)
            for (int x = x0; x <= std::min(w_ - 1, static_cast<int>(x1 + o)); ++x) {
                const double dx = x + 0.5 - t.x - o, dy = y + 0.5 - t.y - o;
                if (dx * dx + dy * dy < radius_at(dx, dy) * radius_at(dx, dy) && surface_[index(x, y)] != kBuilding)
                    shade_[index(x, y)] = 1;
            }
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) {
                const double dx = x + 0.5 - t.x, dy = y + 0.5 - t.y;
                const double d = std::sqrt(dx * dx + dy * dy);
                const double rr = radius_at(dx, dy);
                const double cov = std::clamp(rr + 0.5 - d, 0.0, 1.0);
                if (cov <= 0) continue;
                // Lit from the north-west, with leafy speckle.
                const double light = 1.0 - 0.35 * (dx + dy) / (2 * t.r) + 0.2 * (rng_.uniform() - 0.5);
                blend(x, y, leaf.scaled(light), cov);
                surface_[index(x, y)] = kTree;
                shade_[index(x, y)] = 0;
            }
    }
}

SyntheticScene SceneBuilderV1::finish() {
    SyntheticScene out;
    out.image = Rgb8Image(w_, h_);
    for (int y = 0; y < h_; ++y)
        for (int x = 0; x < w_; ++x) {
            const std::size_t i = index(x, y);
            const float* p = &rgb_[i * 3];
            const double shade[3] = {0.50, 0.53, 0.60};  // shadows are blue-ish (sky light)
            const double noise = (static_cast<double>(rng_.next() & 0xFF) / 255.0 - 0.5) * 6.0;
            uint8_t* q = out.image.at(x, y);
            for (int c = 0; c < 3; ++c) {
                const double v = p[c] * (shade_[i] ? shade[c] : 1.0) + noise;
                q[c] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
            }
        }
    out.cars = std::move(cars_);
    out.negatives = std::move(negatives_);
    return out;
}

}  // namespace satsal::cowc::synthetic_detail
