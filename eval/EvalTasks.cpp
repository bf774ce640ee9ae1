#include "eval/EvalTasks.hpp"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "eval/EvalPieces.hpp"
#include "io/AtomicFile.hpp"
#include "model/TappedModel.hpp"

namespace satsal::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// The config a record belongs to: every key but `threads` (a Slurm task sets its own).
std::string fingerprint(const EvalOptions& o) {
    std::istringstream in(eval_config_ini(o));
    std::string line, out;
    while (std::getline(in, line))
        if (line.rfind("threads", 0) != 0) out += line + "\n";
    return out;
}

fs::path prepared_folder(const EvalOptions& o) { return fs::path(o.output) / "prepared"; }
fs::path task_path(const EvalOptions& o, const Piece& piece) {
    return fs::path(o.output) / "tasks" / (piece.id() + ".json");
}

json read_json(const fs::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    try {
        return json::parse(in);
    } catch (const std::exception& error) {
        throw std::runtime_error(path.string() + " is not a satsal evaluate record: " + error.what());
    }
}

void check_fingerprint(const json& record, const EvalOptions& o, const fs::path& path, const std::string& remedy) {
    if (!record.contains("config") || record["config"] != fingerprint(o))
        throw std::runtime_error(path.string() + " was written for another evaluation config (" + remedy + ")");
}

void save_tensors(const std::vector<at::Tensor>& tensors, const fs::path& path) {
    AtomicFile file(path.string(), ".part");
    torch::save(tensors, file.temp_path());
    file.commit();
}

std::vector<at::Tensor> load_tensors(const fs::path& path) {
    std::vector<at::Tensor> tensors;
    try {
        torch::load(tensors, path.string());
    } catch (const c10::Error& error) {
        throw std::runtime_error("cannot read the prepared maps " + path.string() + ": " + error.what_without_backtrace());
    }
    return tensors;
}

fs::path image_maps_path(const EvalOptions& o, const std::string& method) {
    return prepared_folder(o) / ("image-maps-" + method + ".pt");
}

// The prepared state of a task: data reloaded, models and maps from OUTPUT/prepared/.
json load_prepared(const EvalOptions& o, const Piece& piece, Prepared& p, std::ostream& log) {
    const fs::path record_path = prepared_folder(o) / "prepared.json";
    if (!fs::exists(record_path))
        throw std::runtime_error(record_path.string() + " does not exist: run `satsal evaluate CONFIG --prepare` before "
                                 "the tasks");
    const json record = read_json(record_path);
    check_fingerprint(record, o, record_path, "run --prepare again with this config");
    p.data = load_eval_data(o, log);
    p.init = std::make_unique<StagedNet>(o.init_model);
    p.base_path = (fs::path(o.output) / "base-model.pt").string();
    p.base = std::make_unique<StagedNet>(p.base_path);
    if (piece.protocol == "layer") {
        const std::vector<at::Tensor> maps = load_tensors(prepared_folder(o) / "layer-maps.pt");
        std::size_t k = 0;
        for (const std::string& statistic : record.at("layer_statistics").get<std::vector<std::string>>())
            for (LayerMaps* target : {&p.train_layer, &p.test_layer})
                for (int tap = 0; tap < kTapCount; ++tap) (*target)[statistic].push_back(maps.at(k++));
    } else if (piece.name != "random") {
        const std::vector<at::Tensor> maps = load_tensors(image_maps_path(o, piece.name));
        p.test_image[piece.name] = maps.at(0);
        if (maps.size() > 1) p.train_image[piece.name] = maps.at(1);
    }
    return record;
}

Piece piece_at(const EvalOptions& o, int index) {
    const std::vector<Piece> pieces = evaluation_pieces(o);
    if (index < 0 || static_cast<std::size_t>(index) >= pieces.size())
        throw std::runtime_error("--task " + std::to_string(index) + ": this config has " + std::to_string(pieces.size()) +
                                 " tasks, 0.." + std::to_string(static_cast<long long>(pieces.size()) - 1));
    return pieces[static_cast<std::size_t>(index)];
}

}  // namespace

