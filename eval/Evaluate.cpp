#include "eval/Evaluate.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include "eval/EvalPieces.hpp"
#include "model/TappedModel.hpp"

namespace fs = std::filesystem;

namespace satsal::eval {
namespace {

std::size_t piece_trainings(const EvalOptions& o, const Piece& piece) {
    return piece.protocol == "road" ? 1 : o.seed_values.size();
}

}  // namespace

EvalResult run_evaluation(const EvalOptions& o, std::ostream& log) {
    set_torch_threads(o.threads);
    fs::create_directories(o.output);
    EvalResult result;
    Prepared prepared;
    prepare(o, prepared, result, log);
    const std::vector<Piece> pieces = evaluation_pieces(o);
    std::map<std::string, Progress> progress;  // per protocol
    std::map<std::string, double> seconds;
    for (const Piece& piece : pieces) progress[piece.protocol].total += piece_trainings(o, piece);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const Piece& piece = pieces[i];
        const auto start = std::chrono::steady_clock::now();
        run_piece(o, prepared, piece, result, progress[piece.protocol], log);
        seconds[piece.protocol] += seconds_since(start);
        const bool last_of_protocol = i + 1 == pieces.size() || pieces[i + 1].protocol != piece.protocol;
        if (last_of_protocol) result.seconds.emplace_back(piece.protocol, seconds[piece.protocol]);
        // The outputs so far after each protocol and each image-level method: a long run shows
        // (and keeps) what it has done.
        if (last_of_protocol || (piece.protocol == "image" && pieces[i + 1].name != piece.name))
            write_evaluation_outputs(o, result, log);
    }
    if (pieces.empty()) write_evaluation_outputs(o, result, log);
    return result;
}

}  // namespace satsal::eval
