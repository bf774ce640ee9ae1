#include "cowc/Synthetic.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "cowc/CountingList.hpp"
#include "cowc/Names.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/SplitMix64.hpp"
#include "io/AtomicFile.hpp"
#include "io/GeoReference.hpp"

namespace satsal::cowc {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A SplitMix64 stream: identical on every platform (std:: distributions are not).
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        const uint64_t z = splitmix64(state_);
        state_ += 0x9E3779B97F4A7C15ull;
        return z;
    }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    /// Inclusive integer range.
    int integer(int lo, int hi) {
        if (hi <= lo) return lo;
        return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
    }
    bool chance(double p) { return uniform() < p; }
    double angle_jitter(double degrees) { return uniform(-degrees, degrees) * kPi / 180.0; }

private:
    uint64_t state_;
};

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
    Rng r(seed ^ (stream * 0xD1B54A32D192ED03ull + 0x2545F4914F6CDD1Dull));
    r.next();
    return r.next();
}

struct Colour {
    double r, g, b;
    Colour scaled(double f) const { return {r * f, g * f, b * f}; }
};

enum Surface : uint8_t { kGround = 0, kRoad, kSidewalk, kLot, kBuilding, kYard, kTree };

// Smooth value noise in [0, 1]: random values on a coarse grid, smoothstep-interpolated.
class ValueNoise {
public:
    ValueNoise(int width, int height, double cell, Rng& rng) : cell_(cell) {
        gw_ = static_cast<int>(std::ceil(width / cell)) + 2;
        gh_ = static_cast<int>(std::ceil(height / cell)) + 2;
        values_.resize(static_cast<std::size_t>(gw_) * gh_);
        for (auto& v : values_) v = static_cast<float>(rng.uniform());
    }
    double at(double x, double y) const {
        const double gx = x / cell_, gy = y / cell_;
        const int ix = std::clamp(static_cast<int>(gx), 0, gw_ - 2);
        const int iy = std::clamp(static_cast<int>(gy), 0, gh_ - 2);
        double fx = gx - ix, fy = gy - iy;
        fx = fx * fx * (3 - 2 * fx);
        fy = fy * fy * (3 - 2 * fy);
        auto v = [&](int x, int y) { return static_cast<double>(values_[static_cast<std::size_t>(y) * gw_ + x]); };
        const double top = v(ix, iy) + fx * (v(ix + 1, iy) - v(ix, iy));
        const double bottom = v(ix, iy + 1) + fx * (v(ix + 1, iy + 1) - v(ix, iy + 1));
        return top + fy * (bottom - top);
    }

private:
    double cell_;
    int gw_ = 0, gh_ = 0;
    std::vector<float> values_;
};

// Signed distance from (u, v) to a rectangle of half sizes (hl, hw) with corner radius r.
double rounded_rect_distance(double u, double v, double hl, double hw, double r) {
    const double qx = std::fabs(u) - (hl - r);
    const double qy = std::fabs(v) - (hw - r);
    const double ox = std::max(qx, 0.0), oy = std::max(qy, 0.0);
    return std::sqrt(ox * ox + oy * oy) + std::min(std::max(qx, qy), 0.0) - r;
}

struct Rect {
    int x0, y0, x1, y1;  // half-open
    int width() const { return x1 - x0; }
    int height() const { return y1 - y0; }
};

struct Road {
    bool horizontal;
    int start;  // first row (horizontal) or column (vertical) of asphalt
    int width;
    int lanes;  // 2 or 4
};

struct TreeRequest {
    double x, y, r;
};

// Builds one scene: float RGB canvas plus masks for surfaces, placed objects and shade.
class SceneBuilder {
public:
    SceneBuilder(int width, int height, uint64_t seed)
        : w_(width), h_(height), rng_(seed), rgb_(static_cast<std::size_t>(width) * height * 3),
          surface_(static_cast<std::size_t>(width) * height, kGround),
          objects_(static_cast<std::size_t>(width) * height, 0), shade_(static_cast<std::size_t>(width) * height, 0) {}

    SyntheticScene build() {
        paint_ground();
        lay_out_roads();
        paint_roads();
        for (const Rect& block : blocks()) fill_block(block);
        place_road_cars();
        scatter_trees();
        draw_trees();
        return finish();
    }

private:
    std::size_t index(int x, int y) const { return static_cast<std::size_t>(y) * w_ + x; }
    bool inside(int x, int y) const { return x >= 0 && y >= 0 && x < w_ && y < h_; }

