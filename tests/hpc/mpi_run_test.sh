#!/usr/bin/env bash
# `mpirun -np N satsal run CONFIG` over a batch of scenes: ranks take scenes on demand; every
# scene's outputs must hold the same data as a single-process run, for N = 1, 2, 3, and rank 0
# writes the batch outputs (counts.csv / count-summary.json of a counting run) as one process does.
#
#   tests/hpc/mpi_run_test.sh BUILD/satsal SOURCE_DIR MPIEXEC
set -euo pipefail
satsal=$(realpath "$1")
source_dir=$(realpath "$2")
mpiexec=$3
work=$(mktemp -d /tmp/satsal-mpi-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "mpi_run_test: $*" >&2; exit 1; }
# STAC item.json / collection.json carry creation times and the output folder's name.
stac_ignores=(--ignore /title --ignore /extent/temporal --ignore /properties/datetime --ignore /properties/created)
compare() { "$source_dir/tools/compare_outputs.sh" "$@" "${stac_ignores[@]}"; }
compare="compare"

mkdir -p "$work/scenes"
for seed in 1 2 3 4; do
  "$satsal" make-scene "$work/scenes/scene-$seed.tif" --size 288x224 --seed "$seed" >/dev/null 2>&1
done
cat > "$work/batch.ini" <<INI
model = $source_dir/tests/fixtures/tiny_resnet.pt
scene = $work/scenes
output_dir = $work/single
tile_size = 128
margin = 32
threads = 1
batch_size = 2
quiet = false
INI
"$satsal" run "$work/batch.ini" 2>"$work/single.log" || fail "the single-process run failed: $(cat "$work/single.log")"

for n in 1 2 3; do
  out="$work/mpi-$n"
  "$mpiexec" --allow-run-as-root --oversubscribe -np "$n" "$satsal" run "$work/batch.ini" --set "output_dir=$out" \
    > "$work/mpi-$n.log" 2>&1 || fail "mpirun -np $n failed: $(cat "$work/mpi-$n.log")"
  grep -q "$n MPI ranks take the 4 scenes on demand" "$work/mpi-$n.log" || [ "$n" = 1 ] ||
    fail "mpirun -np $n did not run as $n ranks: $(cat "$work/mpi-$n.log")"
  "$compare" "$work/single" "$out" >"$work/compare-$n.log" 2>&1 ||
    fail "mpirun -np $n outputs differ from one process: $(cat "$work/compare-$n.log")"
done

# One scene and more ranks than scenes: the ranks share its tiles (whole batch groups each), rank 0
# replays them in tile order; the other ranks compute pass 2's output blocks (512 x 512: 3 x 2 of
# them here) and rank 0 writes them: the same data as one process for N = 2, 3; run.json gives
# each rank's share ("ranks"), which together cover every tile and every block once.
mkdir -p "$work/one"
"$satsal" make-scene "$work/one/wide.tif" --size 1100x600 --seed 7 >/dev/null 2>&1
"$satsal" run "$work/batch.ini" --set "scene=$work/one" --set "output_dir=$work/one-single" 2>"$work/one-single.log" ||
  fail "the single-process run of one scene failed: $(cat "$work/one-single.log")"
