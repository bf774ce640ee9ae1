#pragma once
// `satsal evaluate CONFIG`: does a saliency map point at what the counting network uses? The
// paper's protocols (Mundhenk et al. Sec. 2.4 and 3; Hooker et al.; Rong et al.) on COWC counting:
//
//  * base model: init_model trained base_epochs on the (unmasked) training patches; every map is
//    computed on it (maps of the training patches too: KAR/ROAR retrain on masked training data).
//  * layer level: per tap L1..L5 and per statistic (the paper's ten, gamma-scale, random), the
//    activation at the tap is masked - KAR keeps the layer_kar_keep most salient locations, ROAR
//    removes all but the layer_roar_keep least salient; masked locations are zero in every
//    channel - and the layers after the tap are fine-tuned from the base model
//    (finetune_epochs, once per seed); scores are exact-count accuracy and MAE on the masked
//    test activations; Eq. 8 / Eq. 9 per statistic and seed (eval/Scores.hpp).
//  * image level: per method and threshold t, input pixels ranked by the method's map; KAR keeps
//    the top t%, ROAR removes it; removed pixels take the training set's per-channel mean; the
//    network is retrained from scratch (init by seed) on the masked training patches for
//    retrain_epochs and scored on the masked test patches; KAR sum, ROAR sum (negative), total.
//  * ROAD: no retraining; the base model scores test patches whose most (MoRF) or least (LeRF)
//    relevant t% pixels are filled by noisy linear imputation (eval/Imputation.hpp); the area
//    between the LeRF and MoRF accuracy curves (and MAE curves) per method.
//
// Outputs under `output` (written at the end of each protocol, files replaced atomically):
// layer.csv, layer_scores.csv, image.csv, image_scores.csv, road.csv, road_scores.csv,
// summary.json, report.md, figure4_layers.png, figure5_image.png, road.png (gnuplot; their .gp
// scripts and .dat data beside them), examples/*.png (masked images like the paper's Figure 3),
// base-model.pt.
//
// The work after the shared preparation (data, base model, maps) is a list of independent pieces
// (eval/EvalPieces.hpp); run_evaluation runs them in order, eval/EvalTasks.hpp one per process
// (a Slurm array) with a merge giving the same outputs.
//
// Thread rules: one evaluation per process (LibTorch threads are process-wide).
#include <iosfwd>
#include <string>
#include <vector>

#include "eval/EvalConfig.hpp"

namespace satsal::eval {

struct LayerRecord {
    std::string statistic;
    int tap = 0;        // 1..5
    std::string mode;   // kar | roar
    std::uint64_t seed = 0;
    double accuracy = 0, mae = 0;
};

struct ImageRecord {
    std::string method;
    std::string mode;   // kar | roar
    int threshold = 0;  // percent kept (kar) / removed (roar)
    std::uint64_t seed = 0;
    double accuracy = 0, mae = 0;
};

struct RoadRecord {
    std::string method;
    std::string order;  // morf | lerf
    int threshold = 0;  // percent removed
    double accuracy = 0, mae = 0;
};

struct EvalResult {
    double base_accuracy = 0, base_mae = 0;   // base model on the unmasked test patches
    std::size_t train_patches = 0, test_patches = 0, road_patches = 0;
    std::vector<LayerRecord> layer;
    std::vector<ImageRecord> image;
    std::vector<RoadRecord> road;
    std::vector<std::pair<std::string, double>> seconds;  // per phase
    std::vector<std::string> notes;                       // plots skipped etc.
};

/// Runs the protocols of options.protocols and writes the outputs. Progress lines go to `log`.
/// Throws (naming the file, key or value) on bad input.
EvalResult run_evaluation(const EvalOptions& options, std::ostream& log);

/// Writes every output file of `result` under options.output (CSV, JSON, report.md, plots).
void write_evaluation_outputs(const EvalOptions& options, EvalResult& result, std::ostream& log);

}  // namespace satsal::eval
