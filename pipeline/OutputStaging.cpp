#include "pipeline/OutputStaging.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace satsal {

OutputStaging::OutputStaging(std::string out_dir) : out_dir_(std::move(out_dir)) {
    std::error_code error;
    if (!fs::exists(out_dir_, error)) {
        fs::create_directories(out_dir_, error);
        if (error) {
            throw std::runtime_error(out_dir_ + ": cannot create the output folder: " + error.message());
        }
        created_out_dir_ = true;
    } else if (!fs::is_directory(out_dir_, error)) {
        throw std::runtime_error(out_dir_ + ": exists and is not a folder");
    }
    // Staging folders of killed runs (their process is gone) hold scratch data nobody will use.
    for (const auto& entry : fs::directory_iterator(out_dir_, error)) {
        const std::string name = entry.path().filename().string();
        const std::string prefix = ".satsal-partial-";
        if (name.rfind(prefix, 0) != 0) continue;
        const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + prefix.size()));
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), error);
    }
    staging_dir_ = (fs::path(out_dir_) / (".satsal-partial-" + std::to_string(::getpid()))).string();
    fs::remove_all(staging_dir_, error);
    fs::create_directory(staging_dir_, error);
    if (error) {
        throw std::runtime_error(staging_dir_ + ": cannot create the staging folder: " + error.message());
    }
}

OutputStaging::~OutputStaging() {
    std::error_code error;
    fs::remove_all(staging_dir_, error);
    if (!committed_ && created_out_dir_ && fs::is_empty(out_dir_, error)) fs::remove(out_dir_, error);
}

std::string OutputStaging::path(const std::string& name) {
    names_.push_back(name);
    return (fs::path(staging_dir_) / name).string();
}

std::string OutputStaging::scratch_path(const std::string& name) const {
    return (fs::path(staging_dir_) / name).string();
}

void OutputStaging::commit() {
    std::error_code error;
    for (const std::string& name : names_) {  // all present before any moves
        const fs::path from = fs::path(staging_dir_) / name;
        if (!fs::exists(from, error)) {
            throw std::runtime_error(from.string() + ": staged output is missing; nothing was committed");
        }
    }
    for (const std::string& name : names_) {
        const fs::path to = fs::path(out_dir_) / name;
        fs::rename(fs::path(staging_dir_) / name, to, error);
        if (error) {
            throw std::runtime_error(to.string() + ": cannot move the finished output into place: " +
                                     error.message());
        }
    }
    committed_ = true;
}

}  // namespace satsal
