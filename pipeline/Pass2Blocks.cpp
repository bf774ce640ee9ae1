#include "pipeline/Pass2Blocks.hpp"

#include "io/RasterReader.hpp"
#include "pipeline/MethodPass.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Lovi.hpp"
#include "tiling/Padding.hpp"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

namespace satsal {
namespace {

struct OutputBlock {
    Window window;
    Map combined;
    std::vector<uint8_t> lovi;
    CarSaliency cars;
    std::unique_ptr<MethodBlock> method;  // config `method`
};
using OutputBlockPtr = std::shared_ptr<OutputBlock>;

/// A window of a layer map read from its scratch grid, normalized (scene) or as stored (tile), with
/// nodata replaced by 0 so that bilinear samples next to nodata stay finite (the final mask
/// restores nodata where the input has none).
Map read_layer_window(const ScratchGrid& grid, const Window& window, const MapMoments* scene_moments,
                      Normalization normalization) {
    Map map(window.width, window.height);
    grid.read(window, map.data());
    if (scene_moments) normalize_values(normalization, *scene_moments, map.data(), map.size());
    for (float& value : map.values) {
        if (std::isnan(value)) value = 0.0f;
    }
    return map;
}

class Pass2Blocks {
public:
    Pass2Blocks(const RunSetup& setup, const Pass2Inputs& inputs)
        : setup_(setup), in_(inputs),
          out_width_(ceil_div(inputs.grid.scene_width(), inputs.output_scale)),
          out_height_(ceil_div(inputs.grid.scene_height(), inputs.output_scale)),
          columns_(ceil_div(out_width_, kOutputBlock)),
          all_valid_(RasterReader(inputs.scene).all_valid(inputs.bands)) {}

    int64_t block_count() const { return columns_ * ceil_div(out_height_, kOutputBlock); }
    OutputBlockPtr compute(int64_t index);

private:
    std::vector<Map> upsampled_layers(const Window& block) const;
    void mask_nodata(OutputBlock& block);

