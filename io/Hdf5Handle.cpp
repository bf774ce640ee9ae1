#include "io/Hdf5Handle.hpp"

#include <algorithm>
#include <vector>

namespace satsal {
namespace {
// Before main(), so before anything can initialize HDF5 (see Hdf5Handle in the header).
const bool hdf5_exit_hook_disabled = [] {
    H5dont_atexit();
    return true;
}();
}  // namespace

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
    // The sec2 driver reports a failed system call as "..., error message = 'No space left on
    // device', ..." inside a long line: that is what a user can act on.
    std::string system_error;
    for (const auto& line : lines) {
        const auto at = line.find("error message = '");
        if (at == std::string::npos) continue;
        const auto begin = at + 17;
        const auto end = line.find('\'', begin);
        if (end != std::string::npos) system_error = line.substr(begin, end - begin);
        break;
    }
    if (!system_error.empty()) return "HDF5: " + lines.back() + ": " + system_error;
    std::vector<std::string> unique;
    for (const auto& line : lines) {
        if (std::find(unique.begin(), unique.end(), line) == unique.end()) unique.push_back(line);
    }
    std::string out = "HDF5: ";
    for (std::size_t i = 0; i < unique.size(); ++i) out += (i ? "; " : "") + unique[i];
    if (out.size() > 600) out = out.substr(0, 600) + "...";
    return out;
}

std::string Hdf5ErrorCapture::suffix() const {
    const std::string m = message();
    return m.empty() ? m : " (" + m + ")";
}

}  // namespace satsal