    void set(int x, int y, const Colour& c) {
        float* p = &rgb_[index(x, y) * 3];
        p[0] = static_cast<float>(c.r);
        p[1] = static_cast<float>(c.g);
        p[2] = static_cast<float>(c.b);
    }
    void blend(int x, int y, const Colour& c, double a) {
        float* p = &rgb_[index(x, y) * 3];
        p[0] = static_cast<float>(p[0] + a * (c.r - p[0]));
        p[1] = static_cast<float>(p[1] + a * (c.g - p[1]));
        p[2] = static_cast<float>(p[2] + a * (c.b - p[2]));
    }
    void darken(int x, int y, double factor) {
        float* p = &rgb_[index(x, y) * 3];
        for (int c = 0; c < 3; ++c) p[c] = static_cast<float>(p[c] * factor);
    }

    // Calls f(x, y, u, v, coverage) for pixels touched by an oriented rounded rectangle centred at
    // (cx, cy) with its long axis along `angle`; (u, v) are the pixel centre in the box frame.
    template <class F>
    void for_box(double cx, double cy, double hl, double hw, double angle, double radius, F&& f) const {
        const double c = std::cos(angle), s = std::sin(angle);
        const double ex = std::fabs(c) * hl + std::fabs(s) * hw + 1.5;
        const double ey = std::fabs(s) * hl + std::fabs(c) * hw + 1.5;
        const int x0 = std::max(0, static_cast<int>(std::floor(cx - ex)));
        const int x1 = std::min(w_ - 1, static_cast<int>(std::ceil(cx + ex)));
        const int y0 = std::max(0, static_cast<int>(std::floor(cy - ey)));
        const int y1 = std::min(h_ - 1, static_cast<int>(std::ceil(cy + ey)));
        for (int y = y0; y <= y1; ++y) {
            const double dy = y + 0.5 - cy;
            for (int x = x0; x <= x1; ++x) {
                const double dx = x + 0.5 - cx;
                const double u = c * dx + s * dy;
                const double v = -s * dx + c * dy;
                const double coverage = std::clamp(0.5 - rounded_rect_distance(u, v, hl, hw, radius), 0.0, 1.0);
                if (coverage > 0) f(x, y, u, v, coverage);
            }
        }
    }

    // True when a box (grown by `clearance`) lies inside the scene, on allowed surfaces, and
    // touches no placed object.
    bool box_free(double cx, double cy, double hl, double hw, double angle, std::initializer_list<Surface> allowed,
                  double clearance = 1.5) const {
        bool ok = true;
        const double c = std::cos(angle), s = std::sin(angle);
        const double ex = std::fabs(c) * hl + std::fabs(s) * hw + clearance;
        const double ey = std::fabs(s) * hl + std::fabs(c) * hw + clearance;
        if (cx - ex < 0 || cy - ey < 0 || cx + ex >= w_ || cy + ey >= h_) return false;
        for_box(cx, cy, hl + clearance, hw + clearance, angle, 1.0, [&](int x, int y, double, double, double) {
            if (!ok) return;
            const std::size_t i = index(x, y);
            if (objects_[i]) ok = false;
            else if (std::find(allowed.begin(), allowed.end(), static_cast<Surface>(surface_[i])) == allowed.end())
                ok = false;
        });
        return ok;
    }

    void mark_box(double cx, double cy, double hl, double hw, double angle) {
        for_box(cx, cy, hl, hw, angle, 1.0, [&](int x, int y, double, double, double) { objects_[index(x, y)] = 1; });
    }

