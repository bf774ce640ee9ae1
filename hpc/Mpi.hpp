#pragma once
// MPI for satsal, behind a header without MPI types: `mpirun -np N satsal run CONFIG` (or `srun`)
// gives each rank scenes on demand. Builds without MPI compile the same interface; launching such
// a build under mpirun is refused with a message (it would run N copies of the whole batch).
//
// Thread rules: MPI is initialized with MPI_THREAD_MULTIPLE; rank 0 runs a dispatcher thread that
// answers work requests while its main thread works too, so no rank is idle as a coordinator.
#include <functional>
#include <string>
#include <vector>

namespace satsal::hpc {

/// True when this binary was built with MPI.
bool mpi_built();
/// "Open MPI v4.1.4, ..." (the library's first line), or "not built in".
std::string mpi_library_version();

/// True when the process was started by an MPI launcher (mpirun/mpiexec from Open MPI or MPICH,
/// or srun with PMI/PMIx) with more than one rank, judged from the launcher's environment.
bool launched_under_mpi();

/// Ranks on this node (for dividing the cores between them); 1 outside MPI.
int local_ranks_from_environment();

/// MPI_Init_thread / MPI_Finalize for the process's lifetime. Throws std::runtime_error when MPI
/// is not built in or does not grant MPI_THREAD_MULTIPLE.
class MpiSession {
public:
    MpiSession();
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;
    int rank() const { return rank_; }
    int size() const { return size_; }

    /// Runs work(i) for i in [0, n): each rank asks rank 0 for the next index whenever it is
    /// free, so a rank with short scenes takes more of them. Collective: every rank calls it.
    /// Returns, on rank 0, every index's result in index order; on other ranks, an empty vector.
    /// An exception escaping work() on any rank stops every rank (abort_all with its message).
    std::vector<std::string> distribute(int n, const std::function<std::string(int)>& work) const;

    /// Rank 0's `text` on every rank (collective; other ranks' argument is ignored). Waiting
    /// ranks sleep between probes instead of spinning.
    std::string broadcast(const std::string& text) const;
    /// Every rank's `text`, in rank order, on rank 0; an empty vector elsewhere (collective).
    std::vector<std::string> gather(const std::string& text) const;

    /// Point-to-point messages of callers' own protocols (a shared scene's pass-2 blocks): tags
    /// from kUserTag on (below 2^15, what every MPI allows). send returns once the message is
    /// received; both wait sleeping (at most 2 ms between probes) instead of spinning.
    static constexpr int kUserTag = 100;
    void send(const std::string& text, int destination, int tag) const;
    std::string receive(int source, int tag) const;

    /// Prints "satsal: rank R: message" and stops every rank (MPI_Abort, exit code 1).
    [[noreturn]] void abort_all(const std::string& message) const;

private:
    int rank_ = 0;
    int size_ = 1;
};

}  // namespace satsal::hpc
