#pragma once
// Stage: resuming a scene run that was killed or stopped.
//
// Pass 1 keeps its per-layer grids and a journal (hpc/RunJournal) in a hidden folder beside the
// scene's output folder, `<output_dir>/.satsal-resume-<name>/`. A tile counts as done once its
// layer cores are synced to the grids and its journal line is synced after them. A later run of
// the same command finds the folder, checks the run's fingerprint (every config key but `quiet`,
// the model's sha256, the input's size and modification time, satsal's version, the margin) and
// does only the tiles not yet done; done tiles are still read (the quicklook samples the input)
// and their layer cores are read back from the grids into the scene's moments in tile order, so
// the statistics and every output are bit-identical to an uninterrupted run. Pass 2 is redone in
// full (its GeoTIFFs are streamed; it is a few percent of a run). The folder goes once the scene's
// outputs are committed; a failure leaves it for the next attempt when it holds finished tiles.
//
// A stop request (SIGTERM/SIGINT through request_stop, e.g. Slurm's warning before a time limit)
// makes pass 1 stop taking new tiles, finish and journal the ones in flight, and throw
// RunInterrupted; the batch stops there.
//
// Thread rules: the journal's record() is called from pass 1's serial stitch stage; request_stop
// is async-signal-safe (one atomic store) and may be called from a signal handler.
#include "hpc/RunJournal.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace satsal {

struct RunConfig;

/// The run was asked to stop; what is done is kept for the next run of the same command.
class RunInterrupted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Ask every running scene to stop at the next tile (async-signal-safe).
void request_stop() noexcept;
bool stop_requested() noexcept;

/// What a finished tile left for a resumed run.
struct DoneTile {
    bool empty = false;  // all nodata: nothing was written but NaNs
    int count = -1;      // counting runs: the window's count
};

/// MPI ranks sharing one scene: this process computes the batch groups (tiles [g * batch,
/// (g + 1) * batch), the batches of an unshared run) with g % parts == part.
struct SceneShare {
    int part = 0;
    int parts = 1;
    int batch_size = 1;
};

class SceneResume {
public:
    /// Opens (or starts) the resume folder of the scene whose output folder is `out_dir`.
    /// `restart` removes an earlier attempt's folder first. Tiles recorded by ranks that shared
    /// the scene (their journals in the folder) count as done too. Throws
    /// hpc::FingerprintMismatch naming what changed since the earlier attempt, with how to start
    /// over.
    SceneResume(const std::string& out_dir, const hpc::Fingerprint& fingerprint, bool restart);
    /// One rank's share of the scene: records go to the rank's own journal (`journal.part<k>`);
    /// done() holds what this part and unshared attempts finished; elsewhere() says which tiles
    /// other ranks compute. The folder and its grids must exist (rank 0 creates them first).
    SceneResume(const std::string& out_dir, const hpc::Fingerprint& fingerprint, const SceneShare& share);
    ~SceneResume();

    /// Ranks sharing the scene: true for a tile another rank computes (never for an unshared run).
    bool elsewhere(int64_t tile) const {
        return share_.parts > 1 && (tile / share_.batch_size) % share_.parts != share_.part;
    }

    /// Where pass 1 keeps a layer grid named `name`.
    std::string grid_path(const std::string& name) const;
    /// Tiles finished by earlier attempts.
    const std::map<int64_t, DoneTile>& done() const { return done_; }
    int64_t resumed_tiles() const { return static_cast<int64_t>(done_.size()); }
    /// Records a finished tile (after its grid writes were synced).
    void record(int64_t tile, const DoneTile& done);
    /// The scene's outputs are committed: remove the folder.
    void finish();
    /// The scene failed: keep the folder if it holds finished tiles (returns true), else remove it.
    bool keep_for_next_attempt();

    const std::string& folder() const { return folder_; }

private:
    void read_journal(const std::string& name, const hpc::Fingerprint& fingerprint);

    std::string folder_;
    SceneShare share_;
    std::unique_ptr<hpc::RunJournal> journal_;
    std::map<int64_t, DoneTile> done_;
    int64_t recorded_ = 0;
    bool finished_ = false;
};

/// The fingerprint of a scene run: config keys (the resolved INI, `quiet` left out), model sha256,
/// the input's size and modification time (GDAL's VSIStatL, so remote inputs work too), the
/// margin, satsal's version and, for counting runs, the layout of the counting windows' journal.
hpc::Fingerprint scene_fingerprint(const RunConfig& config, const std::string& model_sha256,
                                   const std::string& scene, int64_t margin);

}  // namespace satsal
