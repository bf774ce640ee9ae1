#pragma once
// Write-then-rename for output files: a writer works on `<final>.partial` (same directory, so the
// rename is atomic on POSIX file systems) and only commit() gives the file its final name. If the
// owner is destroyed before commit() (exception, early return), the temporary file is deleted, so
// a failed or killed run never leaves a file at the final name that looks finished. (A SIGKILL
// leaves only the `.partial` file, which the next run overwrites.)
//
// Works for real paths and GDAL /vsimem/ paths (it goes through GDAL's VSI layer).
// Thread rules: one owner thread at a time; no shared state.
#include <string>

namespace satsal {

class AtomicFile {
public:
    /// Checks that the final file's directory exists (IoError naming it otherwise) and removes a
    /// stale temporary left by an earlier killed run.
    explicit AtomicFile(std::string final_path, const std::string& suffix = ".partial");
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    AtomicFile(AtomicFile&& other) noexcept;
    AtomicFile& operator=(AtomicFile&&) = delete;

    const std::string& final_path() const { return final_path_; }
    const std::string& temp_path() const { return temp_path_; }
    bool committed() const { return committed_; }

    /// Renames the temporary file to the final name (replacing an older file there). IoError if
    /// the temporary file is missing or the rename fails.
    void commit();
    /// Deletes the temporary file now; never throws.
    void discard() noexcept;

private:
    std::string final_path_;
    std::string temp_path_;
    bool committed_ = false;
};

/// Writes `text` to `path` through an AtomicFile: the file appears complete or not at all.
/// IoError naming the path when it cannot be written (disk full, no permission, no directory).
void write_text_file(const std::string& path, const std::string& text);

/// The directory part of a path ("." when there is none).
std::string parent_directory(const std::string& path);

/// Creates the directory that will hold `path`, with its parents, when missing (AtomicFile
/// itself refuses a missing directory). IoError naming the directory on failure.
void create_parent_directory(const std::string& path);

}  // namespace satsal
