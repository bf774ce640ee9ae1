#include "io/SyntheticScene.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace satsal {
namespace {

// ---------------------------------------------------------------------------------------------
// Deterministic hashing: every random choice is a hash of (seed, integer coordinates, salt), so
// the same pixel gets the same value whichever window it is rendered in.

inline uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline uint64_t hash4(uint64_t seed, int64_t a, int64_t b, uint64_t salt) {
    return mix64(seed ^ mix64(static_cast<uint64_t>(a) * 0x632BE59BD9B4E019ull ^
                              mix64(static_cast<uint64_t>(b) + salt * 0x8CB92BA72F3D8DD7ull)));
}

// Uniform in [0, 1) from the top 24 bits.
inline float unit(uint64_t h) { return static_cast<float>(h >> 40) * (1.0f / 16777216.0f); }

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

// Smooth value noise in [0, 1): hashed lattice values every `cell` pixels, smoothstep-interpolated.
float value_noise(uint64_t seed, int64_t x, int64_t y, int64_t cell, uint64_t salt) {
    const int64_t cx = floor_div(x, cell), cy = floor_div(y, cell);
    const float fx = static_cast<float>(x - cx * cell) / cell, fy = static_cast<float>(y - cy * cell) / cell;
    const float sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy);
    const float v00 = unit(hash4(seed, cx, cy, salt)), v10 = unit(hash4(seed, cx + 1, cy, salt));
    const float v01 = unit(hash4(seed, cx, cy + 1, salt)), v11 = unit(hash4(seed, cx + 1, cy + 1, salt));
    const float top = v00 + (v10 - v00) * sx, bottom = v01 + (v11 - v01) * sx;
    return top + (bottom - top) * sy;
}

// Reflectance of one pixel in red, green, blue, near-infrared, each in [0, 1].
struct Colour {
    float r, g, b, nir;
    Colour scaled(float f) const { return {r * f, g * f, b * f, nir * f}; }
};

// ---------------------------------------------------------------------------------------------
// Layout at 0.15 m per pixel. A town grid of kPeriod x kPeriod cells, each with a road of width
// kRoad along its top and left edges and a city block in the rest.
constexpr int64_t kPeriod = 480;   // 72 m
constexpr int64_t kRoad = 64;      // 9.6 m, two lanes
constexpr int64_t kSidewalk = 8;   // 1.2 m of concrete around every block
constexpr int64_t kCarLength = 30; // 4.5 m
constexpr int64_t kCarWidth = 12;  // 1.8 m
constexpr int64_t kSlotWidth = 17; // 2.5 m parking slot
constexpr int64_t kSlotDepth = 33; // 5 m
constexpr int64_t kAisle = 40;     // 6 m between double rows

enum Salt : uint64_t {
    kBlockType = 1, kCarColour, kRoadCar, kRoadCarOffset, kSlotCar, kBuilding, kRoofColour, kGround,
    kTree, kTreeX, kTreeY, kTreeRadius, kLight, kGrass, kGrassFine, kGrain, kAsphaltPatch,
};

const Colour kAsphalt{0.33f, 0.33f, 0.35f, 0.13f};
const Colour kLotAsphalt{0.40f, 0.40f, 0.41f, 0.15f};
const Colour kConcrete{0.62f, 0.61f, 0.58f, 0.32f};
const Colour kPaint{0.92f, 0.92f, 0.90f, 0.45f};
const Colour kGrassColour{0.24f, 0.42f, 0.16f, 0.48f};
const Colour kTreeColour{0.13f, 0.30f, 0.10f, 0.56f};

