#include "io/AtomicFile.hpp"

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <cpl_vsi.h>

#include <filesystem>
#include <utility>

namespace satsal {

std::string parent_directory(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

void create_parent_directory(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (parent.empty() || path.rfind("/vsimem/", 0) == 0) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw IoError("cannot create the directory '" + parent.string() + "' for '" + path + "': " + ec.message());
}

AtomicFile::AtomicFile(std::string final_path, const std::string& suffix)
    : final_path_(std::move(final_path)), temp_path_(final_path_ + suffix) {
    if (final_path_.empty()) throw IoError("output path is empty");
    const std::string dir = parent_directory(final_path_);
    VSIStatBufL st;
    // /vsimem/ directories exist implicitly; only real directories are checked.
    if (final_path_.rfind("/vsimem/", 0) != 0 &&
        (VSIStatL(dir.c_str(), &st) != 0 || !VSI_ISDIR(st.st_mode))) {
        throw IoError("cannot write '" + final_path_ + "': directory '" + dir + "' does not exist");
    }
    vsi_remove_quietly(temp_path_);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : final_path_(std::move(other.final_path_)),
      temp_path_(std::move(other.temp_path_)),
      committed_(other.committed_) {
    other.committed_ = true;  // the moved-from object owns nothing any more
}

AtomicFile::~AtomicFile() {
    if (!committed_) discard();
}

void AtomicFile::commit() {
    if (committed_) return;
    if (!vsi_exists(temp_path_)) {
        throw IoError("cannot finish '" + final_path_ + "': temporary file '" + temp_path_ +
                      "' is missing");
    }
    vsi_rename(temp_path_, final_path_);
    committed_ = true;
}

void AtomicFile::discard() noexcept { vsi_remove_quietly(temp_path_); }

void write_text_file(const std::string& path, const std::string& text) {
    AtomicFile output(path);
    VSILFILE* file = VSIFOpenL(output.temp_path().c_str(), "wb");
    if (file == nullptr) throw IoError("cannot write '" + path + "': cannot create '" + output.temp_path() + "'");
    const bool written = VSIFWriteL(text.data(), 1, text.size(), file) == text.size();
    const bool closed = VSIFCloseL(file) == 0;
    if (!written || !closed) throw IoError("cannot write '" + path + "' (disk full or no permission?)");
    output.commit();
}

}  // namespace satsal
