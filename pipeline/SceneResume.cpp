#include "pipeline/SceneResume.hpp"

#include "io/RemoteInput.hpp"
#include "io/RunConfig.hpp"
#include "pipeline/Version.hpp"

#include <cpl_vsi.h>

#include <atomic>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace satsal {
namespace {

std::atomic<bool> stop_flag{false};

// Keys that do not decide the outputs of one scene: how much is printed, which other scenes the
// batch holds, where the batch writes (the resume folder lives there anyway).
bool outside_fingerprint(const std::string& key) {
    return key == "quiet" || key == "scene" || key == "output_dir" || key == "synthetic_cowc";
}

std::string payload(const DoneTile& done) {
    if (done.empty) return "empty";
    return done.count >= 0 ? "count " + std::to_string(done.count) : "maps";
}

DoneTile parse_payload(const std::string& text, const std::string& journal, int64_t tile) {
    DoneTile done;
    if (text == "empty") {
        done.empty = true;
    } else if (text.rfind("count ", 0) == 0) {
        done.count = std::stoi(text.substr(6));
    } else if (text != "maps") {
        throw std::runtime_error(journal + ": tile " + std::to_string(tile) + " has an unknown record '" +
                                 text.substr(0, 40) + "': start over with --restart");
    }
    return done;
}

}  // namespace

void request_stop() noexcept { stop_flag.store(true, std::memory_order_relaxed); }
bool stop_requested() noexcept { return stop_flag.load(std::memory_order_relaxed); }

namespace {

std::string resume_folder(const std::string& out_dir) {
    const fs::path out(out_dir);
    return (out.parent_path() / (".satsal-resume-" + out.filename().string())).string();
}

std::string restart_hint(const std::string& folder) {
    return "Start over with `satsal run ... --restart` (or remove " + folder + ").";
}

}  // namespace

SceneResume::SceneResume(const std::string& out_dir, const hpc::Fingerprint& fingerprint, bool restart)
    : folder_(resume_folder(out_dir)) {
    if (restart) fs::remove_all(folder_);
    fs::create_directories(folder_);
    journal_ = std::make_unique<hpc::RunJournal>((fs::path(folder_) / "journal").string(), fingerprint,
                                                 restart_hint(folder_));
    for (const auto& [tile, text] : journal_->done()) done_[tile] = parse_payload(text, journal_->path(), tile);
    // The journals of ranks that shared the scene (all finished or stopped: no rank writes them now).
    for (const auto& entry : fs::directory_iterator(folder_)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("journal.part", 0) == 0) read_journal(name, fingerprint);
    }
}

SceneResume::SceneResume(const std::string& out_dir, const hpc::Fingerprint& fingerprint, const SceneShare& share)
    : folder_(resume_folder(out_dir)), share_(share) {
    if (!fs::is_directory(folder_)) throw std::logic_error(folder_ + " must be made before the ranks share the scene");
    read_journal("journal", fingerprint);
    journal_ = std::make_unique<hpc::RunJournal>(
        (fs::path(folder_) / ("journal.part" + std::to_string(share.part))).string(), fingerprint,
        restart_hint(folder_));
    for (const auto& [tile, text] : journal_->done()) done_[tile] = parse_payload(text, journal_->path(), tile);
}

void SceneResume::read_journal(const std::string& name, const hpc::Fingerprint& fingerprint) {
    const hpc::RunJournal journal((fs::path(folder_) / name).string(), fingerprint, restart_hint(folder_));
    for (const auto& [tile, text] : journal.done()) done_[tile] = parse_payload(text, journal.path(), tile);
}

SceneResume::~SceneResume() = default;

std::string SceneResume::grid_path(const std::string& name) const { return (fs::path(folder_) / name).string(); }

void SceneResume::record(int64_t tile, const DoneTile& done) {
    journal_->record(tile, payload(done));
    ++recorded_;
}

void SceneResume::finish() {
    journal_.reset();
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
    finished_ = true;
}

bool SceneResume::keep_for_next_attempt() {
    if (finished_) return false;
    if (recorded_ > 0 || !done_.empty()) return true;
    journal_.reset();
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
    return false;
}

hpc::Fingerprint scene_fingerprint(const RunConfig& config, const std::string& model_sha256, const std::string& scene,
                                   int64_t margin) {
    hpc::Fingerprint out;
    std::istringstream ini(to_ini(config));
    for (std::string line; std::getline(ini, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto equals = line.find(" = ");
        if (equals == std::string::npos) continue;
        const std::string key = line.substr(0, equals);
        if (!outside_fingerprint(key)) out.emplace_back("config key " + key, line.substr(equals + 3));
    }
    out.emplace_back("the margin", std::to_string(margin));
    out.emplace_back("the model's sha256", model_sha256);
    VSIStatBufL stat{};
    const bool found = VSIStatL(gdal_open_name(scene).c_str(), &stat) == 0;  // a STAC scene: its asset
    out.emplace_back("the input scene", scene);
    out.emplace_back("the input's size", found ? std::to_string(stat.st_size) : "unknown");
    out.emplace_back("the input's modification time", found ? std::to_string(stat.st_mtime) : "unknown");
    out.emplace_back("satsal's version", satsal_version());
    // Counting windows are journaled after pass 1's tiles (units tile_count + window); journals of
    // versions that counted in pass 1's tiles do not match.
    if (config.task == RunTask::Count) out.emplace_back("the counting windows", "own pass, units from the tile count");
    return out;
}

}  // namespace satsal