Colour car_colour(uint64_t h) {
    static const std::array<Colour, 10> palette = {{
        {0.90f, 0.90f, 0.90f, 0.40f},  // white
        {0.88f, 0.88f, 0.86f, 0.40f},  // white
        {0.07f, 0.07f, 0.08f, 0.05f},  // black
        {0.10f, 0.10f, 0.12f, 0.06f},  // black
        {0.64f, 0.65f, 0.67f, 0.30f},  // silver
        {0.40f, 0.40f, 0.42f, 0.20f},  // gray
        {0.68f, 0.08f, 0.08f, 0.30f},  // red
        {0.10f, 0.18f, 0.58f, 0.12f},  // blue
        {0.10f, 0.38f, 0.18f, 0.25f},  // green
        {0.85f, 0.72f, 0.10f, 0.45f},  // yellow
    }};
    return palette[h % palette.size()];
}

// A car with its long axis along u (0..kCarLength) and across v (0..kCarWidth): body colour,
// darker windscreen and rear window, dark outline.
Colour car_pixel(const Colour& body, int64_t u, int64_t v) {
    if (u == 0 || u == kCarLength - 1 || v == 0 || v == kCarWidth - 1) return body.scaled(0.55f);
    if ((u >= 8 && u < 12) || (u >= 21 && u < 24)) return Colour{0.08f, 0.09f, 0.11f, 0.05f};
    return body;
}

class SceneShader {
public:
    explicit SceneShader(uint64_t seed) : seed_(seed) {}

    Colour shade(int64_t x, int64_t y) const {
        Colour c = base(x, y);
        // Gentle large-scale illumination / haze variation (+-5%).
        const float light = 0.95f + 0.10f * value_noise(seed_, x, y, 1024, kLight);
        return c.scaled(light);
    }

private:
    Colour base(int64_t x, int64_t y) const {
        const int64_t mx = floor_mod(x, kPeriod), my = floor_mod(y, kPeriod);
        const bool road_h = my < kRoad, road_v = mx < kRoad;
        if (road_h || road_v) return road(x, y, mx, my, road_h, road_v);
        const int64_t bx = floor_div(x, kPeriod), by = floor_div(y, kPeriod);
        const int64_t lx = mx - kRoad, ly = my - kRoad;  // 0 .. kPeriod - kRoad
        const int64_t inner = kPeriod - kRoad;
        if (lx < kSidewalk || ly < kSidewalk || lx >= inner - kSidewalk || ly >= inner - kSidewalk)
            return smooth_texture(kConcrete, x, y);
        const int64_t ix = lx - kSidewalk, iy = ly - kSidewalk, size = inner - 2 * kSidewalk;
        const uint64_t type = hash4(seed_, bx, by, kBlockType) % 10;
        if (type < 4) return parking(x, y, bx, by, ix, iy, size);
        if (type < 7) return building(x, y, bx, by, ix, iy, size);
        return park(x, y);
    }

    Colour grain(const Colour& c, int64_t x, int64_t y, float amount) const {
        // Per-pixel white grain, only on vegetation: it is what a compressor cannot remove (with
        // grain on every surface a 30000 x 30000 scene grows about 4x).
        const float g = 1.0f + amount * (unit(hash4(seed_, x, y, kGrain)) - 0.5f);
        return c.scaled(g);
    }

    // Fine but smooth texture for paved surfaces and roofs (+-3%), cheap to compress.
    Colour smooth_texture(const Colour& c, int64_t x, int64_t y) const {
        return c.scaled(0.97f + 0.06f * value_noise(seed_, x, y, 16, kGrain));
    }

