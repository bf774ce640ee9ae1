#include "io/GdalSupport.hpp"

#include "io/IoError.hpp"

#include <cpl_vsi.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>

namespace satsal {

void ensure_gdal_registered() {
    static std::once_flag once;
    std::call_once(once, [] { GDALAllRegister(); });
}

GdalErrorCapture::GdalErrorCapture() : pusher_(&GdalErrorCapture::handler, this) {
    CPLErrorReset();
}

GdalErrorCapture::~GdalErrorCapture() = default;

void CPL_STDCALL GdalErrorCapture::handler(CPLErr cls, CPLErrorNum, const char* msg) {
    auto* self = static_cast<GdalErrorCapture*>(CPLGetErrorHandlerUserData());
    if (self == nullptr) return;
    const std::string text = msg != nullptr ? msg : "";
    if (cls == CE_Failure || cls == CE_Fatal) {
        self->failed_ = true;
        self->failures_.push_back(text);
    } else if (cls == CE_Warning) {
        self->warnings_.push_back(text);
    }
}

std::string GdalErrorCapture::message() const {
    const auto& list = failures_.empty() ? warnings_ : failures_;
    std::string out;
    for (const auto& m : list) {
        if (!out.empty()) out += "; ";
        out += m;
    }
    return out;
}

std::string GdalErrorCapture::suffix() const {
    const std::string m = message();
    return m.empty() ? std::string() : " (GDAL: " + m + ")";
}

void GdalErrorCapture::clear() {
    failed_ = false;
    failures_.clear();
    warnings_.clear();
    CPLErrorReset();
}

std::string describe_window(long long x0, long long y0, long long w, long long h) {
    std::ostringstream s;
    s << "window x0=" << x0 << " y0=" << y0 << " " << w << "x" << h;
    return s.str();
}

void vsi_rename(const std::string& from, const std::string& to) {
    if (VSIRename(from.c_str(), to.c_str()) != 0) {
        throw IoError("cannot rename '" + from + "' to '" + to + "': " + std::strerror(errno));
    }
}

void vsi_remove_quietly(const std::string& path) noexcept {
    VSIStatBufL st;
    if (VSIStatL(path.c_str(), &st) == 0) VSIUnlink(path.c_str());
}

bool vsi_exists(const std::string& path) {
    VSIStatBufL st;
    return VSIStatL(path.c_str(), &st) == 0;
}

}  // namespace satsal
