#include "io/PngWriter.hpp"

#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

namespace satsal {

void write_png(const std::string& path, int width, int height, int channels, const uint8_t* interleaved) {
    ensure_gdal_registered();
    const std::string where = "PNG '" + path + "'";
    if (width <= 0 || height <= 0) {
        throw IoError(where + ": invalid size " + std::to_string(width) + "x" + std::to_string(height));
    }
    if (channels < 1 || channels > 4) {
        throw IoError(where + ": expected 1 to 4 channels, got " + std::to_string(channels));
    }
    if (interleaved == nullptr) throw IoError(where + ": no pixel data");
    AtomicFile output(path);
    GdalErrorCapture errors;
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
    if (mem == nullptr || png == nullptr) throw IoError(where + ": GDAL lacks the MEM or PNG driver");
    GDALDatasetUniquePtr image(mem->Create("", width, height, channels, GDT_Byte, nullptr));
    if (!image) throw IoError(where + ": cannot allocate the image" + errors.suffix());
    const CPLErr err = image->RasterIO(GF_Write, 0, 0, width, height, const_cast<uint8_t*>(interleaved), width,
                                       height, GDT_Byte, channels, nullptr, channels,
                                       static_cast<GSpacing>(channels) * width, 1, nullptr);
    if (err != CE_None) throw IoError(where + ": cannot fill the image" + errors.suffix());
    if (channels == 2 || channels == 4) {
        image->GetRasterBand(channels)->SetColorInterpretation(GCI_AlphaBand);
    }
    GDALDatasetUniquePtr written(
        png->CreateCopy(output.temp_path().c_str(), image.get(), FALSE, nullptr, nullptr, nullptr));
    if (!written || errors.failed()) throw IoError("cannot write " + where + errors.suffix());
    written.reset();
    if (errors.failed()) throw IoError("cannot close " + where + errors.suffix());
    // The PNG driver may leave a .aux.xml beside the temporary file for metadata PNG cannot hold.
    vsi_remove_quietly(output.temp_path() + ".aux.xml");
    output.commit();
}

}  // namespace satsal
