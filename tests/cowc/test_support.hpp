#pragma once
// Helpers for the COWC tests: a temporary folder removed at scope exit, file writers and an
// RGBA PNG writer that does not go through the code under test.
#include <gdal_priv.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace satsal::cowc_test {

class TempDir {
public:
    explicit TempDir(const std::string& tag) {
        static std::atomic<int> counter{0};
        path_ = (std::filesystem::temp_directory_path() /
                 ("satsal_cowc_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                    .string();
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    const std::string& str() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("test: cannot write " + path);
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("test: cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Interleaved RGBA (4 bytes per pixel) written as a PNG through GDAL's MEM + PNG drivers.
inline void write_rgba_png(const std::string& path, int w, int h, const std::vector<uint8_t>& rgba) {
    GDALAllRegister();
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDatasetUniquePtr ds(mem->Create("", w, h, 4, GDT_Byte, nullptr));
    int bands[4] = {1, 2, 3, 4};
    if (ds->RasterIO(GF_Write, 0, 0, w, h, const_cast<uint8_t*>(rgba.data()), w, h, GDT_Byte, 4, bands, 4,
                     static_cast<GSpacing>(w) * 4, 1, nullptr) != CE_None)
        throw std::runtime_error("test: cannot fill MEM dataset");
    ds->GetRasterBand(4)->SetColorInterpretation(GCI_AlphaBand);
    GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
    GDALDatasetUniquePtr out(png->CreateCopy(path.c_str(), ds.get(), FALSE, nullptr, nullptr, nullptr));
    if (!out) throw std::runtime_error("test: cannot write " + path);
}

}  // namespace satsal::cowc_test