std::vector<std::string> evaluation_task_ids(const EvalOptions& o) {
    std::vector<std::string> ids;
    for (const Piece& piece : evaluation_pieces(o)) ids.push_back(piece.id());
    return ids;
}

void prepare_tasks(const EvalOptions& o, std::ostream& log) {
    set_torch_threads(o.threads);
    fs::create_directories(prepared_folder(o));
    EvalResult result;
    Prepared p;
    prepare(o, p, result, log);
    json record;
    record["config"] = fingerprint(o);
    record["base_model"] = {{"exact_accuracy", result.base_accuracy}, {"mae", result.base_mae}};
    record["patches"] = {{"train", result.train_patches}, {"test", result.test_patches}};
    record["seconds"] = json::array();
    for (const auto& [phase, seconds] : result.seconds) record["seconds"].push_back({phase, seconds});
    std::vector<std::string> statistics;
    std::vector<at::Tensor> layer;
    for (const auto& [statistic, train] : p.train_layer) {
        statistics.push_back(statistic);
        for (const at::Tensor& t : train) layer.push_back(t);
        for (const at::Tensor& t : p.test_layer.at(statistic)) layer.push_back(t);
    }
    record["layer_statistics"] = statistics;
    if (!layer.empty()) save_tensors(layer, prepared_folder(o) / "layer-maps.pt");
    for (const auto& [method, test] : p.test_image) {
        std::vector<at::Tensor> maps{test};
        if (p.train_image.count(method)) maps.push_back(p.train_image.at(method));
        save_tensors(maps, image_maps_path(o, method));
    }
    // The record last: its presence says the preparation is complete.
    write_text_file((prepared_folder(o) / "prepared.json").string(), record.dump(2) + "\n");
    log << "[evaluate] prepared " << prepared_folder(o).string() << " for " << evaluation_pieces(o).size()
        << " tasks\n" << std::flush;
}

void run_task(const EvalOptions& o, int index, std::ostream& log) {
    const Piece piece = piece_at(o, index);
    const fs::path path = task_path(o, piece);
    if (fs::exists(path)) {
        check_fingerprint(read_json(path), o, path, "remove it, or the whole tasks folder, to redo the piece");
        log << "[evaluate] task " << index << " (" << piece.id() << ") is done already: " << path.string() << "\n";
        return;
    }
    set_torch_threads(o.threads);
    Prepared p;
    const auto start = std::chrono::steady_clock::now();
    load_prepared(o, piece, p, log);
    EvalResult result;
    Progress progress;
    progress.total = piece.protocol == "road" ? 1 : o.seed_values.size();
    const auto work = std::chrono::steady_clock::now();
    run_piece(o, p, piece, result, progress, log);
    json record;
    record["config"] = fingerprint(o);
    record["task"] = index;
    record["piece"] = piece.id();
    record["seconds"] = seconds_since(work);
    record["seconds_with_loading"] = seconds_since(start);
    record["road_patches"] = result.road_patches;
    json& records = record["records"] = json::array();
    for (const auto& x : result.layer)
        records.push_back({{"statistic", x.statistic}, {"tap", x.tap}, {"mode", x.mode}, {"seed", x.seed},
                           {"accuracy", x.accuracy}, {"mae", x.mae}});
    for (const auto& x : result.image)
        records.push_back({{"method", x.method}, {"mode", x.mode}, {"threshold", x.threshold}, {"seed", x.seed},
                           {"accuracy", x.accuracy}, {"mae", x.mae}});
    for (const auto& x : result.road)
        records.push_back({{"method", x.method}, {"order", x.order}, {"threshold", x.threshold},
                           {"accuracy", x.accuracy}, {"mae", x.mae}});
    fs::create_directories(path.parent_path());
    write_text_file(path.string(), record.dump(2) + "\n");
    log << "[evaluate] task " << index << " (" << piece.id() << ") -> " << path.string() << "\n" << std::flush;
}

