#!/usr/bin/env bash
# `satsal slurm` on a real Slurm: a private one-node cluster (tests/hpc/private_slurm.sh) runs the
# generated job-array script with sbatch; every scene's outputs must hold the same data as a
# single-process run of the same config. Fails with the reason when the cluster cannot start.
#
#   tests/hpc/slurm_array_test.sh BUILD/satsal SOURCE_DIR
set -euo pipefail
satsal=$(realpath "$1")
source_dir=$(realpath "$2")
work=$(mktemp -d /tmp/satsal-slurm-test.XXXXXX)
chmod 755 "$work"  # munged runs as user munge and must reach its socket below
cluster="$work/cluster"
cleanup() {
  "$source_dir/tests/hpc/private_slurm.sh" stop "$cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "slurm_array_test: $*" >&2; exit 1; }

# Same pixels in two rasters (GDAL reads both; the data, not the file bytes, is compared).
same_raster() {
  gdal_translate -q -of ENVI "$1" "$work/a.raw" && gdal_translate -q -of ENVI "$2" "$work/b.raw" &&
    cmp -s "$work/a.raw" "$work/b.raw"
}

cluster_env=$("$source_dir/tests/hpc/private_slurm.sh" start "$cluster") ||
  fail "the private Slurm cluster did not start (reason above)"
eval "$cluster_env"

mkdir -p "$work/scenes"
for seed in 1 2 3; do
  "$satsal" make-scene "$work/scenes/scene-$seed.tif" --size 320x256 --seed "$seed" >/dev/null 2>&1
done
cat > "$work/batch.ini" <<INI
model = $source_dir/tests/fixtures/tiny_resnet.pt
scene = $work/scenes
output_dir = $work/single
tile_size = 128
margin = 32
threads = 1
batch_size = 2
quiet = true
INI

"$satsal" run "$work/batch.ini" || fail "the single-process run failed"
"$satsal" slurm "$work/batch.ini" --array 2 --cpus-per-task 1 --time 10 --set "output_dir=$work/array" \
  --out "$work/job.sh" || fail "satsal slurm failed"
grep -q -- '--array=0-1' "$work/job.sh" || fail "job.sh has no 2-task array: $(cat "$work/job.sh")"

timeout 300 sbatch --wait --quiet "$work/job.sh" ||
  fail "sbatch --wait failed or timed out; task logs: $(cat "$work"/array/slurm-logs/*.log 2>/dev/null)"

for shard in 0/2 1/2; do
  grep -q "shard $shard" "$work"/array/slurm-logs/*.log || fail "no task ran shard $shard"
done
for seed in 1 2 3; do
  for file in saliency.tif lovi.tif; do
    [ -f "$work/array/scene-$seed/$file" ] || fail "scene-$seed/$file missing from the array run"
    same_raster "$work/single/scene-$seed/$file" "$work/array/scene-$seed/$file" ||
      fail "scene-$seed/$file differs between the array run and the single process"
  done
  # The root attributes hold the creation time (CF date_created, history): data and variables only.
  h5diff --exclude-attribute / "$work/single/scene-$seed/saliency.h5" "$work/array/scene-$seed/saliency.h5" >/dev/null ||
    fail "scene-$seed/saliency.h5 data differs between the array run and the single process"
done
"$satsal" summarize "$work/array" 2>"$work/summarize.log" || fail "satsal summarize failed: $(cat "$work/summarize.log")"
[ "$(grep -c ',ok,' "$work/array/scenes.csv")" = 3 ] || fail "scenes.csv does not list 3 finished scenes: $(cat "$work/array/scenes.csv")"
head -1 "$work/array/scenes.csv" | grep -q '^scene,status,error,tiles,' || fail "scenes.csv has no header"
echo "slurm_array_test: 3 scenes over a 2-task array on a private Slurm cluster match the single-process run"