    Colour road(int64_t x, int64_t y, int64_t mx, int64_t my, bool road_h, bool road_v) const {
        const float patch = 0.92f + 0.16f * value_noise(seed_, x, y, 96, kAsphaltPatch);
        const Colour asphalt = smooth_texture(kAsphalt, x, y).scaled(patch);
        if (road_h && road_v) return asphalt;  // intersection: no markings, no parked cars
        // Along-road coordinate `a`, across-road coordinate `c` (0 .. kRoad), road identity.
        const int64_t a = road_h ? x : y;
        const int64_t c = road_h ? my : mx;
        const int64_t road_id = road_h ? floor_div(y, kPeriod) * 2 : floor_div(x, kPeriod) * 2 + 1;
        // Cars in two lanes: segment of 56 px along the road, at most one car per lane and segment.
        constexpr int64_t segment = 56;
        const int64_t s = floor_div(a, segment), u0 = a - s * segment;
        for (int lane = 0; lane < 2; ++lane) {
            const int64_t c0 = lane == 0 ? 12 : kRoad - 12 - kCarWidth;
            if (c < c0 || c >= c0 + kCarWidth + 2) continue;
            const uint64_t h = hash4(seed_, road_id * 2 + lane, s, kRoadCar);
            if (unit(h) >= 0.3f) continue;
            const int64_t offset = static_cast<int64_t>(hash4(seed_, road_id * 2 + lane, s, kRoadCarOffset) %
                                                        (segment - kCarLength - 2));
            const int64_t u = u0 - offset;
            if (u >= 0 && u < kCarLength && c < c0 + kCarWidth)
                return car_pixel(car_colour(hash4(seed_, road_id * 2 + lane, s, kCarColour)), u, c - c0);
            // Two pixels of shadow on the far side of the car.
            if (u >= 2 && u < kCarLength + 2 && c >= c0 + kCarWidth) return asphalt.scaled(0.6f);
        }
        // Dashed centre line.
        if (c >= kRoad / 2 - 1 && c < kRoad / 2 + 1 && floor_mod(a, 48) < 24) return kPaint;
        return asphalt;
    }

    Colour parking(int64_t x, int64_t y, int64_t bx, int64_t by, int64_t ix, int64_t iy, int64_t size) const {
        const Colour ground = smooth_texture(kLotAsphalt, x, y);
        constexpr int64_t row_period = 2 * kSlotDepth + kAisle;
        const int64_t row = iy / row_period, in_row = iy % row_period;
        if (in_row >= 2 * kSlotDepth || iy >= (size / row_period) * row_period) return ground;  // aisle
        const int64_t half = in_row / kSlotDepth, depth = in_row % kSlotDepth;
        const int64_t slot = ix / kSlotWidth, across = ix % kSlotWidth;
        if (ix >= (size / kSlotWidth) * kSlotWidth) return ground;
        if (across == 0) return kPaint;  // slot divider
        const uint64_t h = hash4(seed_, bx * 4096 + slot, by * 4096 + row * 2 + half, kSlotCar);
        if (unit(h) < 0.7f) {
            // Cars are parked nose-in, a little off-centre; u runs along the slot's depth.
            const int64_t v = across - 3, u = (half == 0 ? depth : kSlotDepth - 1 - depth) - 1 - static_cast<int64_t>(h % 2);
            if (v >= 0 && v < kCarWidth && u >= 0 && u < kCarLength)
                return car_pixel(car_colour(h >> 8), u, v);
            if (v >= kCarWidth && v < kCarWidth + 2 && u >= 2 && u < kCarLength) return ground.scaled(0.6f);
        }
        return ground;
    }

