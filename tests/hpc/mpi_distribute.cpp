// Run under mpirun by CTest (tests/hpc/CMakeLists.txt): MpiSession::distribute hands every index
// to exactly one rank and gathers the results on rank 0 in index order. Exit 0 on success.
#include "hpc/Mpi.hpp"

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>

int main() {
    satsal::hpc::MpiSession mpi;
    const int n = 23;
    std::set<int> done_here;
    const auto results = mpi.distribute(n, [&](int i) {
        // Uneven work: later indices are quicker, so dynamic dealing gives ranks different counts.
        std::this_thread::sleep_for(std::chrono::milliseconds(i % 3 == 0 ? 30 : 2));
        done_here.insert(i);
        return "index " + std::to_string(i) + " by rank " + std::to_string(mpi.rank());
    });
    std::printf("rank %d did %zu of %d\n", mpi.rank(), done_here.size(), n);
    if (mpi.rank() != 0) return results.empty() ? 0 : 1;
    if (static_cast<int>(results.size()) != n) {
        std::printf("rank 0 gathered %zu results, expected %d\n", results.size(), n);
        return 1;
    }
    for (int i = 0; i < n; ++i) {
        const std::string prefix = "index " + std::to_string(i) + " by rank ";
        if (results[i].rfind(prefix, 0) != 0) {
            std::printf("result %d is '%s'\n", i, results[i].c_str());
            return 1;
        }
    }
    return 0;
}
