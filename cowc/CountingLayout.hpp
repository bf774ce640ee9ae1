#pragma once
// The input layout of satsal's COWC counting network, shared by training (CountingTrainer),
// evaluation (CountingEval) and counting over scenes.
//
// A COWC counting patch is 256 x 256 RGB with the scene in its central 192 x 192 and a margin of
// RGB (123,117,104). The network sees a 224 x 224 canvas filled with that colour with the central
// 192 x 192 content pasted at offset (16,16), as the original COWC counting nets did. Canvas
// pixels are then scaled to [0,1] and normalised with the ImageNet mean/std (the margin colour is
// the ImageNet mean times 255, so the border becomes ~0 after normalisation).
//
// Augmentation (training only) happens before the crop: the whole patch is flipped left-right
// (optional) and then rotated about its centre by a multiple of 15 degrees, counter-clockwise as
// displayed (the convention of cowc/PatchCutting.hpp), with bilinear sampling; samples that fall
// outside the patch take the margin colour. Multiples of 90 degrees use exact sines/cosines and
// reproduce the pixels exactly. Caveat: a rotation that is not a multiple of 90 degrees moves the
// corners of the 192 px content square outside the crop (about 17% of its area at 45 degrees),
// so cars there are lost while the label still counts them; see CountTrainOptions::rotation_step.
//
// Thread rules: pure functions on caller-owned buffers; safe from any thread.
#include <array>
#include <cstdint>

#include "cowc/PatchCutting.hpp"

namespace satsal::counting {

constexpr int kPatchSize = cowc::kPatchSize;        // COWC counting patch side (256)
constexpr int kContentSize = cowc::kPatchContent;  // the part of the patch that holds the scene (192)
constexpr int kInputSize = 224;                    // network input side
constexpr int kCanvasOffset = (kInputSize - kContentSize) / 2;  // 16: content origin in the canvas
constexpr std::array<std::uint8_t, 3> kMarginColour = cowc::kPatchMarginColour;  // (123, 117, 104)
// Normalisation of [0,1] pixels: (value - mean) / std per channel (ImageNet figures).
constexpr std::array<float, 3> kNormMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kNormStd = {0.229f, 0.224f, 0.225f};

/// Flip then rotate, applied to the patch about its centre before the content is cropped.
struct PatchTransform {
    int rotation_degrees = 0;  ///< counter-clockwise as displayed; any integer (taken mod 360)
    bool flip = false;         ///< mirror left-right first

    bool is_identity() const { return !flip && ((rotation_degrees % 360) + 360) % 360 == 0; }
};

/// Fills `canvas` (224 x 224 x 3, interleaved RGB, row-major) from an interleaved RGB patch of
/// `width` x `height` pixels (normally 256 x 256): margin colour everywhere, then the central
/// 192 x 192 of the transformed patch at (16,16). The content square is centred on the patch
/// centre (width/2, height/2), so a patch of another size contributes its own central 192 px
/// (missing pixels take the margin colour). Throws std::invalid_argument for an empty patch.
void compose_count_canvas(const std::uint8_t* patch_rgb, int width, int height,
                          const PatchTransform& transform, std::uint8_t* canvas);

/// Converts a composed canvas (224 x 224 x 3 interleaved) to the normalised planar float input
/// [3][224][224] the network takes.
void canvas_to_input(const std::uint8_t* canvas, float* input_chw);

}  // namespace satsal::counting