    const RunSetup& setup_;
    const Pass2Inputs& in_;
    const int64_t out_width_, out_height_, columns_;
    const bool all_valid_;
    tbb::enumerable_thread_specific<std::unique_ptr<RasterReader>> mask_readers_;
};

std::vector<Map> Pass2Blocks::upsampled_layers(const Window& b) const {
    const bool tile_normalized = in_.layers.tile_normalized();
    const std::vector<ScratchGrid>& grids = in_.layers.to_combine();
    std::vector<Map> upsampled;
    upsampled.reserve(grids.size());
    for (std::size_t k = 0; k < grids.size(); ++k) {
        const double scale = static_cast<double>(setup_.strides[k]) / static_cast<double>(in_.output_scale);
        const ScratchGrid& layer = grids[k];
        const LayerSpan xs = bilinear_source_span(b.x, b.width, scale, layer.width());
        const LayerSpan ys = bilinear_source_span(b.y, b.height, scale, layer.height());
        const Window window{xs.first, ys.first, xs.last - xs.first + 1, ys.last - ys.first + 1};
        const Map source = read_layer_window(layer, window, tile_normalized ? nullptr : &in_.moments[k],
                                             setup_.normalization);
        upsampled.push_back(upsample_bilinear_window(source, window.x, window.y, layer.width(), layer.height(),
                                                     scale, scale, b.x, b.y, b.width, b.height));
    }
    return upsampled;
}

/// An output pixel is nodata when its whole footprint in the input is.
void Pass2Blocks::mask_nodata(OutputBlock& block) {
    auto& reader = mask_readers_.local();
    if (!reader) reader = std::make_unique<RasterReader>(in_.scene);
    const int64_t o = in_.output_scale;
    const Window& b = block.window;
    const Window footprint = Window{b.x * o, b.y * o, b.width * o, b.height * o}.intersect(in_.grid.scene());
    const std::vector<uint8_t> mask = reader->read_valid_mask(
        in_.bands, static_cast<int>(footprint.x), static_cast<int>(footprint.y), static_cast<int>(footprint.width),
        static_cast<int>(footprint.height));
    for (int64_t y = 0; y < b.height; ++y) {
        for (int64_t x = 0; x < b.width; ++x) {
            const Window pixel = Window{(b.x + x) * o, (b.y + y) * o, o, o}.intersect(footprint);
            if (count_valid(mask.data(), footprint, pixel) > 0) continue;
            block.combined.at(x, y) = std::nanf("");
            std::fill_n(block.lovi.begin() + (y * b.width + x) * 3, 3, uint8_t{0});
        }
    }
}

OutputBlockPtr Pass2Blocks::compute(int64_t index) {
    auto block = std::make_shared<OutputBlock>();
    const int64_t bx = (index % columns_) * kOutputBlock, by = (index / columns_) * kOutputBlock;
    block->window = Window{bx, by, std::min(kOutputBlock, out_width_ - bx), std::min(kOutputBlock, out_height_ - by)};
    const std::vector<Map> upsampled = upsampled_layers(block->window);
    block->combined = combine(upsampled, setup_.weights);
    block->lovi = lovi_rgb(upsampled);
    if (!all_valid_) mask_nodata(*block);
    if (in_.cars && in_.output_scale == 1) {
        block->cars = measure_car_saliency(*in_.cars, bx, by, block->combined, upsampled);
    }
    if (in_.method) {
        block->method = std::make_unique<MethodBlock>(
            in_.method->block(block->window, in_.output_scale, block->combined, in_.cars));
    }
    return block;
}

}  // namespace

CarSaliency run_pass2(const RunSetup& setup, const Pass2Inputs& inputs, SaliencyProduct& product,
                      Quicklook& quicklook) {
    Pass2Blocks blocks(setup, inputs);
    CarSaliency cars;
    // Two writers in raster order, each on one thread at a time but overlapping each other (they
    // were one serial stage, which set pass 2's pace): the GeoTIFFs (compression, overviews), then
    // saliency.h5, the method's datasets, the car sums and the quicklook samples.
    auto write_tiffs = [&](const OutputBlockPtr& block) {
        const Map& shown = block->method ? block->method->shown : block->combined;
        product.write_block_tiffs(block->window, block->combined.data(), block->lovi.data(), shown.data());
        return block;
    };
    auto write_rest = [&](const OutputBlockPtr& block) {
        const Map& shown = block->method ? block->method->shown : block->combined;
        product.write_block_h5(block->window, block->combined.data(), block->lovi.data());
        if (block->method) inputs.method->write(block->window, *block->method, product);
        if (!block->cars.inside_sum.empty()) cars.merge(block->cars);
        quicklook.sample_combined(block->window.x, block->window.y, shown);
    };
    const int64_t count = blocks.block_count();
    int64_t next = 0;
    const std::size_t tokens = 3 * static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::parallel_pipeline(
        tokens,
        tbb::make_filter<void, int64_t>(tbb::filter_mode::serial_in_order,
                                        [&](tbb::flow_control& control) -> int64_t {
                                            if (next >= count) {
                                                control.stop();
                                                return 0;
                                            }
                                            return next++;
                                        }) &
            tbb::make_filter<int64_t, OutputBlockPtr>(tbb::filter_mode::parallel,
                                                      [&](int64_t index) { return blocks.compute(index); }) &
            tbb::make_filter<OutputBlockPtr, OutputBlockPtr>(tbb::filter_mode::serial_in_order, write_tiffs) &
            tbb::make_filter<OutputBlockPtr, void>(tbb::filter_mode::serial_in_order, write_rest));
    return cars;
}

void write_layer_maps(const RunSetup& setup, const SceneLayers& layers, const std::vector<MapMoments>& moments,
                      SaliencyProduct& product) {
    for (std::size_t k = 0; k < layers.raw.size(); ++k) {
        const ScratchGrid& raw = layers.raw[k];
        for (int64_t y = 0; y < raw.height(); y += kOutputBlock) {
            for (int64_t x = 0; x < raw.width(); x += kOutputBlock) {
                const Window window{x, y, std::min(kOutputBlock, raw.width() - x),
                                    std::min(kOutputBlock, raw.height() - y)};
                Map values(window.width, window.height), normalized(window.width, window.height);
                raw.read(window, values.data());
                if (layers.tile_normalized()) {
                    layers.normalized[k].read(window, normalized.data());
                } else {
                    normalized.values = values.values;
                    normalize_values(setup.normalization, moments[k], normalized.data(), normalized.size());
                }
                product.write_layer_block(k, window, values.data(), normalized.data());
            }
        }
    }
}

}  // namespace satsal
