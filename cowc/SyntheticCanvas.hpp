#pragma once
// Internal to the synthetic COWC generator (cowc/Synthetic*.cpp): the platform-independent random
// stream, value noise, shapes, and the Canvas every scene style paints on (a float RGB image plus
// per-pixel masks of surface type, placed objects and shade). Not a public interface.
//
// Thread rules: a Canvas belongs to one thread.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "cowc/SplitMix64.hpp"

namespace satsal::cowc::synthetic_detail {

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

inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
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
inline double rounded_rect_distance(double u, double v, double hl, double hw, double r) {
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

// The pixels and masks of one scene and the primitives that paint them.
class Canvas {
public:
    Canvas(int width, int height, uint64_t seed)
        : w_(width), h_(height), rng_(seed), rgb_(static_cast<std::size_t>(width) * height * 3),
          surface_(static_cast<std::size_t>(width) * height, kGround),
          objects_(static_cast<std::size_t>(width) * height, 0), shade_(static_cast<std::size_t>(width) * height, 0) {}

protected:
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

    void paint_surface(const Rect& r, Surface s, const Colour& base, double variation) {
        ValueNoise n(w_, h_, 10.0, rng_);
        for (int y = std::max(0, r.y0); y < std::min(h_, r.y1); ++y)
            for (int x = std::max(0, r.x0); x < std::min(w_, r.x1); ++x) {
                surface_[index(x, y)] = s;
                set(x, y, base.scaled(1.0 - variation + 2 * variation * n.at(x, y)));
            }
    }

    int w_, h_;
    Rng rng_;
    std::vector<float> rgb_;
    std::vector<uint8_t> surface_, objects_, shade_;
};

}  // namespace satsal::cowc::synthetic_detail
