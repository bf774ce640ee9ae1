#pragma once
// The journal that lets a killed scene run continue where it stopped.
//
// One text file per scene in its staging folder: a header line with the run's fingerprint (every
// field that decides the outputs: each config key, the model's sha256, the input's size and
// modification time, satsal's version), then one line per finished unit of work (a pass-1 tile)
// with a payload the pipeline needs to finish without redoing it (e.g. the tile's layer moments).
// A unit counts as done only once its line, and the data the pipeline wrote for it before, are on
// disk: record() appends and calls fdatasync. A line cut short by a kill has no newline and is
// ignored, so the unit is simply done again.
//
// Reopening with a different fingerprint is refused with a message naming each changed field and
// its old and new values, and how to start over (`--restart`).
//
// Thread rules: record() may be called from several threads (a mutex orders the appends); the
// constructor and done() belong to one thread.
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace satsal::hpc {

/// Ordered (name, value) pairs; names unique.
using Fingerprint = std::vector<std::pair<std::string, std::string>>;

/// The run changed since the journal was written.
class FingerprintMismatch : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class RunJournal {
public:
    /// Opens `path`: a missing file starts a new journal; an existing one is read (its finished
    /// units are in done()) if its fingerprint equals `fingerprint`, else FingerprintMismatch.
    /// `restart_hint` is appended to the mismatch message (e.g. "rerun with --restart").
    /// A file that is not a journal is an error naming it (never silently overwritten).
    RunJournal(std::string path, const Fingerprint& fingerprint, const std::string& restart_hint);
    ~RunJournal();
    RunJournal(const RunJournal&) = delete;
    RunJournal& operator=(const RunJournal&) = delete;

    /// Units finished by earlier attempts, with their payloads.
    const std::map<int64_t, std::string>& done() const { return done_; }
    bool resumed() const { return !done_.empty(); }

    /// Appends "unit payload" durably (write + fdatasync). The payload must not contain a
    /// newline. Throws std::runtime_error naming the file on a write error (e.g. disk full).
    void record(int64_t unit, const std::string& payload);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    std::mutex mutex_;
    std::map<int64_t, std::string> done_;
};

/// One line naming what differs between two fingerprints ("" when equal), e.g.
/// "config key tile_size changed (512 -> 256); the model changed (sha256 ab12... -> cd34...)".
std::string fingerprint_difference(const Fingerprint& before, const Fingerprint& now);

}  // namespace satsal::hpc