    Colour building(int64_t x, int64_t y, int64_t bx, int64_t by, int64_t ix, int64_t iy, int64_t size) const {
        const uint64_t h = hash4(seed_, bx, by, kBuilding);
        const int64_t left = 12 + static_cast<int64_t>(h % 60), top = 12 + static_cast<int64_t>((h >> 8) % 60);
        const int64_t right = size - 30 - static_cast<int64_t>((h >> 16) % 60);
        const int64_t bottom = size - 30 - static_cast<int64_t>((h >> 24) % 60);
        const bool inside = ix >= left && ix < right && iy >= top && iy < bottom;
        if (inside) {
            static const std::array<Colour, 4> roofs = {{
                {0.55f, 0.55f, 0.55f, 0.30f},  // concrete
                {0.60f, 0.26f, 0.20f, 0.32f},  // red tiles
                {0.25f, 0.25f, 0.28f, 0.18f},  // dark membrane
                {0.80f, 0.78f, 0.74f, 0.42f},  // light gravel
            }};
            const Colour roof = roofs[hash4(seed_, bx, by, kRoofColour) % roofs.size()];
            // Gable: the ridge along the longer side; the north/west half in sun, the other in shade.
            const bool wide = (right - left) >= (bottom - top);
            const int64_t ridge = wide ? (top + bottom) / 2 : (left + right) / 2;
            const int64_t pos = wide ? iy : ix;
            if (pos == ridge) return roof.scaled(1.2f);
            if (ix == left || ix == right - 1 || iy == top || iy == bottom - 1) return roof.scaled(0.7f);
            return smooth_texture(roof, x, y).scaled(pos < ridge ? 1.08f : 0.85f);
        }
        const bool paved = (hash4(seed_, bx, by, kGround) & 1) != 0;
        const Colour ground = paved ? smooth_texture(kConcrete, x, y) : grass(x, y);
        // Shadow cast toward the south-east, 24 px (3.6 m) long.
        constexpr int64_t shadow = 24;
        if (ix >= left + shadow && ix < right + shadow && iy >= top + shadow && iy < bottom + shadow)
            return ground.scaled(0.45f);
        return ground;
    }

    Colour grass(int64_t x, int64_t y) const {
        const float coarse = value_noise(seed_, x, y, 40, kGrass);
        const float fine = value_noise(seed_, x, y, 6, kGrassFine);
        return grain(kGrassColour, x, y, 0.06f).scaled(0.8f + 0.3f * coarse + 0.12f * fine);
    }

    Colour park(int64_t x, int64_t y) const {
        // Trees on a jittered 40 px grid; each tree stays inside its cell, its shadow (offset 6 px
        // south-east) may reach into the next cell, so the cells of (x, y) and (x-6, y-6) are checked.
        constexpr int64_t cell = 40, offset = 6;
        const auto tree_at = [&](int64_t px, int64_t py, float* shade) {
            const int64_t cx = floor_div(px, cell), cy = floor_div(py, cell);
            if (unit(hash4(seed_, cx, cy, kTree)) >= 0.55f) return false;
            const int64_t radius = 7 + static_cast<int64_t>(hash4(seed_, cx, cy, kTreeRadius) % 10);
            const int64_t span = cell - 2 * radius;
            const int64_t tx = cx * cell + radius + static_cast<int64_t>(hash4(seed_, cx, cy, kTreeX) % (span + 1));
            const int64_t ty = cy * cell + radius + static_cast<int64_t>(hash4(seed_, cx, cy, kTreeY) % (span + 1));
            const int64_t dx = px - tx, dy = py - ty;
            if (dx * dx + dy * dy >= radius * radius) return false;
            if (shade) *shade = 1.15f - 0.35f * static_cast<float>(dx + dy + 2 * radius) / (4 * radius);
            return true;
        };
        float shade = 1;
        if (tree_at(x, y, &shade)) return grain(kTreeColour, x, y, 0.10f).scaled(shade);
        const Colour ground = grass(x, y);
        if (tree_at(x - offset, y - offset, nullptr)) return ground.scaled(0.5f);
        return ground;
    }

    uint64_t seed_;
};

int64_t max_value(SceneDataType type) { return type == SceneDataType::Byte ? 255 : 4095; }

