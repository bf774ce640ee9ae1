// seam_errors (`satsal seams` and margin = auto): zero on a model whose
// receptive fields never cross the stride grid, and falling with the margin on a real CNN.
#include "model/TappedModel.hpp"
#include "pipeline/Seams.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace satsal;
using namespace satsal::ptest;

namespace {

/// A 256 x 256 probe of textured pixels, standardized with the ImageNet mean/std.
SeamProbe make_probe(int64_t side = 256) {
    SeamProbe probe;
    probe.width = side;
    probe.height = side;
    probe.planar.resize(static_cast<std::size_t>(3 * side * side));
    for (int c = 0; c < 3; ++c)
        for (int64_t y = 0; y < side; ++y)
            for (int64_t x = 0; x < side; ++x)
                probe.planar[static_cast<std::size_t>((c * side + y) * side + x)] = static_cast<float>(
                    (texture_value(c, x, y) / 255.0 - kMean[static_cast<std::size_t>(c)]) / kStd[static_cast<std::size_t>(c)]);
    return probe;
}

}  // namespace

TEST_CASE("seams: the footprint model has no seam at any margin", "[pipeline][seams]") {
    set_torch_threads(2);
    const TappedModel model(footprint_model());
    REQUIRE(model.deepest_stride() == 32);
    const SeamProbe probe = make_probe();
    for (int64_t margin : {0, 32, 64}) {
        INFO("margin " << margin);
        const SeamMeasurement m = seam_errors(model, probe, 64, margin, 64, TapStatistic{}, 4);
        CHECK(m.tiles == 4);
        CHECK(m.margin == margin);
        REQUIRE(m.errors.size() == 5);
        for (std::size_t k = 0; k < m.errors.size(); ++k) {
            INFO("L" << k + 1 << " error " << m.errors[k]);
            CHECK(m.errors[k] >= 0.0);
            CHECK(m.errors[k] <= 1e-6);  // float rounding at most
        }
    }
}

TEST_CASE("seams: on tiny_resnet a larger margin lowers the deepest layer's seam error", "[pipeline][seams]") {
    set_torch_threads(2);
    const TappedModel model(tiny_resnet());
    const SeamProbe probe = make_probe();
    const SeamMeasurement none = seam_errors(model, probe, 64, 0, 64, TapStatistic{}, 4);
    const SeamMeasurement wide = seam_errors(model, probe, 64, 64, 64, TapStatistic{}, 4);
    REQUIRE(none.errors.size() == 5);
    REQUIRE(wide.errors.size() == 5);
    std::ostringstream measured;
    for (std::size_t k = 0; k < 5; ++k)
        measured << "L" << k + 1 << ": margin 0 " << none.errors[k] << ", margin 64 " << wide.errors[k] << "; ";
    INFO(measured.str());
    // Without context every layer's tile edges see padding instead of neighbours.
    CHECK(none.errors.back() > 1e-3);
    CHECK(wide.errors.back() < none.errors.back());
    CHECK(wide.errors.front() < none.errors.front());
}

TEST_CASE("seams: sizes off the stride grid and probes too small are refused", "[pipeline][seams][errors]") {
    const TappedModel model(footprint_model());
    const SeamProbe probe = make_probe(128);
    CHECK_THROWS_WITH(seam_errors(model, probe, 48, 0, 32, TapStatistic{}, 2),
                      Catch::Contains("tile size 48") && Catch::Contains("deepest stride 32"));
    CHECK_THROWS_WITH(seam_errors(model, probe, 64, 64, 32, TapStatistic{}, 2),
                      Catch::Contains("margin <= probe margin"));
    CHECK_THROWS_WITH(seam_errors(model, probe, 128, 0, 32, TapStatistic{}, 2),
                      Catch::Contains("the probe is 128x128") && Catch::Contains("128 px core plus 32 px"));
}
