#pragma once
// `satsal evaluate` split into independent tasks (a Slurm array, or any launcher):
//
//   satsal evaluate CONFIG --prepare     data, base model and maps, once (OUTPUT/prepared/)
//   satsal evaluate CONFIG --task I      piece I (eval/EvalPieces.hpp) -> OUTPUT/tasks/<piece>.json
//   satsal evaluate CONFIG --merge       every piece's records -> the outputs of one process
//   satsal evaluate CONFIG --slurm ...   the sbatch array script, one task per piece
//
// Pieces: one per (statistic, tap, mode) of the layer level, (method, threshold, mode) of the
// image level, and method of ROAD; each covers every seed. A task loads the prepared base model
// and maps (bit-identical to the ones one process computes), so the merged CSVs, scores and
// summary equal a single run's at the same `threads` (timings aside). Records carry the config
// (without `threads`): a task or merge against another config is refused, naming the file.
//
// Thread rules: one task per process (LibTorch threads are process-wide).
#include <iosfwd>
#include <string>
#include <vector>

#include "eval/EvalConfig.hpp"
#include "eval/Evaluate.hpp"

namespace satsal::eval {

/// The pieces' ids in task order (index = array task).
std::vector<std::string> evaluation_task_ids(const EvalOptions& options);

/// Runs the preparation and stores it under OUTPUT/prepared/ (OUTPUT/base-model.pt beside).
void prepare_tasks(const EvalOptions& options, std::ostream& log);

/// Runs task `index` (0-based) and writes OUTPUT/tasks/<piece>.json. A piece whose record is
/// there already (same config) is skipped. Throws when the preparation is missing or was made
/// with another config, or the index is out of range.
void run_task(const EvalOptions& options, int index, std::ostream& log);

/// Pieces without a record (ids), in task order.
std::vector<std::string> missing_tasks(const EvalOptions& options);

/// Merges the preparation and every task's records into `EvalResult` and writes the outputs as one
/// process does. Throws naming the missing tasks (and their indices) when some have no record.
EvalResult merge_tasks(const EvalOptions& options, std::ostream& log);

}  // namespace satsal::eval
