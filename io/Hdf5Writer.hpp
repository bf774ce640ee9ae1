#pragma once
// HDF5 output in the layout scripts rely on (README, `satsal explain`) plus netCDF-4/CF
// georeferencing, so that h5py sees plain arrays (/combined [H,W], /lovi [H,W,3], /layers/Lk,
// ...) and GDAL's netCDF driver sees georeferenced variables (`gdalinfo NETCDF:"saliency.h5":combined`,
// `gdalinfo NETCDF:"saliency.h5":/layers/L2`).
//
// Georeferencing model: each *grid* (the input pixel grid, and one per layer stride) gets 1-D
// coordinate variables at the root - `x`/`y` for the grid named "", `x_<name>`/`y_<name>`
// otherwise - holding pixel-centre coordinates in CRS units (y decreasing for north-up rasters,
// so row 0 is the top row as in the GeoTIFF). They are HDF5 dimension scales attached to the
// datasets on that grid; netCDF-4 sees them as dimensions and coordinate variables (root
// dimensions are visible from subgroups such as /layers), which is what CF readers use.
// Each georeferenced grid also gets a scalar grid-mapping variable - `crs` for the input grid,
// `crs_<name>` for the others - with `grid_mapping_name` and the projection parameters (as GDAL's
// netCDF driver writes them), `crs_wkt`, `spatial_ref` and GDAL's `GeoTransform` for that grid;
// datasets name theirs in `grid_mapping`. GDAL 3.6 accepts 1-D coordinates only under
// recognised names in the variable's own group (`x`/`y`), so for /layers/Lk it falls back to
// that GeoTransform, which is exact. Channel axes (/lovi's third dimension) get a `channel`
// dimension (values 1..n). Grids without a geotransform get no coordinates (netCDF readers see
// phony dimensions; h5py sees the same plain layout); grids without a CRS get no grid mapping.
//
// GDAL subdataset names: NETCDF:"saliency.h5":combined and NETCDF:"saliency.h5":/layers/L2
// (a full path for variables in groups). /lovi [H,W,3] is for scripts: GDAL would read it as
// H bands of W x 3; lovi.tif is the GIS view of LOVI.
//
// Files are written as `<final>.partial` and renamed by finish(); an unfinished writer deletes
// the temporary file in its destructor. Datasets are chunked (<= 256 x 256 pixels) with shuffle +
// deflate, so windows can be streamed in any order without the whole array in memory.
//
// Thread rules: Debian's HDF5 is not thread-safe: use a Hdf5Writer (and any other HDF5 code in the
// process) from one thread at a time. The writer keeps its datasets open between window writes.
#include "io/AtomicFile.hpp"
#include "io/GeoReference.hpp"
#include "io/Hdf5Handle.hpp"
#include "saliency/Map.hpp"

#include <cstdint>
#include <limits>
#include <utility>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

class Hdf5Writer {
public:
    /// Creates `<final_path>.partial` (IoError with HDF5's message when it cannot).
    explicit Hdf5Writer(const std::string& final_path, int deflate_level = 4);
    ~Hdf5Writer();
    Hdf5Writer(const Hdf5Writer&) = delete;
    Hdf5Writer& operator=(const Hdf5Writer&) = delete;

    /// Declares a pixel grid of width x height pixels located by `geo` (for a layer map of stride
    /// s: `input_geo.scaled(s)`), writing its coordinate variables. Grid names are short
    /// identifiers ("" for the input grid, "L1", "L2", ...). All grids must share one CRS.
    void define_grid(const std::string& grid, int64_t width, int64_t height, const GeoReference& geo);
    /// Creates a group and any missing parents ("/layers").
    void create_group(const std::string& path);

    /// float32 [height, width] on `grid`, chunked; unwritten pixels read as `fill` (NaN default),
    /// which is also recorded as `_FillValue` (nodata for GDAL).
    void create_float_map(const std::string& path, const std::string& grid,
                          float fill = std::numeric_limits<float>::quiet_NaN());
    /// uint8 [height, width, channels] on `grid` (pixel interleaved, e.g. RGB), chunked.
    void create_byte_image(const std::string& path, const std::string& grid, int channels);

