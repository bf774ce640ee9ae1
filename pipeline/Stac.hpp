#pragma once
// STAC metadata of a run: a STAC 1.0.0 Item per scene (`<scene folder>/item.json`, with the
// projection extension) and a Collection over the run (`<output_dir>/collection.json`), so that
// catalog tools (pystac, stac-browser, QGIS's STAC source, GDAL's STACIT driver) find every
// output with its role and media type.
//
//   item.json        id = the scene name; geometry and bbox in WGS 84 (the scene's footprint
//                    transformed with OGR, edges densified); proj:epsg (null when the CRS has no
//                    EPSG code), proj:wkt2, proj:shape and proj:transform of saliency.tif, and per
//                    GeoTIFF asset its own shape and transform (layer maps, counts.tif differ);
//                    datetime = when satsal made the outputs (inputs carry no acquisition time
//                    satsal could trust); satsal:* properties; links to ../collection.json.
//                    Scenes without georeferencing get geometry null and no bbox.
//   collection.json  links to every scene's item, the union of their bboxes, the time interval.
//
// Thread rules: one thread; no shared state.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace satsal {

/// The STAC media type and roles of an output file name (empty type for names satsal does not write).
struct StacAssetKind {
    std::string media_type;
    std::vector<std::string> roles;
    std::string title;
};
StacAssetKind stac_asset_kind(const std::string& file_name, bool cog);

/// Writes `<folder>/item.json` describing every file already in `folder` (its outputs).
/// `properties` are added to the item's properties (satsal:* keys). A non-empty `derived_from`
/// (the STAC item the input scene came from) is linked with rel "derived_from".
void write_stac_item(const std::string& folder, const std::string& id, bool cog,
                     const nlohmann::ordered_json& properties, const std::string& derived_from = "");

/// Writes `<output_dir>/collection.json` linking the items of `scene_folders` (those holding an
/// item.json; the others are skipped).
void write_stac_collection(const std::string& output_dir, const std::vector<std::string>& scene_folders);

}  // namespace satsal
