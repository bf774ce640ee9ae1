#include "io/Hdf5Writer.hpp"

#include <unistd.h>

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <H5DSpublic.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace satsal {

namespace {

constexpr hsize_t kChunkSide = 256;

std::string object_name_of(const std::string& path) {
    return path.empty() || path[0] != '/' ? "/" + path : path;
}

}  // namespace

Hdf5Writer::Hdf5Writer(const std::string& final_path, int deflate_level)
    : output_(final_path), deflate_level_(deflate_level) {
    if (deflate_level < 0 || deflate_level > 9) {
        throw IoError("HDF5 '" + final_path + "': deflate level must be 0..9, got " + std::to_string(deflate_level));
    }
    Hdf5ErrorCapture errors;
    // netCDF-4 tracks link and attribute creation order; doing the same keeps variable order stable
    // for netCDF readers.
    Hdf5Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pset_attr_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    Hdf5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
    file_ = Hdf5Handle(H5Fcreate(output_.temp_path().c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
    if (!file_.valid()) {
        throw IoError("cannot create HDF5 file '" + output_.temp_path() + "'" + errors.suffix());
    }
    void* handle = nullptr;
    if (H5Fget_vfd_handle(file_.get(), H5P_DEFAULT, &handle) >= 0 && handle != nullptr) fd_ = *static_cast<int*>(handle);
    set_fixed_string_attribute(file_.get(), "Conventions", "CF-1.8", "/");
}

Hdf5Writer::~Hdf5Writer() {
    if (!finished_) abandon();
}

void Hdf5Writer::abandon() noexcept {
    Hdf5ErrorCapture quiet;
    // The file is discarded: give its blocks back first, so that HDF5's closing flushes (which
    // write the cached chunks and metadata) can succeed on a full disk. Each handle is closed
    // once; an object whose close still fails stays with libhdf5 (see Hdf5Handle).
    if (fd_ >= 0 && file_.valid()) (void)::ftruncate(fd_, 0);
    datasets_.clear();
    coordinates_.clear();
    file_.reset();
    fd_ = -1;
    output_.discard();
}

std::string Hdf5Writer::where(const std::string& object) const {
    return "HDF5 '" + output_.final_path() + "' object '" + object + "'";
}

void Hdf5Writer::check_open(const char* what) const {
    if (finished_ || !file_.valid()) {
        throw IoError("HDF5 '" + output_.final_path() + "': " + what + " after finish() or after a failure");
    }
}

const Hdf5Writer::Grid& Hdf5Writer::grid(const std::string& name) const {
    const auto it = grids_.find(name);
    if (it == grids_.end()) {
        throw IoError("HDF5 '" + output_.final_path() + "': grid '" + name + "' was not defined (define_grid first)");
    }
    return it->second;
}

void Hdf5Writer::set_fixed_string_attribute(hid_t object, const std::string& name, const std::string& value,
                                            const std::string& object_path) {
    // Fixed-length, null-terminated: what netCDF itself writes for NC_CHAR text attributes, which
    // every CF reader (and GDAL's netCDF driver) understands.
    Hdf5ErrorCapture errors;
    if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
    Hdf5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1));
    H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
    Hdf5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Hdf5Handle attr(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    std::string buffer = value;
    buffer.resize(std::max<std::size_t>(value.size(), 1), '\0');
    if (!attr.valid() || H5Awrite(attr.get(), type.get(), buffer.data()) < 0) {
        throw IoError("cannot write attribute '" + name + "' on " + where(object_path) + errors.suffix());
    }
}


void Hdf5Writer::create_group(const std::string& path_in) {
    check_open("create_group");
    const std::string path = object_name_of(path_in);
    Hdf5ErrorCapture errors;
    std::string partial;
    std::stringstream ss(path.substr(1));
    std::string part;
    while (std::getline(ss, part, '/')) {
        if (part.empty()) continue;
        partial += "/" + part;
        if (H5Lexists(file_.get(), partial.c_str(), H5P_DEFAULT) > 0) continue;
        Hdf5Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
        H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        H5Pset_attr_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        Hdf5Handle group(H5Gcreate2(file_.get(), partial.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
        if (!group.valid()) throw IoError("cannot create group " + where(partial) + errors.suffix());
    }
}

void Hdf5Writer::create_dataset(const std::string& path_in, const std::string& grid_name, int channels, float fill) {
    check_open("create a dataset");
    const std::string path = object_name_of(path_in);
    if (datasets_.count(path) != 0) throw IoError(where(path) + " already exists");
    const Grid& g = grid(grid_name);
    const auto slash = path.find_last_of('/');
    if (slash > 0) create_group(path.substr(0, slash));

    Hdf5ErrorCapture errors;
    // Images are band-first [channels, height, width], as GDAL and netCDF readers take bands.
    const int rank = channels > 0 ? 3 : 2;
    const hsize_t height = static_cast<hsize_t>(g.height), width = static_cast<hsize_t>(g.width);
    const hsize_t planes = static_cast<hsize_t>(channels);
    const hsize_t dims[3] = {channels > 0 ? planes : height, channels > 0 ? height : width, channels > 0 ? width : 1};
    const hsize_t chunk[3] = {channels > 0 ? planes : std::min(height, kChunkSide),
                              std::min(channels > 0 ? height : width, kChunkSide),
                              channels > 0 ? std::min(width, kChunkSide) : 1};
    Hdf5Handle space(H5Screate_simple(rank, dims, nullptr), H5Sclose);
    Hdf5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pset_chunk(dcpl.get(), rank, chunk);
    if (deflate_level_ > 0) {
        if (channels == 0) H5Pset_shuffle(dcpl.get());  // float bytes compress far better shuffled
        H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate_level_));
    }
    const hid_t file_type = channels > 0 ? H5T_STD_U8LE : H5T_IEEE_F32LE;
    if (channels == 0) H5Pset_fill_value(dcpl.get(), H5T_NATIVE_FLOAT, &fill);
    // A chunk cache holding two rows of chunks lets windows that are not chunk-aligned be written
    // without re-reading and re-compressing chunks; capped so huge scenes stay bounded.
    Hdf5Handle dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
    const std::size_t chunk_bytes = chunk[0] * chunk[1] * chunk[2] * (channels > 0 ? 1 : 4);
    const std::size_t chunks_per_row = (width + kChunkSide - 1) / kChunkSide;
    const std::size_t cache_bytes = std::min<std::size_t>(2 * chunks_per_row * chunk_bytes, std::size_t{256} << 20);
    H5Pset_chunk_cache(dapl.get(), static_cast<size_t>(std::max<std::size_t>(521, 20 * chunks_per_row + 1)),
                       cache_bytes, 1.0);
    Dataset d;
    d.id = Hdf5Handle(H5Dcreate2(file_.get(), path.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), dapl.get()),
                      H5Dclose);
    if (!d.id.valid()) throw IoError("cannot create " + where(path) + errors.suffix());
    d.width = g.width;
    d.height = g.height;
    d.channels = channels;

    if (channels == 0) {
        Hdf5Handle aspace(H5Screate(H5S_SCALAR), H5Sclose);
        Hdf5Handle attr(H5Acreate2(d.id.get(), "_FillValue", H5T_IEEE_F32LE, aspace.get(), H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose);
        if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_FLOAT, &fill) < 0) {
            throw IoError("cannot write _FillValue on " + where(path) + errors.suffix());
        }
    }
    const unsigned y_axis = channels > 0 ? 1 : 0;
    if (!g.x_name.empty()) {
        if (H5DSattach_scale(d.id.get(), coordinates_.at(g.y_name).get(), y_axis) < 0 ||
            H5DSattach_scale(d.id.get(), coordinates_.at(g.x_name).get(), y_axis + 1) < 0) {
            throw IoError("cannot attach coordinates " + g.y_name + "/" + g.x_name + " to " + where(path) +
                          errors.suffix());
        }
    }
    if (channels > 0) {
        // A named channel dimension instead of netCDF's "phony_dim": values 1..channels.
        auto it = channel_dimensions_.find(channels);
        if (it == channel_dimensions_.end()) {
            const std::string name =
                channel_dimensions_.empty() ? "channel" : "channel_" + std::to_string(channels);
            std::vector<double> values(static_cast<std::size_t>(channels));
            for (int c = 0; c < channels; ++c) values[static_cast<std::size_t>(c)] = c + 1;
            write_coordinate(name, values, Axis::Channel, GeoReference{});
            it = channel_dimensions_.emplace(channels, name).first;
        }
        if (H5DSattach_scale(d.id.get(), coordinates_.at(it->second).get(), 0) < 0) {
            throw IoError("cannot attach dimension " + it->second + " to " + where(path) + errors.suffix());
        }
    }
    if (!g.grid_mapping.empty()) set_fixed_string_attribute(d.id.get(), "grid_mapping", g.grid_mapping, path);
    datasets_[path] = std::move(d);
}

