#pragma once
// How many LibTorch threads a process (an MPI rank, a shard) should use on a node it shares, and
// why one thread can be a trap.
//
// LibTorch 1.13 sends a stride-1 1x1 convolution with a batch under 16 to its native path (im2col +
// the system BLAS's sgemm_) instead of oneDNN whenever it runs single-threaded ("THNN is faster
// when single-threaded" holds with MKL). Debian's libtorch links the generic libblas.so.3, which is
// the reference (netlib) BLAS unless an optimized one is installed: then one thread costs about 6x
// the CPU of two on ResNet-50, whose bottlenecks are two thirds 1x1 convolutions (measured in
// docs/SCALING.md). OpenBLAS makes that path about 4.5x cheaper, but one thread still cost 1.4-1.6x
// the CPU of two threads sharing one core (docs/SCALING.md: 11.1 against 7.3 CPU s per scene; a
// batch under mpirun -np 2, 40.8 against 25.9): only with MKL is LibTorch's single-thread path the
// fast one.
#include <string>

namespace satsal::hpc {

/// The BLAS that provides sgemm_ in this process, as far as it can be told.
struct BlasLibrary {
    std::string path;  ///< the shared object's resolved path; empty when sgemm_ is not loaded
    std::string name;  ///< "OpenBLAS", "BLIS", "MKL", "reference", or "unknown"
    /// True for the reference BLAS (Debian's /usr/lib/<arch>/blas/ package libblas3).
    bool reference() const { return name == "reference"; }
};

/// Looks up sgemm_ among the loaded libraries (no BLAS is loaded by this call).
BlasLibrary loaded_blas();

/// Names a reference BLAS from its resolved path and whether optimized-BLAS entry points are
/// loaded: Debian installs the reference BLAS as <libdir>/blas/libblas.so.3.*.
std::string classify_blas(const std::string& resolved_path, bool has_openblas, bool has_blis, bool has_mkl);

/// LibTorch threads per process when `configured` is 0 ("all cores"): the node's cores divided by
/// the processes on the node, and at least 2 unless `single_thread_fast` (the BLAS is MKL): two
/// threads on one core cost less than one thread's native 1x1 convolutions with the reference BLAS
/// (6x) and with OpenBLAS (1.4-1.6x). A positive `configured` is kept.
int threads_per_process(int configured, int cores, int processes_on_node, bool single_thread_fast);

/// The warning to print when a process runs LibTorch on one thread with the reference BLAS (empty
/// otherwise): what it costs and the two ways out.
std::string single_thread_blas_warning(int threads, const BlasLibrary& blas);

}  // namespace satsal::hpc
