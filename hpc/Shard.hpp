#pragma once
// Splitting a batch of scenes between independent processes: Slurm array tasks, or any launcher
// that starts N copies of `satsal run CONFIG --shard I/N`.
//
// Scenes are dealt round-robin in config order (shard i takes scenes i, i + N, i + 2N, ...), so
// shards get equal counts within one and a sorted archive's large and small scenes mix. Every
// shard sees the same scene list (the config resolves it the same way everywhere), so the split
// needs no coordination and no shared state.
#include <optional>
#include <string>
#include <vector>

namespace satsal::hpc {

struct Shard {
    int index = 0;  // 0-based
    int count = 1;
    std::string text() const;  // "I/N"
};

/// Parses "I/N" (0 <= I < N, 1 <= N <= 1000000). Throws std::invalid_argument naming `option`
/// and the value and saying what was expected.
Shard parse_shard(const std::string& option, const std::string& text);

/// The shard of a Slurm array task: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
/// SLURM_ARRAY_TASK_COUNT. Empty outside an array job. Throws std::invalid_argument when the
/// variables are present but inconsistent (names them and their values).
std::optional<Shard> shard_from_slurm_environment();

/// The scenes of `shard` (round-robin, order kept).
std::vector<std::string> shard_scenes(const std::vector<std::string>& scenes, const Shard& shard);

}  // namespace satsal::hpc
