// MPI ranks sharing the tiles of one scene (SceneRunner::prepare_share, compute_share, run_shared).
//
// Design: the resume machinery does the assembly. Every rank computes whole batch groups of the
// tile list (the batches an unshared run forms, so oneDNN sees the same shapes and the layer maps
// are the same bits), writes their cores into the scene's layer grids (raw files in the resume
// folder: ranks write disjoint regions with pwrite; no GDAL dataset is shared) and records them in
// its own journal. Rank 0 then runs the scene as a resumed run whose tiles are all done: it reads
// the cores back into the moments in tile order, so the statistics and every output are those of
// one process. Pass 2 is split too: with the scene's moments from rank 0, the other ranks compute
// the output blocks (pass2_block_owner: round robin over ranks 1..N-1) and send them to rank 0,
// which writes every output alone, in block order (Pass2Blocks.hpp says why: the writer is half
// of pass 2 and GDAL datasets stay in one process). A rank killed or stopped leaves its journal:
// the same command resumes, whatever the number of ranks.
#include "pipeline/SceneRun.hpp"

#include "io/RasterReader.hpp"
#include "pipeline/AutoMargin.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/CountOutputs.hpp"
#include "pipeline/Pass2Blocks.hpp"
#include "pipeline/Pass1Graph.hpp"
#include "pipeline/Quicklook.hpp"
#include "pipeline/RunGuards.hpp"
#include "pipeline/RunSetup.hpp"
#include "pipeline/SceneResume.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace fs = std::filesystem;

namespace satsal {
namespace {

/// The tile grid and resume fingerprint of a scene, made as run_one_scene makes them (so the
/// ranks' journals are the ones rank 0's run accepts).
struct ScenePlan {
    std::string output_folder;
    RasterInfo info;
    BandScaling scaling;
    TileGrid grid;
    hpc::Fingerprint fingerprint;
};

ScenePlan plan_scene(RunSetup& setup, const std::string& scene, const RunEvents& events) {
    const RunConfig& config = setup.config;
    RasterReader reader(scene);
    BandScaling scaling = plan_band_scaling(config, reader);
    if (!setup.margin) setup.margin = choose_auto_margin(setup, scene, scaling, events);
    const RasterInfo& info = reader.info();
    TileGridOptions grid_options;
    grid_options.tile_size = setup.tile_size;
    std::string margin_note;
    grid_options.margin = capped_margin(*setup.margin, info.width, info.height, setup.deepest_stride, margin_note);
    grid_options.deepest_stride = setup.deepest_stride;
    return ScenePlan{(fs::path(config.output_dir) / scene_name(scene)).string(), info, std::move(scaling),
                     TileGrid(info.width, info.height, grid_options),
                     scene_fingerprint(config, setup.model_sha256, scene, grid_options.margin)};
}

}  // namespace

void SceneRunner::prepare_share(const std::string& scene) {
    const std::string problem = scene_folder_problems({scene}).front();
    if (!problem.empty()) throw std::invalid_argument(problem);
    RunSetup& setup = *setup_;
    const ScenePlan plan = plan_scene(setup, scene, RunEvents{});
    SceneResume resume(plan.output_folder, plan.fingerprint, restart_);
    SceneLayers layers(resume, plan.grid, setup.strides, setup.config.normalize == NormalizeScope::Tile);
}

nlohmann::ordered_json SceneRunner::compute_share(const std::string& scene, int part, int parts,
                                                  const RunEvents& events) {
    RunSetup& setup = *setup_;
    const ScenePlan plan = plan_scene(setup, scene, events);
    SceneResume share(plan.output_folder, plan.fingerprint,
                      SceneShare{part, parts, std::max(1, setup.config.batch_size)});
    SceneLayers layers(share, plan.grid, setup.strides, setup.config.normalize == NormalizeScope::Tile);
    const int64_t o = setup.config.output_scale;
    Quicklook quicklook(ceil_div(plan.info.width, o), ceil_div(plan.info.height, o), o);  // sampled, not written
    const Pass1Result pass1 = run_pass1_share(setup, scene, plan.grid, plan.scaling, layers, quicklook, share, events);
    nlohmann::ordered_json times;
    times["rank"] = part;
    times["tiles"] = pass1.processed + pass1.skipped - pass1.resumed;
    times["tiles_resumed"] = pass1.resumed;
    times["pass1_wall_seconds"] = pass1.wall_seconds;
    times["read_seconds"] = pass1.read_seconds;
    times["forward_seconds"] = pass1.forward_seconds;
    times["statistic_seconds"] = pass1.statistic_seconds;
    times["stitch_seconds"] = pass1.stitch_seconds;
    return times;
}

SceneOutcome SceneRunner::run_shared(const std::string& scene, const RunEvents& events, Pass2Split* split) {
    // prepare_share honoured --restart; here the ranks' work must be kept.
    struct KeepRestart {
        bool& flag;
        const bool saved;
        Pass2Split*& split;
        ~KeepRestart() {
            flag = saved;
            split = nullptr;
        }
    } keep{restart_, restart_, setup_->pass2_split};
    restart_ = false;
    setup_->pass2_split = split;
    return run(scene, events);
}

nlohmann::ordered_json SceneRunner::help_pass2(const std::string& scene, int64_t blocks, const std::string& moments,
                                               int part, int parts,
                                               const std::function<void(int64_t, const std::string&)>& send) {
    RunSetup& setup = *setup_;
    nlohmann::ordered_json times;
    times["pass2_blocks"] = 0;
    try {
        const ScenePlan plan = plan_scene(setup, scene, RunEvents{});
        SceneResume share(plan.output_folder, plan.fingerprint,
                          SceneShare{part, parts, std::max(1, setup.config.batch_size)});
        const SceneLayers layers(share, plan.grid, setup.strides, setup.config.normalize == NormalizeScope::Tile);
        const std::vector<MapMoments> scene_moments = decode_moments(moments);
        const std::optional<CarAnnotations> annotations =
            load_car_annotations(setup.config, scene, plan.info.width, plan.info.height);
        const Pass2Inputs inputs{scene, plan.grid, plan.scaling.bands, layers, scene_moments,
                                 setup.config.output_scale, annotations ? &annotations->cars : nullptr, nullptr};
        const Pass2ShareTimes share_times = compute_pass2_share(setup, inputs, part, parts, send);
        times["pass2_blocks"] = share_times.blocks;
        times["pass2_compute_seconds"] = share_times.compute_seconds;
        times["pass2_send_seconds"] = share_times.send_seconds;
        if (!share_times.error.empty()) times["error"] = share_times.error;
    } catch (const std::exception& error) {
        send_pass2_error(error.what(), blocks, part, parts, send);
        times["error"] = error.what();
    }
    return times;
}

}  // namespace satsal
