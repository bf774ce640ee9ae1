#pragma once
// Stage: a gradient-based saliency method (config `method`, methods/MethodOptions.hpp) in a scene
// run, beside the SMOE maps of the same tiles.
//
//   pass 1   MethodRunner::compute on the inference worker, per batch of tiles: the raw map of
//            each tile (input attributions: channels reduced, not normalized, at stride 1;
//            Grad-CAM/++ and FastCAM: ReLU(sum_k w_k A_k) on the CAM tap's layer grid), masked
//            like the layer maps; MethodScene::stitch writes each tile's core to a scratch grid in
//            the scene's resume folder (so resumed runs keep it, like the layer grids).
//   between  MethodScene::measure_range: the scene-wide min and max of the map as pass 2
//            upsamples it at full resolution (what `explain --method` min-max normalizes per
//            image).
//   pass 2   MethodScene::block per output block: min-max normalized with the scene range,
//            upsampled bilinearly like the layer maps; FastCAM = SMOE combined x CAM (and the
//            non-class map combined x (1 - CAM)); MethodScene::write puts the method's map into
//            saliency.tif (SaliencyProduct's `shown`) and its datasets into saliency.h5, and
//            sums the saliency on annotated cars per map.
//
// The score of a tile is the logit of `class`, or of the tile's predicted class. Counting runs
// score counting windows instead of tiles (pipeline/MethodWindows.hpp: MethodScene in windows
// mode, its grids filled by that pass, blended when pass 2 reads them).
// Gradient methods run in fp32: when the run's model computes in bf16, MethodRunner loads a
// float32 copy of the same file (methods/MethodRun.hpp).
//
// Thread rules: MethodRunner::compute runs on the single inference worker (one GradientMethods,
// one model copy); MethodScene::stitch on pass 1's serial stitch stage; MethodScene::block on many
// pass-2 threads at once (pread only); MethodScene::write on pass 2's serial writer.
#include "io/RunConfig.hpp"
#include "pipeline/CountOutputs.hpp"
#include "pipeline/ScratchGrid.hpp"
#include "saliency/Map.hpp"
#include "tiling/TileGrid.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace at {
class Tensor;
}

namespace satsal {

class TappedModel;
class GradientMethods;
class SaliencyProduct;
class SceneResume;
struct SeamProbe;

/// Everything a run's method needs across scenes.
class MethodRunner {
public:
    /// Checks the options against the model (the CAM tap must be one of its taps), loads the fp32
    /// copy when `model` computes in bf16. grid_strides: the scene layer grids' strides (counting
    /// runs resample stride-32 taps onto the stride-16 grid). Throws std::invalid_argument naming
    /// the config key.
    MethodRunner(const RunConfig& config, const TappedModel& model, const std::vector<int64_t>& grid_strides);
    ~MethodRunner();

    const MethodOptions& options() const { return options_; }
    /// describe(options) with the CAM tap resolved, e.g. "gradcam class=predicted tap=layer4".
    const std::string& description() const { return description_; }
    /// The stride of the method map's scene grid (1 for input attributions).
    int64_t stride() const { return stride_; }
    /// "fp32 (the run's model)" or "fp32 (a float32 copy; the SMOE forward runs bf16)".
    const std::string& precision_note() const { return precision_note_; }

    /// The raw method map of each image of `input` [N, C, S, S] (the network input of N tiles) at
    /// stride(): output [N, ...] is the run model's output for the same batch (its arg-max is the
    /// predicted class when `class` is not set). Inference worker only.
    std::vector<Map> compute(const at::Tensor& input, const at::Tensor& output) const;

    /// The raw map of a whole window (for the seam probe): input [1, C, H, W], the predicted class
    /// taken from that window unless `class` is set; returns the map and the class used.
    std::pair<Map, int64_t> compute_window(const at::Tensor& input, std::optional<int64_t> target) const;
    /// The same on a batch of tiles with one class for all (the seam probe's tiles).
    std::vector<Map> compute_tiles(const at::Tensor& input, int64_t target) const;

