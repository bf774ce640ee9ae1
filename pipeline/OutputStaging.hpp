#pragma once
// Several output files that must appear together or not at all. Files are written into a
// hidden staging folder inside the output folder and renamed into place by commit(); an
// uncommitted staging (an exception, a kill between files) removes its folder, so a failed
// run never leaves a final-named output that looks complete.
//
// Thread rules: one OutputStaging per output folder and thread.
#include <string>
#include <vector>

namespace satsal {

class OutputStaging {
public:
    /// Creates out_dir (and parents) when missing; throws std::runtime_error naming it on failure.
    explicit OutputStaging(std::string out_dir);
    ~OutputStaging();
    OutputStaging(const OutputStaging&) = delete;
    OutputStaging& operator=(const OutputStaging&) = delete;

    /// Where to write the output `name` now (inside the staging folder).
    std::string path(const std::string& name);
    /// A scratch file inside the staging folder: never moved into out_dir, removed with it.
    std::string scratch_path(const std::string& name) const;
    /// Renames every staged file to out_dir/<name>, replacing older outputs, and removes the
    /// staging folder.
    void commit();

    const std::string& out_dir() const { return out_dir_; }

private:
    std::string out_dir_;
    std::string staging_dir_;
    std::vector<std::string> names_;
    bool created_out_dir_ = false;
    bool committed_ = false;
};

}  // namespace satsal
