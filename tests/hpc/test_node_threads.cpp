#include "hpc/NodeThreads.hpp"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <filesystem>

using satsal::hpc::BlasLibrary;
using satsal::hpc::classify_blas;
using satsal::hpc::loaded_blas;
using satsal::hpc::single_thread_blas_warning;
using satsal::hpc::threads_per_process;

TEST_CASE("classify_blas names Debian's reference BLAS by its folder, optimized ones by their entry points", "[hpc]") {
    CHECK(classify_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", false, false, false) == "reference");
    CHECK(classify_blas("/usr/lib/aarch64-linux-gnu/blas/libblas.so.3", false, false, false) == "reference");
    CHECK(classify_blas("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", true, false, false) == "OpenBLAS");
    CHECK(classify_blas("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3", false, true, false) == "BLIS");
    CHECK(classify_blas("/opt/intel/mkl/lib/libmkl_rt.so.2", false, false, true) == "MKL");
    // An optimized BLAS wins even when it sits in a folder called blas.
    CHECK(classify_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", true, false, false) == "OpenBLAS");
    CHECK(classify_blas("/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3", false, false, false) == "unknown");
    CHECK(classify_blas("", false, false, false) == "unknown");
}

TEST_CASE("loaded_blas finds the library that provides sgemm_ through the alternatives' symlinks", "[hpc]") {
    const std::filesystem::path generic = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
    if (!std::filesystem::exists(generic)) {
        WARN("no " << generic << " on this machine: only the classification is tested");
        return;
    }
    void* handle = dlopen(generic.c_str(), RTLD_NOW | RTLD_GLOBAL);
    REQUIRE(handle != nullptr);
    const BlasLibrary blas = loaded_blas();
    CHECK(blas.path == std::filesystem::canonical(generic).string());
    CHECK(blas.name != "");
}

TEST_CASE("threads_per_process shares the node's cores between its processes", "[hpc]") {
    // single_thread_fast (MKL): the node's share, down to one thread.
    CHECK(threads_per_process(0, 64, 32, true) == 2);
    CHECK(threads_per_process(0, 64, 24, true) == 2);
    CHECK(threads_per_process(0, 2, 2, true) == 1);
    CHECK(threads_per_process(0, 2, 3, true) == 1);
    CHECK(threads_per_process(0, 8, 1, true) == 8);
    CHECK(threads_per_process(3, 2, 2, true) == 3);  // what the config says is kept
    // Any other BLAS (reference, OpenBLAS, ...): never LibTorch single-threaded by default...
    CHECK(threads_per_process(0, 2, 2, false) == 2);
    CHECK(threads_per_process(0, 2, 3, false) == 2);
    CHECK(threads_per_process(0, 64, 64, false) == 2);
    CHECK(threads_per_process(0, 64, 16, false) == 4);
    CHECK(threads_per_process(0, 8, 1, false) == 8);
    // ...but an explicit threads = 1 is obeyed (and warned about by the caller with the reference BLAS).
    CHECK(threads_per_process(1, 2, 2, false) == 1);
}

TEST_CASE("single_thread_blas_warning speaks only for one thread on the reference BLAS", "[hpc]") {
    const BlasLibrary reference{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", "reference"};
    const std::string warning = single_thread_blas_warning(1, reference);
    CHECK_THAT(warning, Catch::Contains(reference.path));
    CHECK_THAT(warning, Catch::Contains("libopenblas0-openmp"));
    CHECK_THAT(warning, Catch::Contains("threads = 2"));
    CHECK(single_thread_blas_warning(2, reference).empty());
    CHECK(single_thread_blas_warning(1, BlasLibrary{"/x/openblas-openmp/libblas.so.3", "OpenBLAS"}).empty());
}
