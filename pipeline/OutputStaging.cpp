#include "pipeline/OutputStaging.hpp"

#include "io/FolderCommit.hpp"
#include "io/IoError.hpp"
#include "io/PathPolicy.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace satsal {
namespace {

bool all_digits(const std::string& text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Names satsal writes into an output folder (explain and scene runs), plus temporaries.
bool is_satsal_output_name(const std::string& name) {
    static const char* const known[] = {"saliency.tif", "lovi.tif",   "lovi.png",   "overlay.png",
                                        "saliency.h5",  "quicklook.png", "run.json", "counts.tif",
                                        "counts.csv",   "saliency.qml", "lovi.qml", "counts.gpkg",
                                        "item.json",    "quicklook.pgw", "lovi_legend.png", "quicklook.png.aux.xml"};
    for (const char* k : known) {
        if (name == k) return true;
    }
    if (name.rfind("layer_L", 0) == 0 && ends_with(name, ".tif") && all_digits(name.substr(7, name.size() - 11))) {
        return true;
    }
    if (name.rfind(".satsal-partial-", 0) == 0) return true;  // staging folders of satsal before 0.2
    return ends_with(name, ".partial") || ends_with(name, ".aux.xml") || ends_with(name, ".ovr");
}

/// `<prefix><name>-<digits>[suffix]` for a staging-family folder of `name`.
bool is_family_entry(const std::string& entry, const std::string& prefix, const std::string& name) {
    const std::string head = prefix + name + "-";
    if (entry.rfind(head, 0) != 0) return false;
    std::string rest = entry.substr(head.size());
    if (ends_with(rest, ".scratch")) rest.resize(rest.size() - 8);
    return all_digits(rest);
}

}  // namespace

bool is_replaceable_output_folder(const std::string& folder, std::string* foreign) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder, error)) {
        const std::string name = entry.path().filename().string();
        if (!is_satsal_output_name(name)) {
            if (foreign) *foreign = name;
            return false;
        }
    }
    if (error) {
        if (foreign) *foreign = "(cannot list it: " + error.message() + ")";
        return false;
    }
    return true;
}

OutputStaging::OutputStaging(std::string out_dir, std::vector<std::string> inputs)
    : out_dir_(std::move(out_dir)), inputs_(std::move(inputs)) {
    std::string given = out_dir_;
    while (given.size() > 1 && given.back() == '/') given.pop_back();
    if (given.empty() || given == "/") throw IoError("output folder '" + printable(out_dir_) + "' must name a folder");
    name_ = fs::path(given).filename().string();
    check_name_component(name_, "output folder name");
    const fs::path target = fs::absolute(fs::path(given)).lexically_normal();
    parent_ = target.parent_path().string();

    std::error_code error;
    fs::create_directories(parent_, error);
    if (error || !fs::is_directory(parent_)) {
        throw IoError(out_dir_ + ": cannot create the folder '" + parent_ + "' it goes in" +
                      (error ? ": " + error.message() : std::string()));
    }
    lock_ = std::make_unique<OutputLock>(parent_, ".satsal-lock-" + name_, "output folder " + out_dir_);

    // We hold the name's lock, so staging folders of earlier runs for this name are orphans.
    for (const auto& entry : fs::directory_iterator(parent_, error)) {
        const std::string entry_name = entry.path().filename().string();
        if (is_family_entry(entry_name, ".satsal-staging-", name_) ||
            is_family_entry(entry_name, ".satsal-old-", name_)) {
            std::error_code ignored;
            fs::remove_all(entry.path(), ignored);
        }
    }

    const std::string target_text = target.string();
    if (fs::exists(fs::symlink_status(target_text, error))) {
        if (!fs::is_directory(target_text, error) || fs::is_symlink(fs::symlink_status(target_text, error))) {
            throw IoError(out_dir_ + ": exists and is not a folder (satsal writes a folder of outputs there)");
        }
        std::string foreign;
        if (!is_replaceable_output_folder(target_text, &foreign)) {
            throw IoError(out_dir_ + ": the folder already holds files satsal did not write (e.g. '" +
                          printable(foreign) +
                          "'); satsal replaces its output folder as a whole, so it writes only into a new, "
                          "empty or earlier satsal output folder");
        }
        refuse_overwriting_inputs(inputs_, "", target_text);
    }

    const std::string stem = ".satsal-staging-" + name_ + "-" + std::to_string(::getpid());
    staging_dir_ = (fs::path(parent_) / stem).string();
    scratch_dir_ = staging_dir_ + ".scratch";
    for (const std::string& dir : {staging_dir_, scratch_dir_}) {
        fs::remove_all(dir, error);
        fs::create_directory(dir, error);
        if (error) throw IoError(dir + ": cannot create the staging folder: " + error.message());
    }
}

OutputStaging::~OutputStaging() {
    std::error_code error;
    if (!committed_) fs::remove_all(staging_dir_, error);
    fs::remove_all(scratch_dir_, error);
}

std::string OutputStaging::path(const std::string& name) {
    check_name_component(name, "output file name");
    names_.push_back(name);
    return (fs::path(staging_dir_) / name).string();
}

std::string OutputStaging::scratch_path(const std::string& name) const {
    return (fs::path(scratch_dir_) / name).string();
}

void OutputStaging::commit() {
    if (committed_) return;
    std::error_code error;
    for (const std::string& name : names_) {  // all present before anything becomes visible
        const fs::path from = fs::path(staging_dir_) / name;
        if (!fs::exists(from, error)) {
            throw IoError(from.string() + ": staged output is missing; nothing was committed");
        }
    }
    const std::string target = (fs::path(parent_) / name_).string();
    const bool replacing = fs::exists(fs::symlink_status(target, error));
    if (replacing) {
        std::string foreign;
        if (!is_replaceable_output_folder(target, &foreign)) {
            throw IoError(out_dir_ + ": files satsal did not write appeared in the folder during the run (e.g. '" +
                          printable(foreign) + "'); nothing was committed");
        }
        refuse_overwriting_inputs(inputs_, "", target);
    }
    commit_folder(staging_dir_, target,
                  (fs::path(parent_) / (".satsal-old-" + name_ + "-" + std::to_string(::getpid()))).string(), out_dir_);
    committed_ = true;
}

}  // namespace satsal
