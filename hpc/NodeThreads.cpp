#include "hpc/NodeThreads.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>

namespace satsal::hpc {

std::string classify_blas(const std::string& resolved_path, bool has_openblas, bool has_blis, bool has_mkl) {
    if (has_openblas) return "OpenBLAS";
    if (has_blis) return "BLIS";
    if (has_mkl) return "MKL";
    const std::filesystem::path path(resolved_path);
    const std::string file = path.filename().string();
    if (path.parent_path().filename() == "blas" && file.rfind("libblas.so", 0) == 0) return "reference";
    return "unknown";
}

BlasLibrary loaded_blas() {
    BlasLibrary blas;
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    if (sgemm == nullptr) {
        blas.name = "unknown";
        return blas;
    }
    Dl_info info{};
    if (dladdr(sgemm, &info) != 0 && info.dli_fname != nullptr) {
        std::error_code error;
        const auto resolved = std::filesystem::canonical(info.dli_fname, error);
        blas.path = error ? std::string(info.dli_fname) : resolved.string();
    }
    const auto has = [](const char* symbol) { return dlsym(RTLD_DEFAULT, symbol) != nullptr; };
    blas.name = classify_blas(blas.path, has("openblas_get_config"), has("bli_info_get_version_str"),
                              has("mkl_get_version_string") || has("MKL_Get_Version"));
    return blas;
}

int threads_per_process(int configured, int cores, int processes_on_node, bool single_thread_fast) {
    if (configured > 0) return configured;
    const int share = std::max(1, std::max(1, cores) / std::max(1, processes_on_node));
    return single_thread_fast ? share : std::max(2, share);
}

std::string single_thread_blas_warning(int threads, const BlasLibrary& blas) {
    if (threads != 1 || !blas.reference()) return {};
    return "LibTorch runs on 1 thread here, and on 1 thread it computes 1x1 convolutions through the system BLAS, "
           "which is the slow reference BLAS (" + blas.path + "): ResNet-50 takes about 6x the CPU time it takes on "
           "2 threads. Give each process at least 2 threads (threads = 2; under mpirun, fewer ranks per node), or "
           "install an optimized BLAS (Debian: apt-get install libopenblas0-openmp; one thread then costs about 1.5x "
           "the CPU of two, not 6x).";
}

}  // namespace satsal::hpc
