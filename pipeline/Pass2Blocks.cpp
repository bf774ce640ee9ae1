#include "pipeline/Pass2Blocks.hpp"

#include "io/GdalSupport.hpp"
#include "io/RasterReader.hpp"
#include "pipeline/MethodPass.hpp"
#include "saliency/Combine.hpp"
#include "saliency/Lovi.hpp"
#include "tiling/Padding.hpp"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

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
    Window window(int64_t index) const {
        const int64_t bx = (index % columns_) * kOutputBlock, by = (index / columns_) * kOutputBlock;
        return Window{bx, by, std::min(kOutputBlock, out_width_ - bx), std::min(kOutputBlock, out_height_ - by)};
    }
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
    block->window = window(index);
    const int64_t bx = block->window.x, by = block->window.y;
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


// Blocks and moments between ranks (Pass2Split): values as stored, so rank 0 writes the same bits.
class ByteWriter {
public:
    explicit ByteWriter(char tag) { bytes_.push_back(tag); }
    template <class T> void put(const T& value) { bytes_.append(reinterpret_cast<const char*>(&value), sizeof value); }
    template <class T> void put_array(const std::vector<T>& values) {
        put<uint64_t>(values.size());
        bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
    }
    std::string take() { return std::move(bytes_); }

private:
    std::string bytes_;
};

class ByteReader {
public:
    ByteReader(const std::string& bytes, char tag, std::string what) : bytes_(bytes), what_(std::move(what)) {
        if (bytes_.empty() || bytes_[0] != tag) fail("does not start with '" + std::string(1, tag) + "'");
    }
    template <class T> T get() {
        T value;
        take(&value, sizeof value);
        return value;
    }
    template <class T> std::vector<T> get_array() {
        const auto n = get<uint64_t>();
        if (n > (bytes_.size() - at_) / sizeof(T)) fail("holds " + std::to_string(n) + " values past its end");
        std::vector<T> values(static_cast<std::size_t>(n));
        take(values.data(), values.size() * sizeof(T));
        return values;
    }
    void end() const {
        if (at_ != bytes_.size()) fail("has " + std::to_string(bytes_.size() - at_) + " bytes past its end");
    }
    [[noreturn]] void fail(const std::string& problem) const {
        throw std::invalid_argument(what_ + " " + problem + " (" + std::to_string(bytes_.size()) + " bytes)");
    }

private:
    void take(void* out, std::size_t n) {
        if (n > bytes_.size() - at_) fail("is truncated");
        std::memcpy(out, bytes_.data() + at_, n);
        at_ += n;
    }
    const std::string& bytes_;
    std::string what_;
    std::size_t at_ = 1;
};

std::string encode_block(const OutputBlock& block) {
    ByteWriter out('B');
    out.put(block.window);
    out.put_array(block.combined.values);
    out.put_array(block.lovi);
    out.put_array(block.cars.inside_sum);
    out.put_array(block.cars.elsewhere_sum);
    out.put(block.cars.inside_pixels);
    out.put(block.cars.elsewhere_pixels);
    return out.take();
}

std::string encode_error(const std::string& message) { return "E" + message; }

/// Throws the rank's error when it sent one; checks the block is the one expected.
OutputBlockPtr decode_block(const std::string& bytes, int rank, const Window& expected) {
    const std::string what = "pass-2 block " + describe_window(expected.x, expected.y, expected.width, expected.height) +
                             " from rank " + std::to_string(rank);
    if (!bytes.empty() && bytes[0] == 'E') throw std::runtime_error("rank " + std::to_string(rank) + ": " + bytes.substr(1));
    ByteReader in(bytes, 'B', what);
    auto block = std::make_shared<OutputBlock>();
    block->window = in.get<Window>();
    const Window& w = block->window;
    if (w.x != expected.x || w.y != expected.y || w.width != expected.width || w.height != expected.height) {
        in.fail("is block " + describe_window(w.x, w.y, w.width, w.height));
    }
    block->combined = Map(w.width, w.height);
    block->combined.values = in.get_array<float>();
    block->lovi = in.get_array<uint8_t>();
    block->cars.inside_sum = in.get_array<double>();
    block->cars.elsewhere_sum = in.get_array<double>();
    block->cars.inside_pixels = in.get<int64_t>();
    block->cars.elsewhere_pixels = in.get<int64_t>();
    in.end();
    const auto pixels = static_cast<std::size_t>(w.width * w.height);
    if (block->combined.values.size() != pixels || block->lovi.size() != 3 * pixels) in.fail("has the wrong size");
    return block;
}