void Hdf5Writer::write_float_array(const std::string& path_in, const std::vector<int64_t>& dims_in, const float* data) {
    check_open("write_float_array");
    const std::string path = object_name_of(path_in);
    if (datasets_.count(path) != 0) throw IoError(where(path) + " already exists");
    if (dims_in.empty() || dims_in.size() > 8) throw IoError(where(path) + ": rank must be 1 to 8");
    std::vector<hsize_t> dims, chunk;
    for (std::size_t i = 0; i < dims_in.size(); ++i) {
        if (dims_in[i] <= 0) throw IoError(where(path) + ": dimension " + std::to_string(i) + " is not positive");
        dims.push_back(static_cast<hsize_t>(dims_in[i]));
        chunk.push_back(i + 2 >= dims_in.size() ? std::min<hsize_t>(dims.back(), kChunkSide) : 1);
    }
    const auto slash = path.find_last_of('/');
    if (slash > 0) create_group(path.substr(0, slash));
    Hdf5ErrorCapture errors;
    const int rank = static_cast<int>(dims.size());
    Hdf5Handle space(H5Screate_simple(rank, dims.data(), nullptr), H5Sclose);
    Hdf5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl.get(), rank, chunk.data());
    if (deflate_level_ > 0) {
        H5Pset_shuffle(dcpl.get());
        H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate_level_));
    }
    Hdf5Handle id(H5Dcreate2(file_.get(), path.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                  H5Dclose);
    if (!id.valid() || H5Dwrite(id.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0 || id.close() < 0) {
        throw IoError("cannot write " + where(path) + errors.suffix());
    }
}

void Hdf5Writer::create_float_map(const std::string& path, const std::string& grid_name, float fill) {
    create_dataset(path, grid_name, 0, fill);
}

void Hdf5Writer::create_byte_image(const std::string& path, const std::string& grid_name, int channels) {
    if (channels < 1) throw IoError(where(object_name_of(path)) + ": channels must be >= 1");
    create_dataset(path, grid_name, channels, 0.0f);
}

Hdf5Writer::Dataset& Hdf5Writer::dataset(const std::string& path, bool float_map) {
    const auto it = datasets_.find(object_name_of(path));
    if (it == datasets_.end()) throw IoError(where(object_name_of(path)) + " was not created");
    if ((it->second.channels == 0) != float_map) {
        throw IoError(where(object_name_of(path)) + ": wrong data type for this dataset (it holds " +
                      (it->second.channels == 0 ? "float32 maps" : "uint8 images") + ")");
    }
    return it->second;
}

namespace {
void write_hyperslab(hid_t dataset, int rank, const hsize_t* start, const hsize_t* count, hid_t mem_type,
                     const void* data, const std::string& context) {
    Hdf5ErrorCapture errors;
    Hdf5Handle file_space(H5Dget_space(dataset), H5Sclose);
    Hdf5Handle mem_space(H5Screate_simple(rank, count, nullptr), H5Sclose);
    if (!file_space.valid() || !mem_space.valid() ||
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
        H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data) < 0) {
        throw IoError("cannot write " + context + errors.suffix());
    }
}
}  // namespace

