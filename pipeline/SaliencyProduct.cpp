#include "pipeline/SaliencyProduct.hpp"

#include "pipeline/OutputStaging.hpp"
#include "pipeline/Version.hpp"

namespace satsal {
namespace {

std::string layer_name(std::size_t k) { return "L" + std::to_string(k + 1); }

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

}  // namespace

SaliencyProduct::SaliencyProduct(OutputStaging& staging, const SaliencyProductOptions& o) {
    const int width = static_cast<int>(o.width), height = static_cast<int>(o.height);
    saliency_tif_ = std::make_unique<GeoTiffWriter>(staging.path("saliency.tif"), width, height, 1,
                                                    SampleType::Float32, o.geo, o.combined_tiff);
    if (o.lovi_tiff) {
        lovi_tif_ = std::make_unique<GeoTiffWriter>(staging.path("lovi.tif"), width, height, 3, SampleType::Byte,
                                                    o.geo, *o.lovi_tiff);
    }
    if (o.layer_tiffs) {
        for (std::size_t k = 0; k < o.layers.size(); ++k) {
            const ProductLayer& layer = o.layers[k];
            GeoTiffOptions options = *o.layer_tiffs;
            options.band_descriptions = {"layer " + layer_name(k) + " (" + layer.tap + ", stride " +
                                         std::to_string(layer.stride) + "), normalized"};
            layer_tifs_.push_back(std::make_unique<GeoTiffWriter>(
                staging.path("layer_" + layer_name(k) + ".tif"), static_cast<int>(layer.width),
                static_cast<int>(layer.height), 1, SampleType::Float32, layer.geo, options));
        }
    }
    h5_ = std::make_unique<Hdf5Writer>(staging.path("saliency.h5"), o.h5_deflate_level);
    h5_->define_grid("", o.width, o.height, o.geo);
    h5_->create_group("/layers");
    h5_->create_group("/layers_normalized");
    h5_->create_float_map("/combined", "");
    h5_->create_byte_image("/lovi", "", 3);
    for (std::size_t k = 0; k < o.layers.size(); ++k) {
        const std::string name = layer_name(k);
        h5_->define_grid(name, o.layers[k].width, o.layers[k].height, o.layers[k].geo);
        h5_->create_float_map("/layers/" + name, name);
        h5_->create_float_map("/layers_normalized/" + name, name);
    }
}

SaliencyProduct::~SaliencyProduct() = default;

void SaliencyProduct::write_block(const Window& window, const float* combined, const uint8_t* lovi) {
    const int x = static_cast<int>(window.x), y = static_cast<int>(window.y);
    const int w = static_cast<int>(window.width), h = static_cast<int>(window.height);
    saliency_tif_->write_window(1, x, y, w, h, combined);
    if (lovi_tif_) lovi_tif_->write_window_interleaved(x, y, w, h, lovi);
    h5_->write_window("/combined", window.x, window.y, window.width, window.height, combined);
    h5_->write_window("/lovi", window.x, window.y, window.width, window.height, lovi);
}

void SaliencyProduct::write_layer_block(std::size_t k, const Window& window, const float* raw,
                                        const float* normalized) {
    const std::string name = layer_name(k);
    h5_->write_window("/layers/" + name, window.x, window.y, window.width, window.height, raw);
    h5_->write_window("/layers_normalized/" + name, window.x, window.y, window.width, window.height, normalized);
    if (!layer_tifs_.empty()) {
        layer_tifs_[k]->write_window(1, static_cast<int>(window.x), static_cast<int>(window.y),
                                     static_cast<int>(window.width), static_cast<int>(window.height), normalized);
    }
}

void SaliencyProduct::finish(const SaliencyAttributes& a) {
    h5_->set_attribute("/", "statistic", a.statistic);
    h5_->set_attribute("/", "normalization", a.normalization);
    if (a.normalize) h5_->set_attribute("/", "normalize", *a.normalize);
    h5_->set_attribute("/", "weights", a.weights);
    h5_->set_attribute("/", "taps", join(a.taps));
    h5_->set_attribute("/", "strides", a.strides);
    h5_->set_attribute("/", "model_sha256", a.model_sha256);
    h5_->set_attribute("/", "satsal_version", satsal_version());
    h5_->set_attribute("/", "input", a.input);
    if (a.output_scale) h5_->set_attribute("/", "output_scale", std::vector<int64_t>{*a.output_scale});
    saliency_tif_->finish();
    if (lovi_tif_) lovi_tif_->finish();
    for (auto& tiff : layer_tifs_) tiff->finish();
    h5_->finish();
}

}  // namespace satsal
