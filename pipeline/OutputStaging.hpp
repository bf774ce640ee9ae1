#pragma once
// Several output files that must appear together or not at all, in one output folder.
//
// The set is written into a hidden staging folder beside the output folder
// (`<parent>/.satsal-staging-<name>-<pid>`) and commit() makes it appear at once: the staging
// folder is renamed to the output folder's name (an existing output folder of an earlier run is
// swapped out with renameat2(RENAME_EXCHANGE) where the file system has it, else moved aside first;
// either way a reader never sees files of two runs mixed, and files of the earlier run that this
// run does not write, such as old layer_L<k>.tif, go away). The old folder is then deleted.
//
// Safety rules enforced here (io/PathPolicy, io/OutputLock):
//  - the output folder's name is a safe path component (not "", ".", "..", "...");
//  - an exclusive lock `<parent>/.satsal-lock-<name>` is held from construction to destruction,
//    so a second run into the same folder fails at once and clearly; staging folders of earlier
//    runs for the same name are removed only while holding that lock (their owner is gone);
//  - an existing output folder is replaced only when it is empty or holds only names satsal
//    writes (saliency.tif, run.json, layer_L<k>.tif, ...); a folder with other files is refused
//    before any work;
//  - the output folder must not hold any of `inputs` (it is replaced as a whole).
// An uncommitted staging (exception, early return) removes its folders; after a SIGKILL only the
// hidden staging folder remains, and the next run into the same folder removes it.
//
// Thread rules: one OutputStaging per output folder and thread.
#include "io/OutputLock.hpp"

#include <memory>
#include <string>
#include <vector>

namespace satsal {

class OutputStaging {
public:
    /// Creates the output folder's parent when missing; throws (IoError or std::runtime_error)
    /// naming the folder on any of the rules above.
    explicit OutputStaging(std::string out_dir, std::vector<std::string> inputs = {});
    ~OutputStaging();
    OutputStaging(const OutputStaging&) = delete;
    OutputStaging& operator=(const OutputStaging&) = delete;

    /// Where to write the output `name` now (inside the staging folder).
    std::string path(const std::string& name);
    /// A scratch file in a separate folder: never moved into out_dir, removed with the staging.
    std::string scratch_path(const std::string& name) const;
    /// Makes the staged set the output folder's whole content in one step (see above).
    void commit();

    const std::string& out_dir() const { return out_dir_; }
    const std::string& staging_dir() const { return staging_dir_; }

private:
    std::string out_dir_;
    std::string parent_;
    std::string name_;
    std::string staging_dir_;
    std::string scratch_dir_;
    std::vector<std::string> names_;
    std::vector<std::string> inputs_;
    std::unique_ptr<OutputLock> lock_;
    bool committed_ = false;
};

/// True when an existing folder may be replaced by satsal outputs: it is empty or holds only
/// names satsal writes. `foreign` receives the first other entry.
bool is_replaceable_output_folder(const std::string& folder, std::string* foreign = nullptr);

}  // namespace satsal
