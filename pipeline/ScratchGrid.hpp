#pragma once
// A float32 grid on disk (raw row-major, no header) with random-access window reads and writes,
// for scene-level layer maps between pass 1 (tiles write their cores) and pass 2 (blocks read
// the rows and columns they need). Whole scenes never sit in memory: a 32768^2 scene's stride-2
// layer is 1 GB here and a few MB in RAM.
//
// Thread rules: write() from one thread at a time (pass 1's serial stitch stage); read() from any
// number of threads at once (pass 2's parallel blocks) once the writes are done. Both use
// pread/pwrite with explicit offsets, so no file position is shared, and the object holds no
// other mutable state; pass 2 starts after pass 1's graph has finished (wait_for_all), so every
// write happens before every read.
#include "tiling/Window.hpp"

#include <cstdint>
#include <string>

namespace satsal {

class ScratchGrid {
public:
    /// Creates (truncates) `path` sized width x height (zeros until written). With
    /// `keep_existing`, an existing file of exactly that size is opened as it is (a resumed run
    /// keeps what earlier attempts wrote); another size is an error naming the file.
    ScratchGrid(std::string path, int64_t width, int64_t height, bool keep_existing = false);
    ~ScratchGrid();
    ScratchGrid(ScratchGrid&& other) noexcept;
    ScratchGrid& operator=(ScratchGrid&&) = delete;
    ScratchGrid(const ScratchGrid&) = delete;
    ScratchGrid& operator=(const ScratchGrid&) = delete;

    int64_t width() const { return width_; }
    int64_t height() const { return height_; }

    /// Writes `target` (inside the grid) from rows of `source` with `source_stride` floats per
    /// row, starting at source pixel (0, 0) of the window.
    void write(const Window& target, const float* source, int64_t source_stride);
    /// Reads `window` (inside the grid) into `out` (window.width * window.height floats).
    void read(const Window& window, float* out) const;
    /// Makes every write so far durable (fdatasync) if there was one since the last sync.
    void sync();

private:
    void check(const Window& window, const char* what) const;
    std::string path_;
    int fd_ = -1;
    int64_t width_;
    int64_t height_;
    bool dirty_ = false;
};

}  // namespace satsal