void Hdf5Writer::write_window(const std::string& path, int64_t x0, int64_t y0, int64_t w, int64_t h,
                              const float* data) {
    check_open("write_window");
    Dataset& d = dataset(path, true);
    const std::string context = where(object_name_of(path)) + " " + describe_window(x0, y0, w, h);
    if (w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > d.width || y0 + h > d.height) {
        throw IoError(context + ": outside the dataset (" + std::to_string(d.width) + "x" + std::to_string(d.height) + ")");
    }
    const hsize_t start[2] = {static_cast<hsize_t>(y0), static_cast<hsize_t>(x0)};
    const hsize_t count[2] = {static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
    write_hyperslab(d.id.get(), 2, start, count, H5T_NATIVE_FLOAT, data, context);
}

void Hdf5Writer::write_window(const std::string& path, int64_t x0, int64_t y0, int64_t w, int64_t h,
                              const uint8_t* data) {
    check_open("write_window");
    Dataset& d = dataset(path, false);
    const std::string context = where(object_name_of(path)) + " " + describe_window(x0, y0, w, h);
    if (w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > d.width || y0 + h > d.height) {
        throw IoError(context + ": outside the dataset (" + std::to_string(d.width) + "x" + std::to_string(d.height) + ")");
    }
    // Interleaved in, band-first on disk.
    const std::size_t pixels = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    const auto channels = static_cast<std::size_t>(d.channels);
    planar_.resize(pixels * channels);
    for (std::size_t c = 0; c < channels; ++c) {
        for (std::size_t i = 0; i < pixels; ++i) planar_[c * pixels + i] = data[i * channels + c];
    }
    const hsize_t start[3] = {0, static_cast<hsize_t>(y0), static_cast<hsize_t>(x0)};
    const hsize_t count[3] = {static_cast<hsize_t>(d.channels), static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
    write_hyperslab(d.id.get(), 3, start, count, H5T_NATIVE_UINT8, planar_.data(), context);
}

void Hdf5Writer::write_map(const std::string& path, const std::string& grid_name, const Map& map) {
    const Grid& g = grid(grid_name);
    if (map.width != g.width || map.height != g.height) {
        throw IoError(where(object_name_of(path)) + ": map is " + std::to_string(map.width) + "x" +
                      std::to_string(map.height) + " but grid '" + grid_name + "' is " + std::to_string(g.width) + "x" +
                      std::to_string(g.height));
    }
    create_float_map(path, grid_name);
    write_window(path, 0, 0, map.width, map.height, map.data());
}

void Hdf5Writer::write_byte_image(const std::string& path, const std::string& grid_name, int channels,
                                  const std::vector<uint8_t>& interleaved) {
    const Grid& g = grid(grid_name);
    const auto expected = static_cast<std::size_t>(g.width * g.height * channels);
    if (interleaved.size() != expected) {
        throw IoError(where(object_name_of(path)) + ": got " + std::to_string(interleaved.size()) + " bytes, expected " +
                      std::to_string(expected) + " (" + std::to_string(g.height) + "x" + std::to_string(g.width) + "x" +
                      std::to_string(channels) + ")");
    }
    create_byte_image(path, grid_name, channels);
    write_window(path, 0, 0, g.width, g.height, interleaved.data());
}

namespace {
// Opens the object an attribute goes on: a dataset we hold open, or any object by path.
Hdf5Handle open_object(hid_t file, const std::string& path) {
    return Hdf5Handle(H5Oopen(file, path.c_str(), H5P_DEFAULT), H5Oclose);
}
}  // namespace

void Hdf5Writer::set_attribute(const std::string& object, const std::string& name, const std::string& value) {
    check_open("set_attribute");
    const std::string path = object_name_of(object);
    Hdf5ErrorCapture errors;
    Hdf5Handle obj = open_object(file_.get(), path);
    if (!obj.valid()) throw IoError("cannot open " + where(path) + " for attribute '" + name + "'" + errors.suffix());
    if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
    Hdf5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    Hdf5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Hdf5Handle attr(H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const char* text = value.c_str();
    if (!attr.valid() || H5Awrite(attr.get(), type.get(), &text) < 0) {
        throw IoError("cannot write attribute '" + name + "' on " + where(path) + errors.suffix());
    }
}

namespace {
template <typename T>
void write_numeric_attribute(hid_t file, const std::string& path, const std::string& name, const std::vector<T>& values,
                             hid_t file_type, hid_t mem_type, const std::string& context) {
    Hdf5ErrorCapture errors;
    Hdf5Handle obj = open_object(file, path);
    if (!obj.valid()) throw IoError("cannot open " + context + " for attribute '" + name + "'" + errors.suffix());
    if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
    const hsize_t n = values.size();
    Hdf5Handle space(n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose);
    Hdf5Handle attr(H5Acreate2(obj.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.valid() || (n > 0 && H5Awrite(attr.get(), mem_type, values.data()) < 0)) {
        throw IoError("cannot write attribute '" + name + "' on " + context + errors.suffix());
    }
}
}  // namespace

void Hdf5Writer::set_attribute(const std::string& object, const std::string& name, const std::vector<double>& values) {
    check_open("set_attribute");
    const std::string path = object_name_of(object);
    write_numeric_attribute(file_.get(), path, name, values, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, where(path));
}

void Hdf5Writer::set_attribute(const std::string& object, const std::string& name, const std::vector<int64_t>& values) {
    check_open("set_attribute");
    const std::string path = object_name_of(object);
    write_numeric_attribute(file_.get(), path, name, values, H5T_STD_I64LE, H5T_NATIVE_INT64, where(path));
}

void Hdf5Writer::set_float_attribute(const std::string& object, const std::string& name, const std::vector<float>& values) {
    check_open("set_attribute");
    const std::string path = object_name_of(object);
    write_numeric_attribute(file_.get(), path, name, values, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, where(path));
}

void Hdf5Writer::finish() {
    if (finished_) return;
    check_open("finish");
    try {
        Hdf5ErrorCapture errors;
        for (auto& [path, d] : datasets_) {
            if (d.id.close() < 0) throw IoError("cannot close " + where(path) + errors.suffix());
        }
        for (auto& [name, c] : coordinates_) {
            if (c.close() < 0) throw IoError("cannot close " + where("/" + name) + errors.suffix());
        }
        if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0 || file_.close() < 0) {
            throw IoError("cannot flush and close HDF5 '" + output_.temp_path() + "'" + errors.suffix());
        }
        datasets_.clear();
        coordinates_.clear();
        output_.commit();
        finished_ = true;
    } catch (...) {
        abandon();
        throw;
    }
}

}  // namespace satsal