double seconds_between(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int pass2_block_owner(int64_t index, int ranks) {
    return ranks <= 1 ? 0 : 1 + static_cast<int>(index % (ranks - 1));
}

std::string encode_moments(const std::vector<MapMoments>& moments) {
    ByteWriter out('M');
    out.put<uint64_t>(moments.size());
    for (const MapMoments& m : moments) {
        out.put(m.count);
        out.put(m.mean_value);
        out.put(m.m2);
        out.put(m.min);
        out.put(m.max);
        out.put(m.log_count);
        out.put(m.log_sum);
    }
    return out.take();
}

std::vector<MapMoments> decode_moments(const std::string& bytes) {
    ByteReader in(bytes, 'M', "the scene's moments from rank 0");
    const auto layers = in.get<uint64_t>();
    if (layers > 1024) in.fail("claims " + std::to_string(layers) + " layers");
    std::vector<MapMoments> moments(static_cast<std::size_t>(layers));
    for (MapMoments& m : moments) {
        m.count = in.get<int64_t>();
        m.mean_value = in.get<double>();
        m.m2 = in.get<double>();
        m.min = in.get<double>();
        m.max = in.get<double>();
        m.log_count = in.get<int64_t>();
        m.log_sum = in.get<double>();
    }
    in.end();
    return moments;
}

void send_pass2_error(const std::string& message, int64_t blocks, int rank, int ranks,
                      const std::function<void(int64_t index, const std::string& block)>& send) {
    for (int64_t index = 0; index < blocks; ++index) {
        if (pass2_block_owner(index, ranks) == rank) send(index, encode_error(message));
    }
}

Pass2ShareTimes compute_pass2_share(const RunSetup& setup, const Pass2Inputs& inputs, int rank, int ranks,
                                    const std::function<void(int64_t index, const std::string& block)>& send) {
    Pass2ShareTimes times;
    const int64_t out_width = ceil_div(inputs.grid.scene_width(), inputs.output_scale);
    const int64_t out_height = ceil_div(inputs.grid.scene_height(), inputs.output_scale);
    const int64_t count = ceil_div(out_width, kOutputBlock) * ceil_div(out_height, kOutputBlock);
    std::optional<Pass2Blocks> blocks;
    try {
        blocks.emplace(setup, inputs);
    } catch (const std::exception& error) {
        times.error = error.what();
    }
    std::atomic<int64_t> compute_ns{0};
    int64_t next = 0;
    auto own_next = [&]() {
        while (next < count && pass2_block_owner(next, ranks) != rank) ++next;
        return next < count;
    };
    const std::size_t tokens = 2 * static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::parallel_pipeline(
        tokens,
        tbb::make_filter<void, int64_t>(tbb::filter_mode::serial_in_order,
                                        [&](tbb::flow_control& control) -> int64_t {
                                            if (!own_next()) {
                                                control.stop();
                                                return 0;
                                            }
                                            return next++;
                                        }) &
            tbb::make_filter<int64_t, std::pair<int64_t, std::string>>(
                tbb::filter_mode::parallel,
                [&](int64_t index) {
                    if (!blocks) return std::make_pair(index, encode_error(times.error));
                    const auto start = std::chrono::steady_clock::now();
                    std::string bytes;
                    try {
                        bytes = encode_block(*blocks->compute(index));
                    } catch (const std::exception& error) {
                        bytes = encode_error(error.what());
                    }
                    compute_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - start).count();
                    return std::make_pair(index, std::move(bytes));
                }) &
            tbb::make_filter<std::pair<int64_t, std::string>, void>(
                tbb::filter_mode::serial_in_order, [&](const std::pair<int64_t, std::string>& block) {
                    if (times.error.empty() && block.second[0] == 'E') times.error = block.second.substr(1);
                    const auto start = std::chrono::steady_clock::now();
                    send(block.first, times.error.empty() ? block.second : encode_error(times.error));
                    times.send_seconds += seconds_between(start);
                    ++times.blocks;
                }));
    times.compute_seconds = static_cast<double>(compute_ns.load()) * 1e-9;
    return times;
}