tiles=$(jq '.tiles.total' "$work/one-single/wide/run.json")
[ "$tiles" -gt 6 ] || fail "the one-scene case should have more tiles than 3 ranks x batch 2, has $tiles"
for n in 2 3; do
  out="$work/one-mpi-$n"
  "$mpiexec" --allow-run-as-root --oversubscribe -np "$n" "$satsal" run "$work/batch.ini" --set "scene=$work/one" \
    --set "output_dir=$out" > "$work/one-mpi-$n.log" 2>&1 || fail "mpirun -np $n on one scene failed: $(cat "$work/one-mpi-$n.log")"
  grep -q "$n MPI ranks share the tiles of each of the 1 scenes" "$work/one-mpi-$n.log" ||
    fail "mpirun -np $n did not share the scene: $(cat "$work/one-mpi-$n.log")"
  "$compare" "$work/one-single" "$out" --ignore /tiles/resumed --ignore /ranks >"$work/one-compare-$n.log" 2>&1 ||
    fail "mpirun -np $n sharing one scene: outputs differ from one process: $(cat "$work/one-compare-$n.log")"
  [ "$(jq '.ranks | length' "$out/wide/run.json")" = "$n" ] || fail "run.json of -np $n does not list $n ranks"
  [ "$(jq '[.ranks[].tiles] | add' "$out/wide/run.json")" = "$tiles" ] ||
    fail "the ranks of -np $n did not compute every tile once: $(jq -c '.ranks' "$out/wide/run.json")"
  [ "$(jq '[.ranks[] | select(.tiles > 0)] | length' "$out/wide/run.json")" = "$n" ] ||
    fail "a rank of -np $n computed no tile: $(jq -c '.ranks' "$out/wide/run.json")"
  [ ! -e "$out/.satsal-resume-wide" ] || fail "mpirun -np $n left the resume folder behind"
  [ "$(jq '.ranks[0].pass2_blocks' "$out/wide/run.json")" = 0 ] ||
    fail "rank 0 of -np $n computed pass-2 blocks (it should only write): $(jq -c '.ranks' "$out/wide/run.json")"
  [ "$(jq '[.ranks[].pass2_blocks] | add' "$out/wide/run.json")" = 6 ] ||
    fail "the ranks of -np $n did not compute the 6 pass-2 blocks once: $(jq -c '.ranks' "$out/wide/run.json")"
  [ "$(jq '[.ranks[1:][] | select(.pass2_blocks > 0)] | length' "$out/wide/run.json")" = "$((n - 1))" ] ||
    fail "a rank of -np $n other than 0 computed no pass-2 block: $(jq -c '.ranks' "$out/wide/run.json")"
done

# A shared scene stopped part-way (SIGTERM to mpirun -np 3 at a seeded moment: ranks finish their
# tiles in flight and exit 75, or Open MPI kills them) resumes under -np 2 from the three ranks'
# journals, with the same outputs; what the second run computed plus what the first left adds up.
RANDOM=20261129
out="$work/one-stopped"
"$mpiexec" --allow-run-as-root --oversubscribe -np 3 "$satsal" run "$work/batch.ini" --set "scene=$work/one" \
  --set "output_dir=$out" > "$work/one-stopped.log" 2>&1 &
launcher=$!
sleep "$((2 + RANDOM % 3)).$((RANDOM % 10))"
kill -TERM "$launcher" 2>/dev/null || true
wait "$launcher" || true
"$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$satsal" run "$work/batch.ini" --set "scene=$work/one" \
  --set "output_dir=$out" > "$work/one-resumed.log" 2>&1 ||
  fail "resuming a stopped shared scene with -np 2 failed: $(cat "$work/one-resumed.log")"
"$compare" "$work/one-single" "$out" --ignore /tiles/resumed --ignore /ranks >"$work/one-compare-resumed.log" 2>&1 ||
  fail "a shared scene stopped under -np 3 and resumed under -np 2 differs from one process: $(cat "$work/one-compare-resumed.log")"
computed=$(jq '[.ranks[].tiles] | add' "$out/wide/run.json")
[ "$computed" -le "$tiles" ] || fail "the resumed shared run computed $computed of $tiles tiles"
echo "mpi_run_test: the stopped shared scene resumed with $((tiles - computed)) of $tiles tiles from the first run"

# A failure on one rank (a model that cannot load is a run-level error) stops all ranks, non-zero.
if "$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$satsal" run "$work/batch.ini" \
    --set "output_dir=$work/bad" --set "model=$work/missing.pt" > "$work/bad.log" 2>&1; then
  fail "a run whose model is missing exited 0 under mpirun"
fi
grep -q "missing.pt" "$work/bad.log" || fail "the rank's error does not name the model: $(cat "$work/bad.log")"
[ -z "$(find "$work/bad" -name '*.tif' 2>/dev/null)" ] || fail "a failed MPI run left GeoTIFFs behind"
echo "mpi_run_test: mpirun -np 1/2/3 over 4 scenes and -np 2/3 sharing one scene match the single-process run; a rank failure stops the job"
