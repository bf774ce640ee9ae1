// Pass 2 split across MPI ranks (pipeline/Pass2Blocks.hpp): who computes which block, and the
// scene moments rank 0 sends to the other ranks. The end-to-end check (outputs of -np 2 and 3
// identical to one process) is tests/hpc/mpi_run_test.sh.
#include "pipeline/Pass2Blocks.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>

using namespace satsal;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("pass-2 blocks: one process computes all; with more ranks rank 0 only writes", "[pass2_split]") {
    for (int64_t index = 0; index < 10; ++index) CHECK(pass2_block_owner(index, 1) == 0);
    std::map<int, int> per_rank;
    for (int64_t index = 0; index < 10; ++index) ++per_rank[pass2_block_owner(index, 3)];
    CHECK(per_rank.count(0) == 0);
    CHECK(per_rank[1] == 5);
    CHECK(per_rank[2] == 5);
    CHECK(pass2_block_owner(0, 3) == 1);
    CHECK(pass2_block_owner(1, 3) == 2);
    CHECK(pass2_block_owner(7, 2) == 1);
}

TEST_CASE("pass-2 moments travel between ranks bit for bit", "[pass2_split]") {
    std::vector<MapMoments> moments(3);
    moments[0].count = 1234567;
    moments[0].mean_value = 0.1 + 0.2;  // not a short decimal
    moments[0].m2 = 1.0 / 3.0;
    moments[0].min = -std::numeric_limits<double>::denorm_min();
    moments[0].max = 7.25e300;
    moments[0].log_count = 1234567;
    moments[0].log_sum = -std::exp(1.0);
    moments[1].mean_value = std::nan("");  // an empty layer
    const std::vector<MapMoments> back = decode_moments(encode_moments(moments));
    REQUIRE(back.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(back[k].count == moments[k].count);
        CHECK(back[k].log_count == moments[k].log_count);
        CHECK(same_bits(back[k].mean_value, moments[k].mean_value));
        CHECK(same_bits(back[k].m2, moments[k].m2));
        CHECK(same_bits(back[k].min, moments[k].min));
        CHECK(same_bits(back[k].max, moments[k].max));
        CHECK(same_bits(back[k].log_sum, moments[k].log_sum));
    }
    CHECK(std::isinf(back[2].min));  // an untouched layer keeps +inf / -inf
}

TEST_CASE("pass-2 moments: damaged bytes are refused with what is wrong", "[pass2_split]") {
    const std::string bytes = encode_moments(std::vector<MapMoments>(2));
    CHECK_THROWS_WITH(decode_moments(bytes.substr(0, bytes.size() - 3)),
                      Catch::Contains("the scene's moments from rank 0 is truncated"));
    CHECK_THROWS_WITH(decode_moments(bytes + "x"), Catch::Contains("1 bytes past its end"));
    CHECK_THROWS_WITH(decode_moments("B" + bytes.substr(1)), Catch::Contains("does not start with 'M'"));
    CHECK_THROWS_WITH(decode_moments(""), Catch::Contains("does not start with 'M'"));
}
