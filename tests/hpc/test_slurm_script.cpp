#include "hpc/SlurmScript.hpp"

#include <catch2/catch.hpp>

using satsal::hpc::parse_slurm_time;
using satsal::hpc::slurm_array_script;
using satsal::hpc::SlurmOptions;

namespace {

SlurmOptions options() {
    SlurmOptions o;
    o.config = "/data/run it/batch.ini";
    o.satsal = "/opt/satsal/build/satsal";
    o.job_name = "satsal-batch";
    o.array_tasks = 4;
    o.cpus_per_task = 8;
    o.time = "2:00:00";
    o.partition = "cpu";
    o.account = "geo42";
    o.log_folder = "/data/out/slurm-logs";
    o.overrides = {"output_scale=2", "output_dir=/data/it's here"};
    return o;
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("Slurm time limits are read in every form sbatch accepts", "[hpc]") {
    CHECK(parse_slurm_time("90") == 90 * 60);
    CHECK(parse_slurm_time("10:30") == 10 * 60 + 30);
    CHECK(parse_slurm_time("2:00:00") == 7200);
    CHECK(parse_slurm_time("1-12") == 86400 + 12 * 3600);
    CHECK(parse_slurm_time("1-0:30") == 86400 + 30 * 60);
    CHECK(parse_slurm_time("2-1:02:03") == 2 * 86400 + 3600 + 2 * 60 + 3);
    CHECK_THROWS_WITH(parse_slurm_time("2h"), Catch::Contains("expected a Slurm time limit"));
    CHECK_THROWS_WITH(parse_slurm_time("0"), Catch::Contains("above zero"));
}

TEST_CASE("the array script shards the scenes, forwards the warning signal and requeues", "[hpc]") {
    const std::string script = slurm_array_script(options());
    CHECK(script.rfind("#!/bin/bash\n", 0) == 0);
    CHECK(has_line(script, "#SBATCH --array=0-3"));
    CHECK(has_line(script, "#SBATCH --cpus-per-task=8"));
    CHECK(has_line(script, "#SBATCH --time=2:00:00"));
    CHECK(has_line(script, "#SBATCH --partition=cpu"));
    CHECK(has_line(script, "#SBATCH --account=geo42"));
    CHECK(has_line(script, "#SBATCH --signal=B:USR1@120"));
    CHECK(has_line(script, "#SBATCH --requeue"));
    CHECK(has_line(script, "#SBATCH --output=/data/out/slurm-logs/%x-%A_%a.log"));
    CHECK(has_line(script, "trap on_time_limit USR1"));
    CHECK(has_line(script, "  scontrol requeue \"${SLURM_JOB_ID}\""));
    // Paths with spaces and quotes survive the shell.
    CHECK(has_line(script, "'/opt/satsal/build/satsal' run '/data/run it/batch.ini' --shard \"${shard}\" --set "
                           "\"threads=${SLURM_CPUS_PER_TASK:-8}\" --set 'output_scale=2' --set 'output_dir=/data/it'\\''s here' &"));
}

TEST_CASE("options Slurm or the shell would choke on are refused with the option named", "[hpc]") {
    auto o = options();
    o.time = "1:00";
    CHECK_THROWS_WITH(slurm_array_script(o), Catch::Contains("--time 1:00 is not longer than the 120 s warning"));
    o = options();
    o.partition = "cpu\n#SBATCH --mem=1T";
    CHECK_THROWS_WITH(slurm_array_script(o), Catch::Contains("--partition"));
    o = options();
    o.array_tasks = 0;
    CHECK_THROWS_WITH(slurm_array_script(o), Catch::Contains("--array 0: expected 1 to 100000 tasks"));
    o = options();
    o.config = "batch.ini";
    CHECK_THROWS_WITH(slurm_array_script(o), Catch::Contains("config 'batch.ini' must be an absolute path"));
    o = options();
    o.log_folder = "/data/my logs";
    CHECK_THROWS_WITH(slurm_array_script(o), Catch::Contains("must not contain spaces"));
}