    /// Counting runs (pipeline/MethodWindows.hpp): the maps of counting windows in the COWC layout,
    /// input [N, C, 224, 224], each scored with the logit of `class` or of its own predicted count
    /// (arg-max of this fp32 model's output). The maps are at input size: input attributions
    /// reduced over channels, Grad-CAM/++ ReLU(sum_k w_k A_k) upsampled bilinearly to the input
    /// (explain's map before its min-max). Not normalized.
    struct WindowMaps {
        std::vector<Map> maps;
        std::vector<int64_t> classes;
    };
    WindowMaps compute_windows(const at::Tensor& input) const;

private:
    MethodOptions options_;
    std::string description_;
    std::string precision_note_;
    std::unique_ptr<TappedModel> fp32_copy_;
    const TappedModel* model_ = nullptr;
    std::unique_ptr<GradientMethods> methods_;
    std::size_t cam_index_ = 0;
    int64_t stride_ = 1;
    int64_t native_stride_ = 1;
};

/// saliency.tif's band description in a method run.
std::string method_band_description(const MethodRunner& runner);

/// One output block of the method's maps (output grid, block size).
struct MethodBlock {
    Map shown;                                     // what saliency.tif holds
    std::vector<std::pair<std::string, Map>> maps;  // saliency.h5 datasets on the output grid
    std::vector<CarSaliency> cars;                 // per map of car_map_names()
};

class MethodWindowLayout;

/// A method's scene state between the passes. Two modes: tiles (the method runs on pass 1's
/// context tiles; one grid at the runner's stride, stitched by pass 1) and windows (counting runs:
/// the method runs per counting window, pipeline/MethodWindows.hpp; one full-resolution grid per
/// window phase, blended when read).
class MethodScene {
public:
    MethodScene(const MethodRunner& runner, const SceneResume& resume, const TileGrid& grid);
    /// Windows mode over `windows` (which must outlive the scene).
    MethodScene(const MethodRunner& runner, const SceneResume& resume, const TileGrid& grid,
                const MethodWindowLayout& windows);

    bool windowed() const { return windows_ != nullptr; }
    /// Pass 1 (serial, tiles mode): the tile's core of `map` (the tile's whole raw map at
    /// stride()), or NaN for an empty tile (map == nullptr).
    void stitch(const Tile& tile, const Map* map);
    /// Windows mode (serial): the window's core of `canvas` (the window's raw map at input size,
    /// NaN at nodata pixels), or NaN for an empty window (canvas == nullptr).
    void stitch_window(int phase, const Tile& window, const Map* canvas);
    void sync();
    /// The raw map at the scene grid's `window` (windows mode: the phases blended).
    void read_map(const Window& window, float* out) const;
    /// After pass 1: the scene's min and max of the map upsampled to full resolution.
    void measure_range();

    /// The datasets write() fills, created in saliency.h5 (before pass 2).
    void prepare(SaliencyProduct& product) const;
    /// Pass 2 (any thread): the block `window` of the output grid; `combined` is the block's SMOE
    /// combined map, already masked (NaN where nodata); cars: measured at output_scale 1.
    MethodBlock block(const Window& window, int64_t output_scale, const Map& combined,
                      const cowc::ObjectPositions* cars) const;
    /// Pass 2 (serial writer): the block's datasets into saliency.h5, its car sums into the totals.
    void write(const Window& window, const MethodBlock& block, SaliencyProduct& product);

    /// run.json's `method` section (car ratios when cars were measured); pass1_seconds: the
    /// method's time in pass 1 (tiles mode; the window pass reports its times under `seconds`).
    nlohmann::ordered_json report(std::optional<double> pass1_seconds, std::size_t car_count) const;
    /// Names of the maps measured on cars, in MethodBlock::cars order.
    std::vector<std::string> car_map_names() const;

private:
    int64_t map_stride() const;

    const MethodRunner& runner_;
    const TileGrid& grid_layout_;
    const MethodWindowLayout* windows_ = nullptr;
    std::vector<ScratchGrid> grids_;  // tiles mode: one at stride(); windows mode: one per phase
    double low_ = 0, high_ = 0;
    bool measured_ = false;
    std::vector<CarSaliency> cars_;
};

/// The method's seam error on a probe: max |tiled - whole| / max |whole| of the raw maps, the
/// tiles cut as satsal seams cuts them (pipeline/Seams.hpp), one class for all (`class` or the
/// whole probe's predicted class), and each map multiplied by its input's pixel count, since a
/// network ending in global average pooling divides the score's gradient by it. IG steps and
/// SmoothGrad samples are capped at kProbeIterations for the probe.
constexpr int kProbeIterations = 4;
struct MethodSeamProbe {
    Map whole;            // raw map of the probe's compared region (scaled), at stride()
    int64_t target = -1;
    int64_t max_margin = 0, tile_size = 0, columns = 0, rows = 0;
};
MethodSeamProbe method_seam_reference(const MethodRunner& runner, const SeamProbe& probe, int64_t tile_size,
                                      int64_t max_margin);
double method_seam_error(const MethodRunner& runner, const SeamProbe& probe, const MethodSeamProbe& reference,
                         int64_t margin, int batch_size);

}  // namespace satsal
