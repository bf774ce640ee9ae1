#include "hpc/Mpi.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#ifdef SATSAL_WITH_MPI
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#endif

namespace satsal::hpc {
namespace {

int environment_int(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return 0;
    char* end = nullptr;
    const long parsed = std::strtol(value, &end, 10);
    return (*end == '\0' && parsed > 0 && parsed < 1000000000) ? static_cast<int>(parsed) : 0;
}

#ifdef SATSAL_WITH_MPI
// Open MPI's blocking receives poll at full speed: a dispatcher thread or a rank waiting for work
// or results would take a core from the forward passes. Waits probe and sleep in between, the sleep
// growing from 1 to 16 ms: a message waits at most 16 ms longer (once per scene), and an idle rank
// wakes 60 times a second instead of 1000 (a fixed 1 ms sleep cost an idle rank 2% of a core).
void receive_politely(void* buffer, int count, MPI_Datatype type, int source, int tag, MPI_Status* status,
                      std::chrono::microseconds longest = std::chrono::milliseconds(16)) {
    std::chrono::microseconds pause = std::min<std::chrono::microseconds>(std::chrono::milliseconds(1), longest);
    for (;;) {
        int ready = 0;
        MPI_Status probe;
        MPI_Iprobe(source, tag, MPI_COMM_WORLD, &ready, &probe);
        if (ready) {
            MPI_Recv(buffer, count, type, probe.MPI_SOURCE, tag, MPI_COMM_WORLD, status ? status : MPI_STATUS_IGNORE);
            return;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(2 * pause, longest);
    }
}

/// Waits for a non-blocking operation, sleeping between tests (at most `longest`).
void wait_politely(MPI_Request* request, std::chrono::microseconds longest) {
    std::chrono::microseconds pause(50);
    for (;;) {
        int done = 0;
        MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (done) return;
        std::this_thread::sleep_for(pause);
        pause = std::min(2 * pause, longest);
    }
}

constexpr int tag_request = 1;
constexpr int tag_index = 2;
constexpr int tag_result_size = 3;
constexpr int tag_result = 4;
constexpr int tag_done = 5;
constexpr int tag_broadcast = 6;
constexpr int tag_gather = 7;

void send_text(const std::string& text, int destination, int tag) {
    const long long size = static_cast<long long>(text.size());
    MPI_Send(&size, 1, MPI_LONG_LONG, destination, tag, MPI_COMM_WORLD);
    MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, destination, tag, MPI_COMM_WORLD);
}

std::string receive_text(int source, int tag) {
    long long size = 0;
    receive_politely(&size, 1, MPI_LONG_LONG, source, tag, nullptr);
    std::string text(static_cast<size_t>(size), '\0');
    MPI_Recv(text.data(), static_cast<int>(size), MPI_CHAR, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return text;
}
#endif

}  // namespace

bool mpi_built() {
#ifdef SATSAL_WITH_MPI
    return true;
#else
    return false;
#endif
}

std::string mpi_library_version() {
#ifdef SATSAL_WITH_MPI
    char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(text, &length);
    std::string version(text, static_cast<size_t>(length));
    const auto line_end = version.find_first_of("\r\n");
    return version.substr(0, line_end);
#else
    return "not built in";
#endif
}

bool launched_under_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
        if (environment_int(name) > 1) return true;
    }
    // srun starts every task with SLURM_NTASKS/SLURM_PROCID, but only a PMI-enabled launch
    // (srun --mpi=pmix or pmi2) is MPI.
    const bool pmi = std::getenv("PMIX_RANK") != nullptr || std::getenv("PMI_RANK") != nullptr;
    return pmi && environment_int("SLURM_NTASKS") > 1;
}

int local_ranks_from_environment() {
    for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
        if (const int n = environment_int(name)) return n;
    }
    return 1;
}

#ifdef SATSAL_WITH_MPI