void validate(const SyntheticSceneOptions& o) {
    const auto invalid = [](const std::string& what) { throw std::invalid_argument("make-scene: " + what); };
    if (o.width < 1 || o.height < 1)
        invalid("size must be positive, got " + std::to_string(o.width) + " x " + std::to_string(o.height));
    if (o.bands != 3 && o.bands != 4) invalid("bands must be 3 (RGB) or 4 (RGB + NIR), got " + std::to_string(o.bands));
    if (!(o.pixel_size > 0) || !std::isfinite(o.pixel_size))
        invalid("pixel size must be a positive number of metres");
    if (!std::isfinite(o.origin_x) || !std::isfinite(o.origin_y)) invalid("origin must be finite");
    if (o.block_size < 16 || o.block_size % 16 != 0)
        invalid("block size must be a multiple of 16 (GeoTIFF tiles), got " + std::to_string(o.block_size));
    const double limit = o.data_type == SceneDataType::Byte ? 255 : 65535;
    if (o.nodata_value < 0 || o.nodata_value > limit || std::floor(o.nodata_value) != o.nodata_value)
        invalid("nodata value must be an integer in 0.." + std::to_string(static_cast<int>(limit)));
    if (o.path.empty()) invalid("an output path is needed");
    if (o.vrt) {
        if (o.nodata_corner || o.nodata_swath) invalid("nodata areas are not available with --vrt");
        if (o.vrt_tile_size < 16 || o.vrt_tile_size % 16 != 0)
            invalid("VRT tile size must be a multiple of 16, got " + std::to_string(o.vrt_tile_size));
    }
    OGRSpatialReference srs;
    if (srs.importFromEPSG(o.epsg) != OGRERR_NONE) invalid("EPSG:" + std::to_string(o.epsg) + " is not a known CRS");
    if (!srs.IsProjected())
        invalid("EPSG:" + std::to_string(o.epsg) + " is not a projected CRS; the pixel size is in metres (use UTM, e.g. 32633)");
}

template <typename T>
void render_into(const SyntheticSceneOptions& o, int64_t x0, int64_t y0, int64_t width, int64_t height, T* out) {
    const SceneShader shader(o.seed);
    const bool has_nodata = o.nodata_corner || o.nodata_swath;
    const auto nodata = static_cast<T>(o.nodata_value);
    const float top = static_cast<float>(max_value(o.data_type) - 1);
    const int bands = o.bands;
    for (int64_t row = 0; row < height; ++row) {
        const int64_t y = y0 + row;
        T* pixel = out + row * width * bands;
        for (int64_t col = 0; col < width; ++col, pixel += bands) {
            const int64_t x = x0 + col;
            if (has_nodata && synthetic_scene_is_nodata(o, x, y)) {
                std::fill(pixel, pixel + bands, nodata);
                continue;
            }
            const Colour c = shader.shade(x, y);
            // File band order: R,G,B for 3 bands; B,G,R,NIR for 4 (see the header).
            const float values[4] = {bands == 4 ? c.b : c.r, c.g, bands == 4 ? c.r : c.b, c.nir};
            for (int band = 0; band < bands; ++band) {
                // Valid values are 1..max so that 0 (the usual nodata) never occurs in valid data.
                const float v = std::clamp(values[band], 0.0f, 1.0f);
                auto q = static_cast<T>(1 + static_cast<int64_t>(std::lround(v * top)));
                if (has_nodata && q == nodata) q = static_cast<T>(q == 1 ? 2 : q - 1);
                pixel[band] = q;
            }
        }
    }
}

const char* band_name(int bands, int band) {
    static const char* rgb[3] = {"red", "green", "blue"};
    static const char* bgrn[4] = {"blue", "green", "red", "nir"};
    return bands == 4 ? bgrn[band - 1] : rgb[band - 1];
}

// Renders one block with its rows split across the cores; every pixel is independent, so the
// split changes nothing in the result.
template <typename T>
void render_block_parallel(const SyntheticSceneOptions& o, int64_t x0, int64_t y0, int64_t width, int64_t height,
                           T* out) {
    const int64_t threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, std::max<int64_t>(1, height / 16));
    if (threads == 1) return render_into(o, x0, y0, width, height, out);
    std::vector<std::thread> workers;
    const int64_t rows = (height + threads - 1) / threads;
    for (int64_t t = 1; t < threads; ++t) {
        const int64_t first = t * rows, count = std::min(rows, height - first);
        if (count > 0)
            workers.emplace_back([&o, x0, y0, width, first, count, out] {
                render_into(o, x0, y0 + first, width, count, out + first * width * o.bands);
            });
    }
    render_into(o, x0, y0, width, std::min(rows, height), out);
    for (auto& worker : workers) worker.join();
}

