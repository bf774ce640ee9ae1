#pragma once
// Stage: pass 2 of a scene run, blocks of the output grid.
//
// Each block reads the layer rows and columns its bilinear samples touch (so block edges have no
// seam), normalizes them with the scene's moments (normalize = scene) or takes the per-tile
// normalized maps (normalize = tile), upsamples, combines, renders LOVI, masks output pixels whose
// whole input footprint is nodata, and (annotated scenes at output_scale 1) measures the saliency
// on cars. Blocks are computed in parallel and written in raster order (an ordered
// tbb::parallel_pipeline) by two serial stages that overlap: the GeoTIFFs, then saliency.h5 and
// the quicklook. Then write_layer_maps streams the layer maps at native resolution.
//
// Thread rules: run on the run's thread; scratch reads are pread (safe from several threads),
// mask reads use one RasterReader per thread; the product's GeoTIFFs and its HDF5 file are each
// written from one thread at a time (SaliencyProduct::write_block_tiffs / write_block_h5).
#include "pipeline/CountOutputs.hpp"
#include "pipeline/Pass1Graph.hpp"
#include "pipeline/Quicklook.hpp"
#include "pipeline/RunSetup.hpp"
#include "pipeline/SaliencyProduct.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace satsal {

class MethodScene;

/// Output block side; equal to the GeoTIFF block so writes are whole blocks.
constexpr int64_t kOutputBlock = 512;

struct Pass2Inputs {
    const std::string& scene;
    const TileGrid& grid;
    const std::vector<int>& bands;  // for the nodata masks
    const SceneLayers& layers;
    const std::vector<MapMoments>& moments;
    int64_t output_scale = 1;
    const cowc::ObjectPositions* cars = nullptr;  // measured only at output_scale 1
    MethodScene* method = nullptr;  // config `method`: its map goes to saliency.tif (MethodPass.hpp)
};

/// MPI ranks sharing a scene (pipeline/SceneShare.cpp, set in RunSetup::pass2_split while rank 0
/// runs the shared scene): the other ranks compute the output blocks, rank 0 only writes them.
/// Pass 2's time on one process is half computing blocks (in parallel) and half the serial
/// writer (GeoTIFF encoding and streamed overviews, HDF5): moving the compute off rank 0 keeps
/// every GDAL dataset in one process and leaves rank 0 the writer's share. Blocks travel as bytes
/// (encode: floats and doubles as stored), so the outputs are those of one process.
struct Pass2Split {
    int ranks = 1;
    /// Called once before the first block with the block count and the scene's moments
    /// (encode_moments): the other ranks start computing (compute_pass2_share).
    std::function<void(int64_t blocks, const std::string& moments)> start;
    /// Block `index` as rank `rank` encoded it; waits until it arrives.
    std::function<std::string(int rank, int64_t index)> receive;
    // Filled by run_pass2 (run.json's `ranks`):
    bool started = false;
    int64_t blocks = 0, local_blocks = 0;
    double compute_seconds = 0, receive_seconds = 0, write_seconds = 0;  // busy, this process
};

/// The rank that computes output block `index`: 0 alone; with more ranks, never rank 0 (it writes).
int pass2_block_owner(int64_t index, int ranks);
std::string encode_moments(const std::vector<MapMoments>& moments);
/// Throws std::invalid_argument when `bytes` are not encode_moments output.
std::vector<MapMoments> decode_moments(const std::string& bytes);

/// A rank's share of a shared scene's pass 2: computes the blocks `rank` owns, in parallel, and
/// hands each one encoded to `send` in index order (rank 0 receives them in that order). A block
/// that fails is sent as its error (rank 0 throws it), and so is every later block of the rank, so
/// rank 0 never waits for a block that does not come. Returns the blocks' busy compute seconds.
struct Pass2ShareTimes {
    int64_t blocks = 0;
    double compute_seconds = 0, send_seconds = 0;
    std::string error;  // the first block's failure, when one failed
};
/// What a rank that cannot compute its blocks sends instead: `message` as each of them.
void send_pass2_error(const std::string& message, int64_t blocks, int rank, int ranks,
                      const std::function<void(int64_t index, const std::string& block)>& send);
Pass2ShareTimes compute_pass2_share(const RunSetup& setup, const Pass2Inputs& inputs, int rank, int ranks,
                                    const std::function<void(int64_t index, const std::string& block)>& send);

/// Combined map and LOVI of every output block into `product` and `quicklook`; returns the
/// saliency on cars (empty sums without cars). With setup.pass2_split (and no `method`), the
/// blocks come from the other ranks.
CarSaliency run_pass2(const RunSetup& setup, const Pass2Inputs& inputs, SaliencyProduct& product,
                      Quicklook& quicklook);

/// The layer maps at native resolution: raw, and normalized (the per-tile maps, or the raw maps
/// with the scene's moments).
void write_layer_maps(const RunSetup& setup, const SceneLayers& layers, const std::vector<MapMoments>& moments,
                      SaliencyProduct& product);

}  // namespace satsal
