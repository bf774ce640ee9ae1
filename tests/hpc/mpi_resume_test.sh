#!/usr/bin/env bash
# A shared scene killed in the middle of pass 1: `mpirun -np 3 satsal run` on one scene (the ranks
# share its tiles) is killed with SIGKILL, every rank at once, once the ranks' journals hold a
# seeded random number of tiles; the same command then finishes the scene. Its outputs must be
# the data of an uninterrupted single-process run, and run.json must say how many tiles each rank
# resumed (ranks[].tiles_resumed: at least what the journals held at the kill) and computed (the
# rest: together every tile once). Repeated for two seeded kill points.
#
#   tests/hpc/mpi_resume_test.sh BUILD/satsal SOURCE_DIR MPIEXEC [SEED]
set -euo pipefail
satsal=$(realpath "$1")
source_dir=$(realpath "$2")
mpiexec=$3
RANDOM=${4:-20261129}
work=$(mktemp -d /tmp/satsal-mpi-resume-test.XXXXXX)
launcher=""
cleanup() {
  # Only what this script started: the launcher and its children, by pid.
  if [ -n "$launcher" ]; then
    for pid in $(pgrep -P "$launcher" 2>/dev/null) "$launcher"; do kill -9 "$pid" 2>/dev/null || true; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "mpi_resume_test: $*" >&2; exit 1; }
compare() {
  "$source_dir/tools/compare_outputs.sh" "$@" --ignore /title --ignore /extent/temporal --ignore /properties/datetime \
    --ignore /properties/created --ignore /tiles/resumed --ignore /ranks
}

mkdir -p "$work/one"
"$satsal" make-scene "$work/one/wide.tif" --size 768x512 --seed 5 >/dev/null 2>&1
cat > "$work/run.ini" <<INI
model = $source_dir/tests/fixtures/tiny_resnet.pt
scene = $work/one
output_dir = $work/single
tile_size = 64
margin = 32
threads = 1
batch_size = 2
quiet = true
INI
"$satsal" run "$work/run.ini" 2>"$work/single.log" || fail "the single-process run failed: $(cat "$work/single.log")"
tiles=$(jq '.tiles.total' "$work/single/wide/run.json")

# Tiles the ranks' journals record (each journal's first line is its fingerprint).
journaled() {
  local total=0 n
  for journal in "$1"/.satsal-resume-wide/journal.part*; do
    [ -f "$journal" ] || continue
    n=$(wc -l < "$journal")
    total=$((total + n - 1))
  done
  echo "$total"
}

for trial in 1 2; do
  out="$work/killed-$trial"
  target=$((1 + RANDOM % (tiles / 2)))
  "$mpiexec" --allow-run-as-root --oversubscribe -np 3 "$satsal" run "$work/run.ini" --set "output_dir=$out" \
    > "$work/killed-$trial.log" 2>&1 &
  launcher=$!
  at_kill=-1
  while kill -0 "$launcher" 2>/dev/null; do
    n=$(journaled "$out")
    if [ "$n" -ge "$target" ]; then
      ranks=$(pgrep -P "$launcher" || true)
      for pid in $ranks; do kill -9 "$pid" 2>/dev/null || true; done
      at_kill=$n
      break
    fi
    sleep 0.02
  done
  wait "$launcher" 2>/dev/null || true
  launcher=""
  [ "$at_kill" -ge 1 ] || fail "trial $trial: the run ended before $target tiles were journaled (kill point missed)"
  [ ! -e "$out/wide/saliency.tif" ] || fail "trial $trial: the killed run left saliency.tif behind"
  [ "$at_kill" -lt "$tiles" ] || fail "trial $trial: all $tiles tiles were done before the kill (not mid-scene)"

  "$mpiexec" --allow-run-as-root --oversubscribe -np 3 "$satsal" run "$work/run.ini" --set "output_dir=$out" \
    > "$work/resumed-$trial.log" 2>&1 || fail "trial $trial: the rerun failed: $(cat "$work/resumed-$trial.log")"
  compare "$work/single" "$out" > "$work/compare-$trial.log" 2>&1 ||
    fail "trial $trial: outputs after the kill differ from one process: $(cat "$work/compare-$trial.log")"
  [ ! -e "$out/.satsal-resume-wide" ] || fail "trial $trial: the resume folder is left after success"
  resumed=$(jq '[.ranks[].tiles_resumed] | add' "$out/wide/run.json")
  computed=$(jq '[.ranks[].tiles] | add' "$out/wide/run.json")
  [ "$resumed" -ge "$at_kill" ] ||
    fail "trial $trial: run.json says $resumed tiles resumed, the journals held $at_kill at the kill"
  [ "$resumed" -lt "$tiles" ] || fail "trial $trial: run.json says all $tiles tiles resumed: the kill was not mid-scene"
  [ "$((resumed + computed))" = "$tiles" ] ||
    fail "trial $trial: $resumed resumed + $computed computed is not the scene's $tiles tiles"
  [ "$(jq '.ranks | length' "$out/wide/run.json")" = 3 ] ||
    fail "trial $trial: the rerun did not share the scene among 3 ranks: $(jq -c '.ranks' "$out/wide/run.json")"
  echo "mpi_resume_test: trial $trial: SIGKILL at $at_kill journaled tiles (target $target), $resumed of $tiles resumed, outputs identical"
done
echo "mpi_resume_test: ok"
