#pragma once
// Deterministic synthetic overhead scenes for tests and benchmarks, behind `satsal make-scene`.
//
// The scene is a procedural town at 0.15 m per pixel: a grid of asphalt roads with lane markings
// and cars, city blocks that are parking lots (rows of painted slots holding car-sized rectangles
// of random colours), buildings (roofs with a ridge and a cast shadow) or parks (grass texture and
// trees with shadows). Every pixel is a cheap function of (x, y, seed) alone, so any window can be
// rendered on its own and the file is written block by block with bounded memory.
//
// Band order: a 3-band scene is red, green, blue (like an RGB aerial photo); a 4-band scene is
// blue, green, red, near-infrared, the order multispectral products (Sentinel-2 B2/B3/B4/B8, Landsat,
// WorldView) ship in, so a model wants `bands = 3,2,1` for it. NIR is high on vegetation and low
// on asphalt. Valid pixels are never equal to the nodata value (Byte valid values are 1..255,
// UInt16 valid values are 1..4095, a 12-bit sensor range), so nodata is unambiguous.
//
// Nodata areas, in scene pixel coordinates (x, y) of a W x H scene, computed with integers:
//   corner: the top-left triangle x/W + y/H < 1/4      (4 * (x*H + y*W) < W*H)
//   swath:  the diagonal band |x/W - y/H| < 1/20        (20 * |x*H - y*W| < W*H)
//
// Thread rules: render_synthetic_window is pure and re-entrant. write_synthetic_scene owns its GDAL
// handles (one dataset per call) and renders each block on all cores with short-lived threads;
// concurrent calls must write to different paths.
#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

enum class SceneDataType { Byte, UInt16 };
enum class SceneCompression { Deflate, Zstd };

struct SyntheticSceneOptions {
    std::string path;                 // output GeoTIFF (or VRT when vrt = true); /vsimem/ works
    int64_t width = 4096;             // pixels
    int64_t height = 4096;
    int bands = 3;                    // 3 (RGB) or 4 (RGB + NIR)
    SceneDataType data_type = SceneDataType::Byte;
    uint64_t seed = 1;
    int epsg = 32633;                 // a projected CRS in metres (UTM zone 33N by default)
    double origin_x = 400000.0;       // easting of the top-left corner, metres
    double origin_y = 5000000.0;      // northing of the top-left corner, metres
    double pixel_size = 0.15;         // metres (COWC resolution)
    bool nodata_corner = false;       // see the file comment for the exact regions
    bool nodata_swath = false;
    double nodata_value = 0;          // written on every band; valid pixels never take it
    int block_size = 512;             // GeoTIFF tile size; also the rendering block
    SceneCompression compression = SceneCompression::Zstd;
    // vrt = true: render one vrt_tile_size square tile into "<path without .vrt>_tile.tif" and
    // write `path` as a VRT mosaic that repeats it over width x height (nodata areas are not
    // available in this mode). Seconds for any size, but the content repeats.
    bool vrt = false;
    int vrt_tile_size = 2048;
};

struct SyntheticSceneReport {
    std::vector<std::string> files;   // every file written (the GeoTIFF, or the VRT and its tile)
    uint64_t bytes = 0;               // their total size on disk
    double seconds = 0;               // wall time of rendering and writing
};

/// Write the scene, creating its folder if needed. The file is written under "<path>.part" and
/// renamed when complete, so a failed or killed run leaves no file at `path`.
/// Throws std::invalid_argument for bad options (naming the option and what is allowed) and
/// std::runtime_error when GDAL fails (with GDAL's message and the path).
SyntheticSceneReport write_synthetic_scene(const SyntheticSceneOptions& options);

/// Pixels of the window [x0, x0 + width) x [y0, y0 + height) of the scene, pixel-interleaved
/// (index ((y - y0) * width + (x - x0)) * bands + band, bands in file order), values as written to the file (Byte
/// scenes use 0..255). Identical for any split of the scene into windows.
std::vector<uint16_t> render_synthetic_window(const SyntheticSceneOptions& options, int64_t x0, int64_t y0,
                                              int64_t width, int64_t height);

/// True where (x, y) is in a nodata area of the options' scene.
bool synthetic_scene_is_nodata(const SyntheticSceneOptions& options, int64_t x, int64_t y);

/// "byte" / "uint16" (case-insensitive); throws std::invalid_argument naming the choices.
SceneDataType parse_scene_data_type(const std::string& name);
/// "deflate" / "zstd" (case-insensitive); throws std::invalid_argument naming the choices.
SceneCompression parse_scene_compression(const std::string& name);

}  // namespace satsal