std::string gdal_message() {
    const char* message = CPLGetLastErrorMsg();
    return message && *message ? std::string(" (GDAL: ") + message + ")" : std::string();
}


uint64_t file_size(const std::string& path) {
    VSIStatBufL stat{};
    return VSIStatL(path.c_str(), &stat) == 0 ? static_cast<uint64_t>(stat.st_size) : 0;
}

void write_geotiff(const SyntheticSceneOptions& o, const std::string& final_path) {
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    if (!driver) throw std::runtime_error("make-scene: GDAL has no GTiff driver");
    const GDALDataType type = o.data_type == SceneDataType::Byte ? GDT_Byte : GDT_UInt16;

    CPLStringList creation;
    creation.SetNameValue("TILED", "YES");
    creation.SetNameValue("BLOCKXSIZE", std::to_string(o.block_size).c_str());
    creation.SetNameValue("BLOCKYSIZE", std::to_string(o.block_size).c_str());
    creation.SetNameValue("COMPRESS", o.compression == SceneCompression::Zstd ? "ZSTD" : "DEFLATE");
    creation.SetNameValue("PREDICTOR", "2");
    creation.SetNameValue("INTERLEAVE", "PIXEL");
    creation.SetNameValue("BIGTIFF", "IF_SAFER");
    creation.SetNameValue("NUM_THREADS", "ALL_CPUS");
    creation.SetNameValue("PHOTOMETRIC", o.bands == 3 ? "RGB" : "MINISBLACK");
    if (o.bands == 4) creation.SetNameValue("ALPHA", "NO");

    AtomicFile partial(final_path, ".part");
    {
        GDALDatasetUniquePtr dataset(driver->Create(partial.temp_path().c_str(), static_cast<int>(o.width),
                                                    static_cast<int>(o.height), o.bands, type, creation.List()));
        if (!dataset) throw std::runtime_error("make-scene: cannot create '" + partial.temp_path() + "'" + gdal_message());

        double transform[6] = {o.origin_x, o.pixel_size, 0, o.origin_y, 0, -o.pixel_size};
        OGRSpatialReference srs;
        srs.importFromEPSG(o.epsg);
        srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        if (dataset->SetGeoTransform(transform) != CE_None || dataset->SetSpatialRef(&srs) != CE_None)
            throw std::runtime_error("make-scene: cannot georeference '" + partial.temp_path() + "'" + gdal_message());
        std::ostringstream about;
        about << "seed=" << o.seed << " size=" << o.width << "x" << o.height << " bands=" << o.bands;
        dataset->SetMetadataItem("SATSAL_SYNTHETIC_SCENE", about.str().c_str());
        for (int band = 1; band <= o.bands; ++band) {
            GDALRasterBand* raster_band = dataset->GetRasterBand(band);
            raster_band->SetDescription(band_name(o.bands, band));
            if (o.nodata_corner || o.nodata_swath) raster_band->SetNoDataValue(o.nodata_value);
        }

        const int64_t block = o.block_size;
        const std::size_t item = type == GDT_Byte ? 1 : 2;
        std::vector<unsigned char> buffer(static_cast<std::size_t>(block * block * o.bands) * item);
        for (int64_t y0 = 0; y0 < o.height; y0 += block) {
            for (int64_t x0 = 0; x0 < o.width; x0 += block) {
                const int64_t w = std::min(block, o.width - x0), h = std::min(block, o.height - y0);
                if (type == GDT_Byte)
                    render_block_parallel(o, x0, y0, w, h, reinterpret_cast<uint8_t*>(buffer.data()));
                else
                    render_block_parallel(o, x0, y0, w, h, reinterpret_cast<uint16_t*>(buffer.data()));
                const GSpacing pixel = static_cast<GSpacing>(o.bands * item);
                const CPLErr status = dataset->RasterIO(
                    GF_Write, static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(w), static_cast<int>(h),
                    buffer.data(), static_cast<int>(w), static_cast<int>(h), type, o.bands, nullptr, pixel,
                    pixel * w, static_cast<GSpacing>(item), nullptr);
                if (status != CE_None)
                    throw std::runtime_error("make-scene: writing window " + std::to_string(x0) + "," +
                                             std::to_string(y0) + " " + std::to_string(w) + "x" + std::to_string(h) +
                                             " of '" + partial.temp_path() + "' failed" + gdal_message());
            }
            // Push the finished block row to the file: otherwise GDAL's block cache (5% of RAM by
            // default, process-wide) holds every written block until it is full.
            CPLErrorReset();
            dataset->FlushCache(false);
            if (CPLGetLastErrorType() >= CE_Failure)
                throw std::runtime_error("make-scene: writing rows " + std::to_string(y0) + ".." +
                                         std::to_string(y0 + block) + " of '" + partial.temp_path() + "' failed" +
                                         gdal_message());
        }
        CPLErrorReset();
        dataset->FlushCache(true);
        if (CPLGetLastErrorType() >= CE_Failure)
            throw std::runtime_error("make-scene: flushing '" + partial.temp_path() + "' failed" + gdal_message());
    }  // closes the dataset
    if (CPLGetLastErrorType() >= CE_Failure)
        throw std::runtime_error("make-scene: closing '" + partial.temp_path() + "' failed" + gdal_message());
    partial.commit();
}