MpiSession::MpiSession() {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
        throw std::runtime_error("MPI_Init_thread failed");
    }
    if (provided < MPI_THREAD_MULTIPLE) {
        MPI_Finalize();
        throw std::runtime_error("this MPI library does not grant MPI_THREAD_MULTIPLE, which satsal's rank 0 needs "
                                 "(its dispatcher thread answers work requests while it computes)");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiSession::abort_all(const std::string& message) const {
    std::fprintf(stderr, "satsal: rank %d of %d: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
}

std::vector<std::string> MpiSession::distribute(int n, const std::function<std::string(int)>& work) const {
    // Rank 0's dispatcher answers each request with the next index, then -1 once per rank.
    std::thread dispatcher;
    if (rank_ == 0) {
        dispatcher = std::thread([n, size = size_] {
            int next = 0, finished = 0;
            while (finished < size) {
                int ignored = 0;
                MPI_Status status;
                receive_politely(&ignored, 1, MPI_INT, MPI_ANY_SOURCE, tag_request, &status);
                const int index = next < n ? next++ : -1;
                if (index < 0) ++finished;
                MPI_Send(&index, 1, MPI_INT, status.MPI_SOURCE, tag_index, MPI_COMM_WORLD);
            }
        });
    }
    std::vector<std::pair<int, std::string>> mine;
    try {
        for (;;) {
            int request = 0, index = -1;
            MPI_Send(&request, 1, MPI_INT, 0, tag_request, MPI_COMM_WORLD);
            receive_politely(&index, 1, MPI_INT, 0, tag_index, nullptr);
            if (index < 0) break;
            mine.emplace_back(index, work(index));
        }
    } catch (const std::exception& error) {
        abort_all(error.what());
    }
    if (rank_ == 0) dispatcher.join();

    // Results to rank 0: a count, then (index, size, bytes) per result.
    std::vector<std::string> results;
    if (rank_ != 0) {
        const int count = static_cast<int>(mine.size());
        MPI_Send(&count, 1, MPI_INT, 0, tag_result_size, MPI_COMM_WORLD);
        for (const auto& [index, text] : mine) {
            const long long header[2] = {index, static_cast<long long>(text.size())};
            MPI_Send(header, 2, MPI_LONG_LONG, 0, tag_result_size, MPI_COMM_WORLD);
            MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, tag_result, MPI_COMM_WORLD);
        }
        // Wait (sleeping) until rank 0 has everything, so that no rank spins in MPI_Finalize
        // while rank 0 still computes its last scene.
        int done = 0;
        receive_politely(&done, 1, MPI_INT, 0, tag_done, nullptr);
        return results;
    }
    results.assign(static_cast<size_t>(n), std::string());
    for (auto& [index, text] : mine) results[static_cast<size_t>(index)] = std::move(text);
    for (int source = 1; source < size_; ++source) {
        int count = 0;
        receive_politely(&count, 1, MPI_INT, source, tag_result_size, nullptr);
        for (int k = 0; k < count; ++k) {
            long long header[2] = {0, 0};
            MPI_Recv(header, 2, MPI_LONG_LONG, source, tag_result_size, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            std::string text(static_cast<size_t>(header[1]), '\0');
            MPI_Recv(text.data(), static_cast<int>(header[1]), MPI_CHAR, source, tag_result, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            results.at(static_cast<size_t>(header[0])) = std::move(text);
        }
    }
    for (int rank = 1; rank < size_; ++rank) {
        const int done = 1;
        MPI_Send(&done, 1, MPI_INT, rank, tag_done, MPI_COMM_WORLD);
    }
    return results;
}

std::string MpiSession::broadcast(const std::string& text) const {
    if (rank_ != 0) return receive_text(0, tag_broadcast);
    for (int rank = 1; rank < size_; ++rank) send_text(text, rank, tag_broadcast);
    return text;
}

std::vector<std::string> MpiSession::gather(const std::string& text) const {
    if (rank_ != 0) {
        send_text(text, 0, tag_gather);
        return {};
    }
    std::vector<std::string> all{text};
    for (int rank = 1; rank < size_; ++rank) all.push_back(receive_text(rank, tag_gather));
    return all;
}

void MpiSession::send(const std::string& text, int destination, int tag) const {
    const long long size = static_cast<long long>(text.size());
    MPI_Request requests[2];
    MPI_Isend(&size, 1, MPI_LONG_LONG, destination, tag, MPI_COMM_WORLD, &requests[0]);
    MPI_Isend(text.data(), static_cast<int>(text.size()), MPI_CHAR, destination, tag, MPI_COMM_WORLD, &requests[1]);
    wait_politely(&requests[0], std::chrono::milliseconds(2));
    wait_politely(&requests[1], std::chrono::milliseconds(2));
}

std::string MpiSession::receive(int source, int tag) const {
    long long size = 0;
    receive_politely(&size, 1, MPI_LONG_LONG, source, tag, nullptr, std::chrono::milliseconds(2));
    std::string text(static_cast<size_t>(size), '\0');
    MPI_Request request;
    MPI_Irecv(text.data(), static_cast<int>(size), MPI_CHAR, source, tag, MPI_COMM_WORLD, &request);
    wait_politely(&request, std::chrono::milliseconds(2));
    return text;
}

#else  // no MPI in this build

MpiSession::MpiSession() {
    throw std::runtime_error("this satsal was built without MPI (CMake did not find it: install the Debian "
                             "packages libopenmpi-dev and openmpi-bin and rebuild)");
}
MpiSession::~MpiSession() = default;
void MpiSession::abort_all(const std::string& message) const {
    std::fprintf(stderr, "satsal: %s\n", message.c_str());
    std::_Exit(1);
}
std::vector<std::string> MpiSession::distribute(int, const std::function<std::string(int)>&) const {
    throw std::logic_error("MpiSession without MPI");
}
std::string MpiSession::broadcast(const std::string&) const { throw std::logic_error("MpiSession without MPI"); }
std::vector<std::string> MpiSession::gather(const std::string&) const {
    throw std::logic_error("MpiSession without MPI");
}
void MpiSession::send(const std::string&, int, int) const { throw std::logic_error("MpiSession without MPI"); }
std::string MpiSession::receive(int, int) const { throw std::logic_error("MpiSession without MPI"); }

#endif

}  // namespace satsal::hpc
