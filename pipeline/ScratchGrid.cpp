#include "pipeline/ScratchGrid.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace satsal {

ScratchGrid::ScratchGrid(std::string path, int64_t width, int64_t height, bool keep_existing)
    : path_(std::move(path)), width_(width), height_(height) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | (keep_existing ? 0 : O_TRUNC) | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        throw std::runtime_error(path_ + ": cannot create scratch file: " + std::strerror(errno));
    }
    struct stat info {};
    if (keep_existing && ::fstat(fd_, &info) == 0 && info.st_size != 0 && info.st_size != width_ * height_ * 4) {
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error(path_ + ": the kept layer grid holds " + std::to_string(info.st_size) +
                                 " bytes, expected " + std::to_string(width_ * height_ * 4) +
                                 " for " + std::to_string(width_) + " x " + std::to_string(height_) +
                                 ": start over with --restart");
    }
    // Tile cores partition every layer grid, so each value is written exactly once in pass 1;
    // the file only needs its size.
    if (::ftruncate(fd_, static_cast<off_t>(width_ * height_ * 4)) != 0) {
        throw std::runtime_error(path_ + ": cannot size scratch file: " + std::strerror(errno));
    }
}

ScratchGrid::~ScratchGrid() {
    if (fd_ >= 0) ::close(fd_);
}

ScratchGrid::ScratchGrid(ScratchGrid&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), width_(other.width_), height_(other.height_),
      dirty_(other.dirty_) {
    other.fd_ = -1;
}

void ScratchGrid::check(const Window& window, const char* what) const {
    if (window.x < 0 || window.y < 0 || window.x_end() > width_ || window.y_end() > height_ ||
        window.empty()) {
        throw std::logic_error(path_ + ": " + what + " window " + window.to_string() +
                               " is outside the " + std::to_string(width_) + "x" +
                               std::to_string(height_) + " grid");
    }
}

void ScratchGrid::write(const Window& target, const float* source, int64_t source_stride) {
    check(target, "write");
    const std::size_t bytes = static_cast<std::size_t>(target.width) * sizeof(float);
    for (int64_t row = 0; row < target.height; ++row) {
        const off_t offset = static_cast<off_t>(((target.y + row) * width_ + target.x) * 4);
        const char* data = reinterpret_cast<const char*>(source + row * source_stride);
        std::size_t done = 0;
        while (done < bytes) {
            const ssize_t n = ::pwrite(fd_, data + done, bytes - done, offset + static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                throw std::runtime_error(path_ + ": cannot write scratch data (disk full?): " +
                                         std::strerror(errno));
            }
            done += static_cast<std::size_t>(n);
        }
    }
    dirty_ = true;
}

void ScratchGrid::read(const Window& window, float* out) const {
    check(window, "read");
    const std::size_t bytes = static_cast<std::size_t>(window.width) * sizeof(float);
    for (int64_t row = 0; row < window.height; ++row) {
        const off_t offset = static_cast<off_t>(((window.y + row) * width_ + window.x) * 4);
        char* data = reinterpret_cast<char*>(out + row * window.width);
        std::size_t done = 0;
        while (done < bytes) {
            const ssize_t n = ::pread(fd_, data + done, bytes - done, offset + static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                throw std::runtime_error(path_ + ": cannot read scratch data: " + std::strerror(errno));
            }
            done += static_cast<std::size_t>(n);
        }
    }
}

void ScratchGrid::sync() {
    if (!dirty_) return;
    if (::fdatasync(fd_) != 0) throw std::runtime_error(path_ + ": cannot sync scratch file: " + std::strerror(errno));
    dirty_ = false;
}

}  // namespace satsal
