#include "io/PngWriter.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <cpl_string.h>

namespace satsal {

void write_png_from(const std::string& path, GDALDataset& source, int zlevel) {
    ensure_gdal_registered();
    const std::string where = "PNG '" + path + "'";
    if (zlevel < 0 || zlevel > 9) {
        throw IoError(where + ": zlib level must be 1..9 (or 0 for the default), got " + std::to_string(zlevel));
    }
    AtomicFile output(path);
    GdalErrorCapture errors;
    GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
    if (png == nullptr) throw IoError(where + ": GDAL lacks the PNG driver");
    CPLStringList options;
    if (zlevel > 0) options.SetNameValue("ZLEVEL", std::to_string(zlevel).c_str());
    GDALDatasetUniquePtr written(
        png->CreateCopy(output.temp_path().c_str(), &source, FALSE, options.List(), nullptr, nullptr));
    if (!written || errors.failed()) throw IoError("cannot write " + where + errors.suffix());
    written.reset();
    if (errors.failed()) throw IoError("cannot close " + where + errors.suffix());
    // The PNG driver may leave a .aux.xml beside the temporary file for metadata PNG cannot hold.
    vsi_remove_quietly(output.temp_path() + ".aux.xml");
    output.commit();
}

void write_png(const std::string& path, int width, int height, int channels, const uint8_t* interleaved,
               int zlevel) {
    ensure_gdal_registered();
    const std::string where = "PNG '" + path + "'";
    if (width <= 0 || height <= 0) {
        throw IoError(where + ": invalid size " + std::to_string(width) + "x" + std::to_string(height));
    }
    if (channels < 1 || channels > 4) {
        throw IoError(where + ": expected 1 to 4 channels, got " + std::to_string(channels));
    }
    if (interleaved == nullptr) throw IoError(where + ": no pixel data");
    GdalErrorCapture errors;
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    if (mem == nullptr) throw IoError(where + ": GDAL lacks the MEM driver");
    GDALDatasetUniquePtr image(mem->Create("", width, height, channels, GDT_Byte, nullptr));
    if (!image) throw IoError(where + ": cannot allocate the image" + errors.suffix());
    const CPLErr err = image->RasterIO(GF_Write, 0, 0, width, height, const_cast<uint8_t*>(interleaved), width,
                                       height, GDT_Byte, channels, nullptr, channels,
                                       static_cast<GSpacing>(channels) * width, 1, nullptr);
    if (err != CE_None) throw IoError(where + ": cannot fill the image" + errors.suffix());
    if (channels == 2 || channels == 4) {
        image->GetRasterBand(channels)->SetColorInterpretation(GCI_AlphaBand);
    }
    write_png_from(path, *image, zlevel);
}

}  // namespace satsal