std::string xml_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

// A VRT mosaic that repeats one rendered tile; the tile is referenced relative to the VRT.
void write_vrt(const SyntheticSceneOptions& o, const std::string& tile_path, std::vector<std::string>& files) {
    SyntheticSceneOptions tile = o;
    tile.width = std::min<int64_t>(o.vrt_tile_size, o.width);
    tile.height = std::min<int64_t>(o.vrt_tile_size, o.height);
    tile.vrt = false;
    write_geotiff(tile, tile_path);
    files.push_back(tile_path);

    OGRSpatialReference srs;
    srs.importFromEPSG(o.epsg);
    char* wkt = nullptr;
    srs.exportToWkt(&wkt);
    const std::string crs = wkt ? wkt : "";
    CPLFree(wkt);

    const char* type = o.data_type == SceneDataType::Byte ? "Byte" : "UInt16";
    const std::string relative = CPLGetFilename(tile_path.c_str());
    std::ostringstream xml;
    xml.precision(17);
    xml << "<VRTDataset rasterXSize=\"" << o.width << "\" rasterYSize=\"" << o.height << "\">\n";
    xml << "  <SRS dataAxisToSRSAxisMapping=\"1,2\">" << xml_escape(crs) << "</SRS>\n";
    xml << "  <GeoTransform>" << o.origin_x << ", " << o.pixel_size << ", 0, " << o.origin_y << ", 0, "
        << -o.pixel_size << "</GeoTransform>\n";
    xml << "  <Metadata><MDI key=\"SATSAL_SYNTHETIC_SCENE\">seed=" << o.seed << " size=" << o.width << "x"
        << o.height << " bands=" << o.bands << " vrt_tile=" << tile.width << "</MDI></Metadata>\n";
    for (int band = 1; band <= o.bands; ++band) {
        xml << "  <VRTRasterBand dataType=\"" << type << "\" band=\"" << band << "\">\n";
        xml << "    <Description>" << band_name(o.bands, band) << "</Description>\n";
        for (int64_t y0 = 0; y0 < o.height; y0 += tile.height) {
            for (int64_t x0 = 0; x0 < o.width; x0 += tile.width) {
                const int64_t w = std::min(tile.width, o.width - x0), h = std::min(tile.height, o.height - y0);
                xml << "    <SimpleSource><SourceFilename relativeToVRT=\"1\">" << xml_escape(relative)
                    << "</SourceFilename><SourceBand>" << band << "</SourceBand>"
                    << "<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"" << w << "\" ySize=\"" << h << "\"/>"
                    << "<DstRect xOff=\"" << x0 << "\" yOff=\"" << y0 << "\" xSize=\"" << w << "\" ySize=\"" << h
                    << "\"/></SimpleSource>\n";
            }
        }
        xml << "  </VRTRasterBand>\n";
    }
    xml << "</VRTDataset>\n";

    write_text_file(o.path, xml.str());
    files.push_back(o.path);
}

}  // namespace