    /// Writes a window (row-major w*h floats) of a dataset made by create_float_map.
    void write_window(const std::string& path, int64_t x0, int64_t y0, int64_t w, int64_t h, const float* data);
    /// Writes a window (row-major w*h*channels, interleaved) of a dataset made by create_byte_image.
    void write_window(const std::string& path, int64_t x0, int64_t y0, int64_t w, int64_t h, const uint8_t* data);

    /// Convenience: create_float_map + whole-array write; the map's size must match the grid.
    void write_map(const std::string& path, const std::string& grid, const Map& map);
    /// Convenience: create_byte_image + whole-array write of [h][w][channels].
    void write_byte_image(const std::string& path, const std::string& grid, int channels,
                          const std::vector<uint8_t>& interleaved);

    /// float32 array of any rank (row-major `data`, e.g. an attribution [C, H, W]), chunked one
    /// <= 256 x 256 tile of the last two axes at a time; no grid or coordinates attached.
    void write_float_array(const std::string& path, const std::vector<int64_t>& dims, const float* data);

    /// Attributes on the root ("/"), a group or a dataset. Strings are variable-length UTF-8
    /// (h5py reads them as str; netCDF as NC_STRING). Replaces an existing attribute.
    void set_attribute(const std::string& object, const std::string& name, const std::string& value);
    void set_attribute(const std::string& object, const std::string& name, const std::vector<double>& values);
    void set_attribute(const std::string& object, const std::string& name, const std::vector<int64_t>& values);
    /// float32 numbers (a CF `valid_range` must have the type of its float32 variable).
    void set_float_attribute(const std::string& object, const std::string& name, const std::vector<float>& values);

    /// Closes every object, checks each close, and renames to the final name.
    void finish();
    bool finished() const { return finished_; }
    const std::string& final_path() const { return output_.final_path(); }
    const std::string& temp_path() const { return output_.temp_path(); }

    /// A netCDF attribute: text, or numbers (internal; public only for the .cpp's helpers).
    struct CfAttribute {
        std::string name;
        std::string text;
        std::vector<double> numbers;
        bool numeric = false;
    };
    struct CfDescription {
        std::vector<CfAttribute> grid_mapping;  // grid_mapping_name and projection parameters
        std::vector<CfAttribute> x;             // standard_name / units of x coordinates
        std::vector<CfAttribute> y;
    };

private:
    struct Grid {
        int64_t width = 0;
        int64_t height = 0;
        GeoReference geo;
        std::string x_name;  // empty when the grid has no coordinates
        std::string y_name;
        std::string grid_mapping;  // empty when the grid has no CRS
    };
    struct Dataset {
        Hdf5Handle id;
        int64_t width = 0;
        int64_t height = 0;
        int channels = 0;  // 0 for 2-D float maps
    };

    const Grid& grid(const std::string& name) const;
    Dataset& dataset(const std::string& path, bool float_map);
    void create_dataset(const std::string& path, const std::string& grid_name, int channels, float fill);
    enum class Axis { X, Y, Channel };
    void write_coordinate(const std::string& name, const std::vector<double>& values, Axis axis,
                          const GeoReference& geo);
    void write_grid_mapping(const std::string& name, const GeoReference& geo);
    void write_hdf5_driver_corners(int64_t width, int64_t height, const GeoReference& geo);
    void set_fixed_string_attribute(hid_t object, const std::string& name, const std::string& value,
                                    const std::string& where);
    void check_open(const char* what) const;
    void abandon() noexcept;
    std::string where(const std::string& object) const;

    AtomicFile output_;
    int deflate_level_;
    Hdf5Handle file_;
    std::map<std::string, Grid> grids_;
    std::map<std::string, Dataset> datasets_;
    std::map<std::string, Hdf5Handle> coordinates_;  // kept open to attach as dimension scales
    std::map<int, std::string> channel_dimensions_;  // channel count -> dimension name
    std::vector<uint8_t> planar_;                     // a window of an image, band-first
    std::string crs_wkt_;                             // the file's CRS, once a georeferenced grid exists
    std::string crs_wkt1_;                            // the same as WKT1, for crs_wkt/spatial_ref
    CfDescription cf_;                                // the CRS in CF terms (GDAL's netCDF mapping)
    bool finished_ = false;
    int fd_ = -1;  // the sec2 driver's descriptor of the temporary file (to free its space on failure)
};

}  // namespace satsal
