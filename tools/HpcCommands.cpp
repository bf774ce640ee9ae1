// `satsal slurm`: cluster job scripts (hpc/).
#include "tools/Commands.hpp"

#include "hpc/Mpi.hpp"
#include "hpc/NodeThreads.hpp"
#include "hpc/Shard.hpp"
#include "hpc/SlurmScript.hpp"
#include "io/AtomicFile.hpp"
#include "io/RunConfig.hpp"
#include "pipeline/CountOutputs.hpp"
#include "pipeline/Pass2Blocks.hpp"
#include "pipeline/RunReport.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/SceneRun.hpp"
#include "pipeline/Stac.hpp"

#include <nlohmann/json.hpp>

#include <boost/program_options.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace satsal::cli {
namespace {

std::string this_executable() {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (error) throw std::runtime_error("cannot find the satsal binary's path (/proc/self/exe): " + error.message());
    return self.string();
}

std::string shard_record_path(const std::string& output_dir, const hpc::Shard& shard) {
    return (fs::path(output_dir) / "satsal-shards" /
            ("shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".json"))
        .string();
}

/// A shared scene's pass-2 block `index` travels with this tag (unique among the blocks in flight).
int pass2_tag(int64_t index) { return hpc::MpiSession::kUserTag + static_cast<int>(index % 30000); }

/// Pass 2's start message to the other ranks: "P", the block count, the scene's moments.
std::string pass2_start_message(int64_t blocks, const std::string& moments) {
    std::string text = "P";
    text.append(reinterpret_cast<const char*>(&blocks), sizeof blocks);
    return text + moments;
}

/// Fewer scenes than ranks: all ranks share each scene in turn (pipeline/SceneShare.cpp). Rank 0
/// makes the scene's resume folder, every rank computes its batch groups of pass 1, rank 0 replays
/// them; then the other ranks compute pass 2's blocks and send them to rank 0, which writes the
/// outputs and adds each rank's pass-1 and pass-2 times to run.json ("ranks").
/// Returns the outcomes on rank 0 (empty elsewhere); throws RunInterrupted on every rank when a
/// rank was stopped.
std::vector<SceneOutcome> share_scenes(const hpc::MpiSession& mpi, SceneRunner& runner, const RunConfig& config,
                                       const RunEvents& events) {
    const int rank = mpi.rank();
    std::vector<SceneOutcome> outcomes;
    for (const std::string& scene : config.scenes) {
        std::string prepared;
        if (rank == 0) {
            try {
                runner.prepare_share(scene);
            } catch (const std::exception& error) {
                prepared = error.what();
                if (prepared.empty()) prepared = "preparing the scene failed";
            }
        }
        prepared = mpi.broadcast(prepared);
        nlohmann::ordered_json mine;
        if (prepared.empty()) {
            try {
                mine = runner.compute_share(scene, rank, mpi.size(), events);
            } catch (const RunInterrupted& stopped) {
                mine = {{"interrupted", stopped.what()}};
            } catch (const std::exception& error) {
                mine = {{"error", "rank " + std::to_string(rank) + ": " + error.what()}};
            }
        }
        const std::vector<std::string> shares = mpi.gather(mine.dump());
        std::string stop;
        if (rank == 0) {
            SceneOutcome outcome;
            nlohmann::ordered_json ranks = nlohmann::ordered_json::array();
            std::string error = prepared;
            for (const std::string& text : shares) {
                const auto share = nlohmann::ordered_json::parse(text);
                if (share.contains("interrupted")) stop = share["interrupted"].get<std::string>();
                if (share.contains("error") && error.empty()) error = share["error"].get<std::string>();
                if (!share.contains("interrupted") && !share.contains("error")) ranks.push_back(share);
            }
            Pass2Split split;
            split.ranks = mpi.size();
            split.start = [&](int64_t blocks, const std::string& moments) {
                mpi.broadcast(pass2_start_message(blocks, moments));
            };
            split.receive = [&](int from, int64_t index) { return mpi.receive(from, pass2_tag(index)); };
            if (stop.empty() && error.empty()) {
                try {
                    outcome = runner.run_shared(scene, events, &split);
                } catch (const RunInterrupted& stopped) {
                    stop = stopped.what();
                }
            } else if (stop.empty()) {
                outcome.scene = scene;
                outcome.name = scene_name(scene);
                outcome.output_folder = (fs::path(config.output_dir) / outcome.name).string();
                outcome.error = error;
                if (events.scene_done) events.scene_done(outcome);
            }
            if (!split.started) mpi.broadcast("skip");
            const std::vector<std::string> pass2 = mpi.gather("{}");
            if (outcome.ok) {
                for (auto& entry : ranks) {
                    const int r = entry.value("rank", -1);
                    if (r == 0) {
                        entry["pass2_blocks"] = split.local_blocks;
                        entry["pass2_receive_seconds"] = split.receive_seconds;
                        entry["pass2_write_seconds"] = split.write_seconds;
                    } else if (r > 0 && r < static_cast<int>(pass2.size())) {
                        entry.update(nlohmann::ordered_json::parse(pass2[static_cast<size_t>(r)]));
                    }
                }
                outcome.report["ranks"] = ranks;
                write_text_file((fs::path(outcome.output_folder) / "run.json").string(),
                                json_file_text(outcome.report));
            }
            outcomes.push_back(std::move(outcome));
        } else {
            const std::string start = mpi.broadcast("");
            nlohmann::ordered_json pass2 = nlohmann::ordered_json::object();
            if (start.size() >= 1 + sizeof(int64_t) && start[0] == 'P') {
                int64_t blocks = 0;
                std::memcpy(&blocks, start.data() + 1, sizeof blocks);
                pass2 = runner.help_pass2(scene, blocks, start.substr(1 + sizeof blocks), rank, mpi.size(),
                                          [&](int64_t index, const std::string& block) {
                                              mpi.send(block, 0, pass2_tag(index));
                                          });
            }
            mpi.gather(pass2.dump());
        }
        stop = mpi.broadcast(stop);
        if (!stop.empty()) throw RunInterrupted(stop);
    }
    return outcomes;
}

int failed_count(const std::vector<SceneOutcome>& outcomes) {
    int failed = 0;
    for (const auto& outcome : outcomes) failed += outcome.ok ? 0 : 1;
    return failed;
}

}  // namespace

void warn_single_thread_blas(int threads) {
    if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::string warning = hpc::single_thread_blas_warning(threads, hpc::loaded_blas());
    if (!warning.empty()) std::fprintf(stderr, "satsal run: warning: %s\n", warning.c_str());
}

int run_shard(const RunConfig& config, const hpc::Shard& shard, const RunEvents& events, bool restart) {
    warn_single_thread_blas(config.threads);
    std::vector<SceneOutcome> outcomes;
    if (!config.scenes.empty()) {  // more shards than scenes: this one only records that it is done
        SceneRunner runner(config, restart);
        for (const std::string& scene : config.scenes) outcomes.push_back(runner.run(scene, events));
    }
    nlohmann::ordered_json record;
    record["shard"] = shard.text();
    record["output_dir"] = fs::absolute(config.output_dir).lexically_normal().string();
    record["scenes"] = nlohmann::ordered_json::array();
    for (const auto& outcome : outcomes) record["scenes"].push_back(outcome_to_json(outcome));
    const std::string path = shard_record_path(config.output_dir, shard);
    fs::create_directories(fs::path(path).parent_path());
    write_text_file(path, record.dump(2) + "\n");
    const int failed = failed_count(outcomes);
    if (failed) std::fprintf(stderr, "satsal run: shard %s: %d of %zu scenes failed\n", shard.text().c_str(), failed, outcomes.size());
    return failed ? 1 : 0;
}

int run_with_mpi(RunConfig config, const RunEvents& terminal, bool restart) {
    if (!hpc::mpi_built()) {
        std::fprintf(stderr, "satsal run: started by an MPI launcher, but this satsal was built without MPI: every "
                             "rank would run the whole batch. Install libopenmpi-dev and rebuild (tools/setup.sh), "
                             "or run without mpirun.\n");
        return 2;
    }
    hpc::MpiSession mpi;
    // The node's cores are shared by its ranks.
    config.threads = hpc::threads_per_process(config.threads, static_cast<int>(std::thread::hardware_concurrency()),
                                              hpc::local_ranks_from_environment(), hpc::loaded_blas().name == "MKL");
    const int rank = mpi.rank();
    if (rank == 0) warn_single_thread_blas(config.threads);
    RunEvents events;
    events.warning = terminal.warning;
    events.scene_done = [rank, quiet = config.quiet](const SceneOutcome& scene) {
        if (!scene.ok) {
            std::fprintf(stderr, "satsal: rank %d: scene failed: %s: %s\n", rank, scene.scene.c_str(), scene.error.c_str());
        } else if (!quiet) {
            std::fprintf(stderr, "satsal: rank %d: %s: %lld tiles, %.1f s, %.2f MP/s -> %s\n", rank, scene.scene.c_str(),
                         static_cast<long long>(scene.tiles_total), scene.seconds, scene.megapixels_per_second,
                         scene.output_folder.c_str());
        }
    };
    const bool share = config.scenes.size() < static_cast<size_t>(mpi.size());
    if (rank == 0 && !config.quiet && share) {
        std::fprintf(stderr, "satsal run: %d MPI ranks share the tiles of each of the %zu scenes, %d threads each\n",
                     mpi.size(), config.scenes.size(), config.threads);
    } else if (rank == 0 && !config.quiet) {
        std::fprintf(stderr, "satsal run: %d MPI ranks take the %zu scenes on demand, %d threads each\n", mpi.size(),
                     config.scenes.size(), config.threads);
    }
    std::unique_ptr<SceneRunner> runner;
    try {
        runner = std::make_unique<SceneRunner>(config, restart);
    } catch (const std::exception& error) {
        mpi.abort_all(error.what());
    }
    if (share) {
        const std::vector<SceneOutcome> outcomes = share_scenes(mpi, *runner, config, events);
        if (rank != 0) return 0;
        runner->write_batch_outputs(outcomes);
        const int failed = failed_count(outcomes);
        if (failed) std::fprintf(stderr, "satsal run: %d of %zu scenes failed\n", failed, outcomes.size());
        return failed ? 1 : 0;
    }
    const std::vector<std::string> results = mpi.distribute(static_cast<int>(config.scenes.size()), [&](int i) {
        return outcome_to_json(runner->run(config.scenes[static_cast<size_t>(i)], events)).dump();
    });
    if (rank != 0) return 0;
    std::vector<SceneOutcome> outcomes;
    for (const std::string& text : results) outcomes.push_back(outcome_from_json(nlohmann::ordered_json::parse(text)));
    runner->write_batch_outputs(outcomes);
    const int failed = failed_count(outcomes);
    if (failed) std::fprintf(stderr, "satsal run: %d of %zu scenes failed\n", failed, outcomes.size());
    return failed ? 1 : 0;
}

int summarize(int argc, char** argv) {
    std::string output_dir;
    po::options_description described("summarize options");
    described.add_options()("output-dir", po::value(&output_dir)->required(), "the run's output_dir");
    po::positional_options_description positional;
    positional.add("output-dir", 1);
    po::variables_map variables;
    if (!parse("usage: satsal summarize OUTPUT_DIR\n\n"
               "Merges what the shards of a batch wrote (OUTPUT_DIR/satsal-shards/shard-I-of-N.json) once all are done:\n"
               "scenes.csv (status and throughput of every scene), and for counting runs counts.csv and\n"
               "count-summary.json as one process writes them.",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    const fs::path folder = fs::path(output_dir) / "satsal-shards";
    if (!fs::is_directory(folder)) {
        throw std::runtime_error(folder.string() + " does not exist: no shard of a `satsal run --shard` (or Slurm array) "
                                 "batch has finished in " + output_dir);
    }
    std::map<int, std::vector<SceneOutcome>> shards;
    int count = 0;
    for (const auto& entry : fs::directory_iterator(folder)) {
        const std::string name = entry.path().filename().string();
        int index = 0, of = 0;
        char tail = 0;
        if (std::sscanf(name.c_str(), "shard-%d-of-%d.jso%c", &index, &of, &tail) != 3 || tail != 'n') continue;
        if (count != 0 && of != count) {
            throw std::runtime_error(folder.string() + " holds shards of batches split " + std::to_string(count) + " and " +
                                     std::to_string(of) + " ways: remove the stale ones");
        }
        count = of;
        std::ifstream in(entry.path());
        nlohmann::ordered_json record;
        try {
            record = nlohmann::ordered_json::parse(in);
            for (const auto& scene : record.at("scenes")) shards[index].push_back(outcome_from_json(scene));
        } catch (const std::exception& error) {
            throw std::runtime_error(entry.path().string() + " is not a shard record: " + error.what());
        }
    }
    if (count == 0) throw std::runtime_error(folder.string() + " holds no shard-I-of-N.json record");
    std::string missing;
    for (int i = 0; i < count; ++i) {
        if (!shards.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
    if (!missing.empty()) {
        std::fprintf(stderr, "satsal summarize: %d of %d shards have not finished (missing: %s); run it again when they have\n",
                     count - static_cast<int>(shards.size()), count, missing.c_str());
        return 1;
    }
    // Scenes back in config order: shard i holds scenes i, i + N, ... (hpc/Shard.hpp).
    std::vector<SceneOutcome> outcomes;
    for (size_t k = 0;; ++k) {
        const int shard = static_cast<int>(k % static_cast<size_t>(count));
        const size_t position = k / static_cast<size_t>(count);
        if (position >= shards[shard].size()) break;
        outcomes.push_back(shards[shard][position]);
    }
    size_t total = 0;
    for (const auto& [index, scenes] : shards) total += scenes.size();
    if (outcomes.size() != total) throw std::runtime_error("shard records in " + folder.string() + " do not fit one round-robin split");

    std::string csv = "scene,status,error,tiles,tiles_skipped,seconds,megapixels_per_second,output_folder\n";
    bool counting = false;
    for (const auto& o : outcomes) {
        std::string error = o.error;
        for (char& c : error) if (c == ',' || c == '\n') c = ';';
        char numbers[128];
        std::snprintf(numbers, sizeof numbers, "%lld,%lld,%.3f,%.4f", static_cast<long long>(o.tiles_total),
                      static_cast<long long>(o.tiles_skipped), o.seconds, o.megapixels_per_second);
        csv += o.scene + "," + (o.ok ? "ok" : "failed") + "," + error + "," + numbers + "," + o.output_folder + "\n";
        counting = counting || o.count_predicted >= 0;
    }
    write_text_file((fs::path(output_dir) / "scenes.csv").string(), csv);
    if (counting) {
        RunConfig where;
        where.output_dir = output_dir;
        write_count_summary(where, outcomes);
    }
    std::vector<std::string> folders;  // the STAC collection over the scenes that succeeded
    for (const auto& o : outcomes) {
        if (o.ok) folders.push_back(o.output_folder);
    }
    if (!folders.empty()) write_stac_collection(output_dir, folders);
    const int failed = failed_count(outcomes);
    std::fprintf(stderr, "satsal summarize: %zu scenes from %d shards, %d failed -> %s%s\n", outcomes.size(), count, failed,
                 (fs::path(output_dir) / "scenes.csv").string().c_str(), counting ? ", counts.csv, count-summary.json" : "");
    return failed ? 1 : 0;
}

int slurm(int argc, char** argv) {
    std::string config_path, out, partition, time, account, job_name;
    std::vector<std::string> overrides;
    int array = 0, cpus = 2;
    po::options_description described("slurm options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "run config (its scenes are split over the array)")
        ("array", po::value(&array), "array tasks N (default: one per scene, at most 1000)")
        ("cpus-per-task", po::value(&cpus)->default_value(2), "cores per task (satsal's threads)")
        ("partition", po::value(&partition), "Slurm partition (default: the cluster's)")
        ("time", po::value(&time), "time limit per allocation, e.g. 2:00:00 (a task is requeued when it ends)")
        ("account", po::value(&account), "Slurm account")
        ("job-name", po::value(&job_name), "job name (default: satsal-<config name>)")
        ("set", po::value(&overrides)->composing(), "override a config key in every task: --set key=value")
        ("out,o", po::value(&out), "write the script here (default: standard output)");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal slurm CONFIG [--array N] [--cpus-per-task C] [--partition P] [--time T] "
               "[--account A] [--set key=value ...] [--out job.sh]\n\n"
               "Writes an sbatch script: a job array whose task i runs `satsal run CONFIG --shard i/N`,\n"
               "requeued with a warning signal before its time limit; `satsal summarize OUTPUT_DIR`\n"
               "merges the shards' results when all tasks are done.",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    // Loading validates the config and resolves its scenes now, not on the cluster.
    const RunConfig config = load_run_config(config_path, overrides);
    const int scenes = static_cast<int>(config.scenes.size());
    if (!variables.count("array")) array = std::min(scenes, 1000);
    if (array > scenes) {
        std::fprintf(stderr, "satsal slurm: --array %d is more than the %d scenes of %s: %d tasks would have nothing to do\n",
                     array, scenes, config_path.c_str(), array - scenes);
        return 2;
    }
    hpc::SlurmOptions options;
    options.config = fs::absolute(config_path).lexically_normal().string();
    options.satsal = this_executable();
    options.job_name = job_name.empty() ? "satsal-" + fs::path(config_path).stem().string() : job_name;
    options.array_tasks = array;
    options.cpus_per_task = cpus;
    options.partition = partition;
    options.time = time;
    options.account = account;
    options.log_folder = (fs::absolute(config.output_dir) / "slurm-logs").lexically_normal().string();
    for (const std::string& set : overrides) {
        // Relative paths in --set resolve against the current folder: pass them on absolute.
        const auto equals = set.find('=');
        const std::string key = set.substr(0, equals), value = set.substr(equals + 1);
        const bool path_key = key == "model" || key == "scene" || key == "output_dir" || key == "annotations";
        options.overrides.push_back(path_key && !value.empty() ? key + "=" + fs::absolute(value).string() : set);
    }
    const std::string script = hpc::slurm_array_script(options);
    fs::create_directories(options.log_folder);
    if (out.empty()) {
        std::cout << script;
    } else {
        write_text_file(out, script);
        fs::permissions(out, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
        std::fprintf(stderr, "satsal slurm: wrote %s: %d array tasks over %d scenes, logs in %s\n", out.c_str(), array,
                     scenes, options.log_folder.c_str());
    }
    return 0;
}

}  // namespace satsal::cli
