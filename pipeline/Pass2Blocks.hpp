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

/// Combined map and LOVI of every output block into `product` and `quicklook`; returns the
/// saliency on cars (empty sums without cars).
CarSaliency run_pass2(const RunSetup& setup, const Pass2Inputs& inputs, SaliencyProduct& product,
                      Quicklook& quicklook);

/// The layer maps at native resolution: raw, and normalized (the per-tile maps, or the raw maps
/// with the scene's moments).
void write_layer_maps(const RunSetup& setup, const SceneLayers& layers, const std::vector<MapMoments>& moments,
                      SaliencyProduct& product);

}  // namespace satsal
