#pragma once
// counts.gpkg: the counting windows as vector features a GIS user can query (QGIS, ogr2ogr,
// GeoPandas), in the scene's CRS.
//
//   layer "windows"  one polygon per window core (clipped at the scene edge, so the polygons
//                    tile the scene): window, column, row, pixel bounds x0 y0 x1 y1, predicted
//                    (NULL where the window is nodata) and, when annotated, annotated
//   layer "cars"     one point per annotated car centre (pixel centre), with its window (only
//                    when annotations are given)
//
// Inputs without a CRS get features in their pixel coordinates and no SRS.
//
// Thread rules: one thread (its own GDAL dataset).
#include "cowc/Annotations.hpp"
#include "io/GeoReference.hpp"
#include "tiling/TileGrid.hpp"

#include <string>
#include <vector>

namespace satsal {

/// Writes `path` (a .gpkg name; GDAL's GPKG driver picks the format by it). `counts` per window
/// (tile index), -1 for nodata windows. IoError naming the file and GDAL's message on failure.
void write_count_geopackage(const std::string& path, const TileGrid& grid, const GeoReference& geo,
                            const std::vector<int>& counts, const cowc::ObjectPositions* cars);

}  // namespace satsal