CarSaliency run_pass2(const RunSetup& setup, const Pass2Inputs& inputs, SaliencyProduct& product,
                      Quicklook& quicklook) {
    Pass2Blocks blocks(setup, inputs);
    Pass2Split* split = inputs.method ? nullptr : setup.pass2_split;  // method runs: rank 0 alone
    const int ranks = split ? split->ranks : 1;
    CarSaliency cars;
    std::atomic<int64_t> compute_ns{0};
    double receive_seconds = 0, tiff_seconds = 0, rest_seconds = 0;
    // Two writers in raster order, each on one thread at a time but overlapping each other (they
    // were one serial stage, which set pass 2's pace): the GeoTIFFs (compression, overviews), then
    // saliency.h5, the method's datasets, the car sums and the quicklook samples.
    auto write_tiffs = [&](const OutputBlockPtr& block) {
        const auto start = std::chrono::steady_clock::now();
        const Map& shown = block->method ? block->method->shown : block->combined;
        product.write_block_tiffs(block->window, block->combined.data(), block->lovi.data(), shown.data());
        tiff_seconds += seconds_between(start);
        return block;
    };
    auto write_rest = [&](const OutputBlockPtr& block) {
        const auto start = std::chrono::steady_clock::now();
        const Map& shown = block->method ? block->method->shown : block->combined;
        product.write_block_h5(block->window, block->combined.data(), block->lovi.data());
        if (block->method) inputs.method->write(block->window, *block->method, product);
        if (!block->cars.inside_sum.empty()) cars.merge(block->cars);
        quicklook.sample_combined(block->window.x, block->window.y, shown);
        rest_seconds += seconds_between(start);
    };
    const int64_t count = blocks.block_count();
    std::vector<uint8_t> received(static_cast<std::size_t>(count), 0);  // blocks another rank computed
    // Blocks of other ranks are received in order (a serial stage), so rank 0 never waits for a
    // block whose rank is still blocked sending an earlier one.
    auto receive = [&](std::pair<int64_t, OutputBlockPtr> item) {
        if (item.second) return item.second;
        const auto start = std::chrono::steady_clock::now();
        const int owner = pass2_block_owner(item.first, ranks);
        const std::string bytes = split->receive(owner, item.first);
        received[static_cast<std::size_t>(item.first)] = 1;
        OutputBlockPtr block = decode_block(bytes, owner, blocks.window(item.first));
        receive_seconds += seconds_between(start);
        return block;
    };
    if (split) {
        split->start(count, encode_moments(inputs.moments));
        split->started = true;
    }
    int64_t next = 0, local = 0;
    const std::size_t tokens = 3 * static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency()));
    try {
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
                tbb::make_filter<int64_t, std::pair<int64_t, OutputBlockPtr>>(
                    tbb::filter_mode::parallel,
                    [&](int64_t index) {
                        if (pass2_block_owner(index, ranks) != 0) return std::make_pair(index, OutputBlockPtr());
                        const auto start = std::chrono::steady_clock::now();
                        OutputBlockPtr block = blocks.compute(index);
                        compute_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now() - start).count();
                        return std::make_pair(index, std::move(block));
                    }) &
                tbb::make_filter<std::pair<int64_t, OutputBlockPtr>, OutputBlockPtr>(tbb::filter_mode::serial_in_order,
                                                                                     receive) &
                tbb::make_filter<OutputBlockPtr, OutputBlockPtr>(tbb::filter_mode::serial_in_order, write_tiffs) &
                tbb::make_filter<OutputBlockPtr, void>(tbb::filter_mode::serial_in_order, write_rest));
    } catch (...) {
        // The other ranks send every block they own: take the ones not received, so none waits.
        for (int64_t index = 0; split && index < count; ++index) {
            const int owner = pass2_block_owner(index, ranks);
            if (owner == 0 || received[static_cast<std::size_t>(index)]) continue;
            try {
                split->receive(owner, index);
            } catch (const std::exception&) {
            }
        }
        throw;
    }
    for (int64_t index = 0; index < count; ++index) local += pass2_block_owner(index, ranks) == 0 ? 1 : 0;
    if (split) {
        split->blocks = count;
        split->local_blocks = local;
        split->compute_seconds = static_cast<double>(compute_ns.load()) * 1e-9;
        split->receive_seconds = receive_seconds;
        split->write_seconds = tiff_seconds + rest_seconds;  // busy time of the two writers together
    }
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
