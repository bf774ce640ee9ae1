#pragma once
// Small helpers shared by the GDAL-based readers and writers in io/.
//
// Thread rules: GDAL's error handler stack is per thread, so GdalErrorCapture only sees errors
// raised on the thread that created it, and must be destroyed on that thread. A GDALDataset is
// never shared between threads (GDAL 3.6 handles are not thread-safe).
#include <gdal_priv.h>

#include <string>
#include <vector>

namespace satsal {

/// Registers GDAL's drivers once per process (safe to call from any thread, any number of times).
void ensure_gdal_registered();

/// Collects GDAL errors and warnings raised on this thread while it lives, without printing them
/// to stderr; restores the previous handler and error state on destruction.
class GdalErrorCapture {
public:
    GdalErrorCapture();
    ~GdalErrorCapture();
    GdalErrorCapture(const GdalErrorCapture&) = delete;
    GdalErrorCapture& operator=(const GdalErrorCapture&) = delete;

    /// True when a CE_Failure or CE_Fatal was raised since construction (or the last clear()).
    bool failed() const { return failed_; }
    /// The failure messages (or, if none, the warnings) joined with "; ", or "" when GDAL said nothing.
    std::string message() const;
    /// " (GDAL: <message>)" or "" - handy to append to our own messages.
    std::string suffix() const;
    void clear();

private:
    static void CPL_STDCALL handler(CPLErr cls, CPLErrorNum num, const char* msg);
    bool failed_ = false;
    std::vector<std::string> failures_;
    std::vector<std::string> warnings_;
    CPLErrorHandlerPusher pusher_;
};

/// "x0,y0 wxh" for messages.
std::string describe_window(long long x0, long long y0, long long w, long long h);

/// Renames through GDAL's virtual file layer (works for real paths and /vsimem/); throws IoError.
void vsi_rename(const std::string& from, const std::string& to);
/// Removes a file if it exists; never throws (used on cleanup paths).
void vsi_remove_quietly(const std::string& path) noexcept;
bool vsi_exists(const std::string& path);

}  // namespace satsal