    void paint_ground() {
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

    void lay_out_roads() {
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

    void paint_roads() {
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
    std::vector<Rect> blocks() const {
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

    void fill_block(const Rect& b) {
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

    static Rect inset(const Rect& r, int d) { return {r.x0 + d, r.y0 + d, r.x1 - d, r.y1 - d}; }

    void paint_surface(const Rect& r, Surface s, const Colour& base, double variation) {
        ValueNoise n(w_, h_, 10.0, rng_);
        for (int y = std::max(0, r.y0); y < std::min(h_, r.y1); ++y)
            for (int x = std::max(0, r.x0); x < std::min(w_, r.x1); ++x) {
                surface_[index(x, y)] = s;
                set(x, y, base.scaled(1.0 - variation + 2 * variation * n.at(x, y)));
            }
    }

    // ---- cars and distractors -------------------------------------------------------------

    Colour car_colour() {
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
    void box_shadow(double cx, double cy, double hl, double hw, double angle, double offset, double strength) {
        for_box(cx + offset, cy + offset, hl, hw, angle, 2.0, [&](int x, int y, double, double, double cov) {
            if (!objects_[index(x, y)]) darken(x, y, 1.0 - strength * cov);
        });
    }

    // Places a car if the spot is free; the car's centre pixel becomes its annotation dot.
    bool car(double cx, double cy, double angle, std::initializer_list<Surface> allowed) {
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

    enum class Distractor { Container, LongContainer, Trailer, Dumpster, Boat, Hvac };

    bool distractor(Distractor kind, double cx, double cy, double angle, std::initializer_list<Surface> allowed) {
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
    void parking_lot(const Rect& r, double occupancy, bool rows_horizontal) {
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
    void flat_building(const Rect& r) {
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
    void house(const Rect& r) {
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

    void building_shadow(const Rect& r, int o) {
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

    void commercial(const Rect& b) {
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

    void residential(const Rect& b) {
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

    void industrial(const Rect& b) {
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

    void park(const Rect& b) {
        // Footpaths and many trees.
        const int py = rng_.integer(b.y0 + 20, std::max(b.y0 + 20, b.y1 - 20));
        paint_surface({b.x0, py, b.x1, py + 6}, kYard, Colour{170, 150, 118}, 0.05);
        for (int k = 0; k < b.width() * b.height() / 5000; ++k)
            trees_.push_back({rng_.uniform(b.x0, b.x1), rng_.uniform(b.y0, b.y1), rng_.uniform(12, 32)});
    }

    void place_road_cars() {
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

    void scatter_trees() {
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

    void draw_trees() {
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

    SyntheticScene finish() {
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

    int w_, h_;
    Rng rng_;
    std::vector<float> rgb_;
    std::vector<uint8_t> surface_, objects_, shade_;
    std::vector<uint8_t> in_hroad_, in_vroad_;
    std::vector<Road> roads_;
    std::vector<TreeRequest> trees_;
    std::vector<PixelPosition> cars_, negatives_;
};

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

SyntheticScene render_synthetic_scene(int width, int height, uint64_t seed) {
    if (width < 256 || height < 256)
        throw std::invalid_argument("synthetic COWC scene must be at least 256 x 256 pixels, got " +
                                    std::to_string(width) + " x " + std::to_string(height));
    return SceneBuilder(width, height, seed).build();
}

std::string synthetic_scene_name(int index, bool test) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "syn-%02d.5%%_%s", index + 1, test ? "t" : "a");
    return buf;
}

SyntheticCowcResult generate_synthetic_cowc(const SyntheticCowcOptions& o) {
    if (o.root.empty()) throw std::invalid_argument("synthetic COWC: no output root given");
    if (o.site.empty() || o.site.find('/') != std::string::npos)
        throw std::invalid_argument("synthetic COWC: site '" + o.site + "' must be a non-empty folder name");
    if (o.scene_width < 256 || o.scene_height < 256)
        throw std::invalid_argument("synthetic COWC: scenes must be at least 256 x 256 pixels, got " +
                                    std::to_string(o.scene_width) + " x " + std::to_string(o.scene_height));
    if (o.train_scenes < 0 || o.test_scenes < 0 || o.train_scenes + o.test_scenes == 0)
        throw std::invalid_argument("synthetic COWC: need at least one scene (train " + std::to_string(o.train_scenes) +
                                    ", test " + std::to_string(o.test_scenes) + ")");

    SyntheticCowcResult result;
    std::vector<CountingListEntry> train_entries, test_entries;
    const int total = o.train_scenes + o.test_scenes;
    const std::string truth_dir = o.root + "/ground_truth_sets/" + o.site;
    for (int k = 0; k < total; ++k) {
        const bool test = k >= o.train_scenes;
        SyntheticCowcSceneInfo info;
        info.split = test ? "test" : "train";
        info.name = synthetic_scene_name(k, test);
        info.width = o.scene_width;
        info.height = o.scene_height;
        info.mosaic_x = k * o.scene_width;
        const ScenePaths paths = scene_paths(truth_dir + "/" + info.name + ".png");
        info.scene_png = paths.scene;
        info.cars_png = paths.cars;
        info.negatives_png = paths.negatives;

        SyntheticScene scene = render_synthetic_scene(o.scene_width, o.scene_height, derive_seed(o.seed, static_cast<uint64_t>(k)));
        const ObjectPositions cars(o.scene_width, o.scene_height, scene.cars);
        const ObjectPositions negatives(o.scene_width, o.scene_height, scene.negatives);
        info.cars = cars.size();
        info.negatives = negatives.size();
        write_png(paths.scene, scene.image, o.png_zlevel);
        write_annotation_png(paths.cars, cars);
        write_annotation_png(paths.negatives, negatives);
        if (o.write_geotiffs) {
            info.geotiff = o.root + "/geotiff/" + o.site + "/" + info.name + ".tif";
            const double pixel_size = 0.15;
            const GeoReference geo = GeoReference::from_epsg(
                o.utm_epsg, {o.origin_easting + info.mosaic_x * pixel_size, pixel_size, 0.0, o.origin_northing, 0.0,
                             -pixel_size});
            write_geotiff(info.geotiff, scene.image, geo);
        }
        if (o.write_patches) {
            CountingPatchOptions po;
            po.site = o.site;
            po.split = info.split;
            po.stride = o.patch_stride;
            po.angles = o.patch_angles;
            po.name_offset_x = info.mosaic_x;
            po.png_zlevel = o.png_zlevel;
            auto entries = cut_counting_patches(paths.scene, cars, o.root, po);
            info.patches = entries.size();
            auto& into = test ? test_entries : train_entries;
            auto& histogram = test ? result.test_count_histogram : result.train_count_histogram;
            for (auto& e : entries) {
                if (histogram.size() <= static_cast<std::size_t>(e.count)) histogram.resize(static_cast<std::size_t>(e.count) + 1, 0);
                ++histogram[static_cast<std::size_t>(e.count)];
                into.push_back(std::move(e));
            }
        }
        result.scenes.push_back(std::move(info));
        if (o.on_scene) o.on_scene(result.scenes.back(), k, total);
    }

    if (o.write_patches) {
        result.train_list = o.root + "/COWC_train_list_64_class.txt";
        result.test_list = o.root + "/COWC_test_list_64_class.txt";
        write_counting_list(result.train_list, train_entries);
        write_counting_list(result.test_list, test_entries);
        if (o.bz2_lists) {
            write_counting_list(result.train_list + ".bz2", train_entries);
            write_counting_list(result.test_list + ".bz2", test_entries);
        }
    }

    const std::string manifest = o.root + "/synthetic_scenes.csv";
    std::ostringstream csv;
    csv << "site,split,scene,width,height,cars,negatives,patches,mosaic_x,scene_png,geotiff,epsg,origin_x,origin_y,"
           "pixel_size,seed\n";
    for (const auto& s : result.scenes) {
        const auto rel = [&](const std::string& p) {
            return p.empty() ? std::string() : std::filesystem::path(p).lexically_relative(o.root).generic_string();
        };
        char geo[128];
        std::snprintf(geo, sizeof geo, "%d,%.3f,%.3f,0.15", o.utm_epsg, o.origin_easting + s.mosaic_x * 0.15,
                      o.origin_northing);
        csv << csv_field(o.site) << ',' << s.split << ',' << csv_field(s.name) << ',' << s.width << ',' << s.height << ','
            << s.cars << ',' << s.negatives << ',' << s.patches << ',' << s.mosaic_x << ',' << csv_field(rel(s.scene_png))
            << ',' << csv_field(rel(s.geotiff)) << ',' << geo << ',' << o.seed << '\n';
    }
    // Written last and atomically: its presence says the set is complete (ensure_synthetic_cowc_demo).
    write_text_file(manifest, csv.str());
    return result;
}

bool ensure_synthetic_cowc_demo(const std::string& root) {
    if (std::filesystem::exists(std::filesystem::path(root) / "synthetic_scenes.csv")) return false;
    SyntheticCowcOptions options;
    options.root = root;
    options.train_scenes = 0;
    options.test_scenes = 1;
    options.seed = 2026;
    options.write_patches = false;
    std::fprintf(stderr, "satsal: generating the synthetic COWC demo scene under %s (once)\n", root.c_str());
    generate_synthetic_cowc(options);
    return true;
}

}  // namespace satsal::cowc
