#include "io/Hdf5Handle.hpp"

#include <vector>

namespace satsal {

Hdf5ErrorCapture::Hdf5ErrorCapture() {
    H5Eget_auto2(H5E_DEFAULT, &saved_func_, &saved_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    H5Eclear2(H5E_DEFAULT);
}

Hdf5ErrorCapture::~Hdf5ErrorCapture() { H5Eset_auto2(H5E_DEFAULT, saved_func_, saved_data_); }

namespace {
herr_t collect(unsigned, const H5E_error2_t* err, void* data) {
    auto* lines = static_cast<std::vector<std::string>*>(data);
    std::string line = err->func_name != nullptr ? err->func_name : "?";
    line += ": ";
    line += err->desc != nullptr ? err->desc : "";
    lines->push_back(line);
    return 0;
}
}  // namespace

std::string Hdf5ErrorCapture::message() const {
    std::vector<std::string> lines;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &lines);
    if (lines.empty()) return "";
    std::string out = "HDF5: ";
    for (std::size_t i = 0; i < lines.size(); ++i) out += (i ? "; " : "") + lines[i];
    return out;
}

std::string Hdf5ErrorCapture::suffix() const {
    const std::string m = message();
    return m.empty() ? m : " (" + m + ")";
}

}  // namespace satsal
