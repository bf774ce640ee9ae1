#pragma once
// quicklook.png: point samples of the combined map (from pass 2) over point samples of the scene's
// [0, 1] input (taken from the tiles as pass 1 reads them, so the scene is never read twice),
// at most 1024 px on a side.
//
// Thread rules: sample_input may run on several threads at once (tiles' cores are disjoint, so
// they write disjoint pixels); sample_combined runs on one thread (the pass-2 writer).
#include "io/GeoReference.hpp"
#include "saliency/Map.hpp"
#include "tiling/Window.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

class Quicklook {
public:
    /// For an output grid of out_width x out_height pixels, each `output_scale` scene pixels wide.
    Quicklook(int64_t out_width, int64_t out_height, int64_t output_scale);

    /// Samples the quicklook pixels whose scene position lies in `core` from planar [0, 1] data
    /// covering `window` (bands in model order; the first three, or the one repeated).
    void sample_input(const Window& core, const Window& window, const float* unit, int64_t bands);
    /// Samples the quicklook pixels inside an output block of the combined map.
    void sample_combined(int64_t x0, int64_t y0, const Map& block);
    /// The combined map over a gray version of the input, RGBA: transparent where the combined
    /// map is nodata, with the heat legend strip (QuicklookLegend.hpp) appended below the image.
    /// With a geotransform, `world_file` (quicklook.pgw) locates the image part (the strip lies
    /// south of the scene); with a CRS too, `aux_xml` (quicklook.png.aux.xml, GDAL's PAM file)
    /// holds the CRS. Pass "" for the files that cannot be written.
    void write_png(const std::string& path, const GeoReference& geo, const std::string& world_file,
                   const std::string& aux_xml) const;
    /// The georeference of quicklook pixels for a scene located by `scene_geo`.
    GeoReference georeference(const GeoReference& scene_geo) const;

private:
    int64_t factor_ = 1;        // output pixels per quicklook pixel
    int64_t scene_factor_ = 1;  // scene pixels per quicklook pixel (factor * output_scale)
    Map combined_;
    std::vector<uint8_t> rgb_;  // [h][w][3]
};

}  // namespace satsal
