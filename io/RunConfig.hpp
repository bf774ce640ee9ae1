#pragma once
// Run configuration for `satsal run CONFIG [--set key=value ...]` (issue #3 section 6).
//
// A config is an INI file read with Boost.Program_options (one `key = value` per line, `#` starts a
// comment, `scene` may be repeated). `--set key=value` overrides a key after the file. Every key is
// validated here for syntax and for the files it names; checks that need the model (tile_size a
// multiple of the deepest stride, weight count against the tap count, band count against the
// model's input channels) belong to the pipeline.
//
// Paths: a relative path in a config file resolves against the directory of that config file;
// a relative path given with --set resolves against the current directory. After loading, every
// path in RunConfig is absolute and lexically normal.
//
// Empty values: `key =` (or `--set key=`) restores the key's default; for `scene` it clears the list.
// A `--set scene=...` replaces the scenes of the file (several --set scene=... accumulate).
//
// Errors: every problem throws RunConfigError whose message starts with where it came from,
// "configs/x.ini:7: ..." or "--set tile_size=abc: ...", names the key and says what was expected.
//
// Thread rules: plain value types and pure functions; nothing is shared.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace satsal {

class RunConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class PadMode { Reflect, Mean, Zero };
enum class NormalizeScope { Scene, Tile };
enum class RunTask { Saliency, Count };

/// A closed interval of values, e.g. input_range = 0,255 or stretch = 2,98 (percentiles).
struct ValueRange {
    double low = 0;
    double high = 0;
    bool operator==(const ValueRange& other) const { return low == other.low && high == other.high; }
};

struct RunConfig {
    // --- model -----------------------------------------------------------------------------
    std::string model;                 // TorchScript file (required, must exist)
    std::vector<std::string> taps;     // tap module names; empty = find them automatically (`auto`)
    int threads = 0;                   // LibTorch intra-op threads; 0 = all cores
    int batch_size = 4;                // tiles per forward pass
    std::string precision = "auto";    // fp32 | bf16 | auto (model/Precision.hpp)
    std::string device = "cpu";        // cpu | cuda | cuda:N

    // --- inputs and outputs ------------------------------------------------------------------
    std::vector<std::string> scenes;   // raster files, expanded from files, directories and globs
    std::string output_dir;            // required; created by the pipeline if missing

    // --- reading and preprocessing -----------------------------------------------------------
    std::vector<int> bands;            // 1-based band numbers in model channel order; empty = the
                                       // pipeline's default (1,2,3; a one-band scene 1,1,1)
    std::optional<ValueRange> input_range;  // per-band scaling of raw values to [0,1]
    std::optional<ValueRange> stretch;      // or percentiles (0..100) per band; exclusive with input_range
    // Neither set: the data type's natural range (Byte 0..255, UInt16 0..65535, ...), decided by
    // the pipeline.
    std::vector<double> mean = {0.485, 0.456, 0.406};  // ImageNet, on [0,1] pixels
    std::vector<double> std = {0.229, 0.224, 0.225};

    // --- tiling ------------------------------------------------------------------------------
    int tile_size = 512;               // core size in pixels
    std::optional<int> margin;         // context on each side; empty = auto (seam_tolerance)
    double seam_tolerance = 0.01;      // for margin = auto: max seam error relative to the map's max
    PadMode pad = PadMode::Reflect;

    // --- saliency ----------------------------------------------------------------------------
    std::string statistic = "smoe";    // a name parse_statistic accepts
    std::string norm = "gauss";        // a name parse_normalization accepts
    std::string weights = "equal";     // equal | ramp | prior | w1,w2,... (what parse_weights takes)
    NormalizeScope normalize = NormalizeScope::Scene;

    // --- outputs -----------------------------------------------------------------------------
    int output_scale = 1;              // 1, 2, 4, ...: saliency.tif written this much coarser
    bool write_layers = false;         // per-layer GeoTIFFs
    bool cog = false;                  // Cloud Optimized GeoTIFFs
    bool quiet = false;                // no progress on stderr

    // --- COWC counting (issue #4) ------------------------------------------------------------
    RunTask task = RunTask::Saliency;
    std::string annotations;           // path (file or directory); empty = none; must exist if given
    // A folder for a synthetic COWC demo set: when set and the folder holds no set yet, loading the
    // config first generates one there (once), so its scenes and annotations can be named above.
    std::string synthetic_cowc;

    bool operator==(const RunConfig& other) const;
    bool operator!=(const RunConfig& other) const { return !(*this == other); }
};

/// Read CONFIG, apply the `key=value` overrides in order, validate, resolve paths and expand the
/// scene specs. Throws RunConfigError (see the file comment for the message format).
RunConfig load_run_config(const std::string& config_path, const std::vector<std::string>& overrides = {});

/// The same from text already in memory: `source_name` is used in messages ("name:LINE: ...") and
/// `base_dir` is where the text's relative paths resolve.
RunConfig parse_run_config(const std::string& text, const std::string& source_name,
                           const std::string& base_dir, const std::vector<std::string>& overrides = {});

/// The resolved config as INI text (every key, absolute paths, doubles in shortest round-trip form)
/// that load_run_config reads back to an equal RunConfig. For `satsal run CONFIG --print-config`.
std::string to_ini(const RunConfig& config);

/// One line per key: name, default and meaning, for `satsal run --help` and the README.
std::string run_config_reference();

/// Names of every key a config may hold, in the order to_ini writes them.
std::vector<std::string> run_config_keys();

std::string pad_mode_name(PadMode pad);
std::string normalize_scope_name(NormalizeScope scope);
std::string run_task_name(RunTask task);

/// File name extensions (lower case, with the dot) picked up when `scene` names a directory.
const std::vector<std::string>& scene_raster_extensions();

/// The name of a scene's output folder, `<output_dir>/<scene_name>/`: the file name without its
/// last extension ("12TVL240120.png" -> "12TVL240120", "a.b-c%d.tif" -> "a.b-c%d"). Two scenes
/// of one config with the same name are an error at load time.
std::string scene_name(const std::string& scene_path);

}  // namespace satsal
