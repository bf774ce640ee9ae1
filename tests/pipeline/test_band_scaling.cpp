// plan_band_scaling: a constant band under `stretch` has no range; the plan maps it to 0 and says
// so in its warnings (the library prints nothing; `satsal run` shows them on stderr).
#include "io/RasterReader.hpp"
#include "io/RunConfig.hpp"
#include "pipeline/BandScaling.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace satsal;
using namespace satsal::ptest;

TEST_CASE("band scaling: a constant band under stretch is reported, not divided by zero", "[pipeline][scaling]") {
    TempDir dir;
    const std::string scene = dir.file("flat.tif");
    // Band 2 is 77 everywhere; bands 1 and 3 vary.
    write_tiff(scene, 64, 48, 3, GDT_Byte, [](int b, int64_t x, int64_t y) {
        return b == 1 ? 77.0 : texture_value(b, x, y);
    });
    RunConfig config;
    config.stretch = ValueRange{2, 98};
    const BandScaling scaling = plan_band_scaling(config, RasterReader(scene));
    REQUIRE(scaling.warnings.size() == 1);
    CHECK(scaling.warnings[0] ==
          scene + " band 2 is constant (77) between the stretch percentiles 2 and 98; it becomes 0");
    CHECK(scaling.low[1] == 77);
    CHECK(scaling.high[1] == 78);
    CHECK(scaling.unit(1, 77.0f) == 0.0f);
    CHECK(scaling.rule == "stretch");
    // The varying bands have a range and no warning.
    CHECK(scaling.high[0] > scaling.low[0]);
    CHECK(scaling.high[2] > scaling.low[2]);
}