bool synthetic_scene_is_nodata(const SyntheticSceneOptions& o, int64_t x, int64_t y) {
    const int64_t w = o.width, h = o.height;
    if (o.nodata_corner && 4 * (x * h + y * w) < w * h) return true;
    if (o.nodata_swath && 20 * std::llabs(x * h - y * w) < w * h) return true;
    return false;
}

std::vector<uint16_t> render_synthetic_window(const SyntheticSceneOptions& options, int64_t x0, int64_t y0,
                                              int64_t width, int64_t height) {
    if (width < 0 || height < 0) throw std::invalid_argument("render_synthetic_window: negative window size");
    std::vector<uint16_t> out(static_cast<std::size_t>(width * height * options.bands));
    render_into(options, x0, y0, width, height, out.data());
    return out;
}

SyntheticSceneReport write_synthetic_scene(const SyntheticSceneOptions& options) {
    ensure_gdal_registered();
    validate(options);
    const auto start = std::chrono::steady_clock::now();

    SyntheticSceneReport report;
    // data/scenes/ does not exist in a fresh clone; create the folder like `mkdir -p`.
    const std::string folder = CPLGetPath(options.path.c_str());
    VSIStatBufL stat{};
    if (!folder.empty() && VSIStatL(folder.c_str(), &stat) != 0) {
        // GDAL's VSIMkdirRecursive fails on a bare relative folder ("newdir"); real paths go
        // through std::filesystem, /vsi paths through GDAL.
        std::error_code error;
        const bool made = folder.rfind("/vsi", 0) == 0 ? VSIMkdirRecursive(folder.c_str(), 0755) == 0
                                                       : std::filesystem::create_directories(folder, error) && !error;
        if (!made)
            throw std::runtime_error("make-scene: cannot create the folder '" + folder + "' for '" + options.path +
                                     "'" + (error ? ": " + error.message() : std::string()));
    }
    if (options.vrt) {
        std::string base = options.path;
        const std::string extension = CPLGetExtension(base.c_str());
        if (!extension.empty()) base = CPLResetExtension(base.c_str(), "");
        if (!base.empty() && base.back() == '.') base.pop_back();
        write_vrt(options, base + "_tile.tif", report.files);
    } else {
        write_geotiff(options, options.path);
        report.files.push_back(options.path);
    }
    for (const auto& file : report.files) report.bytes += file_size(file);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

SceneDataType parse_scene_data_type(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    if (n == "byte") return SceneDataType::Byte;
    if (n == "uint16") return SceneDataType::UInt16;
    throw std::invalid_argument("make-scene: unknown data type '" + name + "'; expected byte or uint16");
}

SceneCompression parse_scene_compression(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    if (n == "deflate") return SceneCompression::Deflate;
    if (n == "zstd") return SceneCompression::Zstd;
    throw std::invalid_argument("make-scene: unknown compression '" + name + "'; expected deflate or zstd");
}

}  // namespace satsal