std::vector<std::string> missing_tasks(const EvalOptions& o) {
    std::vector<std::string> missing;
    for (const Piece& piece : evaluation_pieces(o))
        if (!fs::exists(task_path(o, piece))) missing.push_back(piece.id());
    return missing;
}

EvalResult merge_tasks(const EvalOptions& o, std::ostream& log) {
    const fs::path prepared_path = prepared_folder(o) / "prepared.json";
    if (!fs::exists(prepared_path))
        throw std::runtime_error(prepared_path.string() + " does not exist: nothing of this evaluation was run as tasks "
                                 "(`satsal evaluate CONFIG --prepare`, then the tasks)");
    const json prepared = read_json(prepared_path);
    check_fingerprint(prepared, o, prepared_path, "run --prepare and the tasks again with this config");
    const std::vector<Piece> pieces = evaluation_pieces(o);
    std::string missing;
    std::size_t missing_count = 0;
    for (std::size_t i = 0; i < pieces.size(); ++i)
        if (!fs::exists(task_path(o, pieces[i])) && ++missing_count <= 10)
            missing += (missing.empty() ? "" : ", ") + std::to_string(i) + " (" + pieces[i].id() + ")";
    if (missing_count)
        throw std::runtime_error(std::to_string(missing_count) + " of " + std::to_string(pieces.size()) +
                                 " tasks have no record in " + (fs::path(o.output) / "tasks").string() + ": " + missing +
                                 (missing_count > 10 ? ", ..." : "") + "; run them (`--task I`) and merge again");
    EvalResult result;
    result.base_accuracy = prepared.at("base_model").at("exact_accuracy").get<double>();
    result.base_mae = prepared.at("base_model").at("mae").get<double>();
    result.train_patches = prepared.at("patches").at("train").get<std::size_t>();
    result.test_patches = prepared.at("patches").at("test").get<std::size_t>();
    for (const auto& entry : prepared.at("seconds"))
        result.seconds.emplace_back(entry.at(0).get<std::string>(), entry.at(1).get<double>());
    std::vector<std::pair<std::string, double>> protocol_seconds;
    for (const Piece& piece : pieces) {
        const fs::path path = task_path(o, piece);
        const json record = read_json(path);
        check_fingerprint(record, o, path, "remove it and run its task again");
        if (record.value("piece", "") != piece.id())
            throw std::runtime_error(path.string() + " holds piece '" + record.value("piece", "") + "', expected " + piece.id());
        try {
            for (const auto& x : record.at("records")) {
                if (piece.protocol == "layer")
                    result.layer.push_back({x.at("statistic"), x.at("tap"), x.at("mode"), x.at("seed"), x.at("accuracy"),
                                            x.at("mae")});
                else if (piece.protocol == "image")
                    result.image.push_back({x.at("method"), x.at("mode"), x.at("threshold"), x.at("seed"),
                                            x.at("accuracy"), x.at("mae")});
                else
                    result.road.push_back({x.at("method"), x.at("order"), x.at("threshold"), x.at("accuracy"), x.at("mae")});
            }
            if (piece.protocol == "road") result.road_patches = record.at("road_patches").get<std::size_t>();
            if (protocol_seconds.empty() || protocol_seconds.back().first != piece.protocol)
                protocol_seconds.emplace_back(piece.protocol, 0.0);
            protocol_seconds.back().second += record.at("seconds").get<double>();
        } catch (const nlohmann::json::exception& error) {
            throw std::runtime_error(path.string() + " is not a satsal evaluate task record: " + error.what());
        }
    }
    for (const auto& entry : protocol_seconds) result.seconds.push_back(entry);
    result.notes.push_back("merged from " + std::to_string(pieces.size()) +
                           " tasks; the timings are the sums of the tasks' seconds (without loading)");
    write_evaluation_outputs(o, result, log);
    log << "[evaluate] merged " << pieces.size() << " tasks into " << o.output << "\n" << std::flush;
    return result;
}

}  // namespace satsal::eval
