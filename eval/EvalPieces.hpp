#pragma once
// The pieces of `satsal evaluate` (internal to eval/): the shared preparation (data, base model,
// maps) and the independent units of work after it. One process runs every piece in order
// (eval/Evaluate.cpp); a Slurm array runs one piece per task (eval/EvalTasks.hpp). A piece's
// records depend only on the prepared state and the piece, so both ways give the same numbers
// (bit-identical at the same `threads`).
//
// Pieces, in the order one process runs them:
//   layer-L<tap>-<statistic>-<kar|roar>   layer level, every seed
//   road-<method>                         ROAD, both orders and every threshold
//   image-<method>-<threshold>-<kar|roar> image level, every seed
//
// Thread rules: as eval/Evaluate.hpp.
#include <torch/script.h>

#include <chrono>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eval/EvalData.hpp"
#include "eval/Evaluate.hpp"
#include "eval/StagedNet.hpp"

namespace satsal::eval {

struct Piece {
    std::string protocol;  // layer | road | image
    std::string name;      // statistic (layer) or method (road, image)
    int number = 0;        // tap 1..5 (layer), threshold in percent (image), 0 (road)
    bool keep = false;     // KAR (true) or ROAR (layer, image)
    std::string id() const;
};

/// Every piece of the config's protocols, in the order one process runs them.
std::vector<Piece> evaluation_pieces(const EvalOptions& options);

/// What every piece needs: the data, the init and base models, the maps.
struct Prepared {
    EvalData data;
    std::unique_ptr<StagedNet> init, base;
    std::string base_path;
    double base_accuracy = 0, base_mae = 0;
    LayerMaps train_layer, test_layer;                           // when the layer level runs
    std::map<std::string, at::Tensor> train_image, test_image;   // train: image level; test: image or ROAD
    std::map<int, std::pair<at::Tensor, at::Tensor>> activations;  // tap (0-based) -> train, test; filled lazily
};

/// Loads the data, trains the base model (written to OUTPUT/base-model.pt) and computes the maps
/// the config's protocols need; adds "data", "base", "layer maps" and "image maps" to
/// result.seconds and the base figures to result.
void prepare(const EvalOptions& options, Prepared& prepared, EvalResult& result, std::ostream& log);

/// Progress numbering of the log lines: `done` of `total` trainings so far.
struct Progress {
    std::size_t done = 0, total = 0;
};

/// Runs one piece, appending its records to result.layer / result.image / result.road.
void run_piece(const EvalOptions& options, Prepared& prepared, const Piece& piece, EvalResult& result,
               Progress& progress, std::ostream& log);

/// Seconds since a steady-clock start (log lines and timings).
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace satsal::eval
