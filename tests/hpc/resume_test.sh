#!/usr/bin/env bash
# Resume after a kill: `satsal run` killed (SIGKILL at seeded random points of pass 1, SIGTERM) and started
# again with the same command continues where it stopped; its outputs are bit-identical to an
# uninterrupted run and run.json says how many tiles were resumed. A changed config is refused,
# naming the key, and --restart starts over.
#
#   tests/hpc/resume_test.sh BUILD/satsal SOURCE_DIR [SEED]
set -euo pipefail
satsal=$(realpath "$1")
source_dir=$(realpath "$2")
seed=${3:-20261129}
work=$(mktemp -d /tmp/satsal-resume-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "resume_test: $*" >&2; exit 1; }
RANDOM=$seed

"$satsal" make-scene "$work/scene.tif" --size 768x512 --seed 3 >/dev/null 2>&1
cat > "$work/run.ini" <<INI
model = $source_dir/tests/fixtures/tiny_resnet.pt
scene = $work/scene.tif
output_dir = $work/reference
tile_size = 64
margin = 32
threads = 1
batch_size = 2
quiet = true
write_layers = true
INI

# Same data in every output but run.json (its timings and tiles.resumed differ by nature).
same_outputs() {
  rm -rf "$work/a" "$work/b"
  cp -r "$1" "$work/a" && cp -r "$2" "$work/b" && rm -f "$work/a/run.json" "$work/b/run.json"
  # STAC item.json / collection.json carry creation times.
  "$source_dir/tools/compare_outputs.sh" "$work/a" "$work/b" --ignore /title --ignore /extent/temporal \
    --ignore /properties/datetime --ignore /properties/created > "$work/compare.log" 2>&1
}
resumed_tiles() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tiles"]["resumed"])' "$1/run.json"
}

"$satsal" run "$work/run.ini" || fail "the uninterrupted run failed"
[ "$(resumed_tiles "$work/reference/scene")" = 0 ] || fail "an uninterrupted run reports resumed tiles"
tiles=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tiles"]["total"])' "$work/reference/scene/run.json")

# Waits until the run's journal records at least $2 tiles (the kill points are progress points,
# not times, so a loaded machine does not move them), or the run ends. $1: output_dir.
wait_for_tiles() {
  local journal="$1/.satsal-resume-scene/journal" pid=$3
  while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$journal" ] && [ "$(($(wc -l < "$journal") - 1))" -ge "$2" ]; then return 0; fi
    sleep 0.02
  done
  return 1
}

# SIGKILL at seeded random points of pass 1, then the same command until it finishes.
resumed_any=0
for trial in 1 2 3; do
  out="$work/killed-$trial"
  kills=0
  while :; do
    "$satsal" run "$work/run.ini" --set "output_dir=$out" & pid=$!
    if [ "$kills" -lt 2 ] && wait_for_tiles "$out" $(( 1 + RANDOM % (tiles / 2) )) "$pid"; then
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      kills=$((kills + 1))
      [ ! -e "$out/scene/saliency.tif" ] || [ -e "$out/scene/run.json" ] ||
        fail "trial $trial: a kill left saliency.tif without run.json"
      continue
    fi
    wait "$pid" || fail "trial $trial: the run after $kills kills failed"
    break
  done
  same_outputs "$work/reference/scene" "$out/scene" ||
    fail "trial $trial ($kills kills): outputs differ from the uninterrupted run: $(cat "$work/compare.log")"
  [ ! -e "$out/.satsal-resume-scene" ] || fail "trial $trial: the resume folder is left after success"
  n=$(resumed_tiles "$out/scene")
  echo "resume_test: trial $trial: $kills SIGKILLs, $n tiles resumed, outputs identical"
  [ "$n" -gt 0 ] && resumed_any=1
done
[ "$resumed_any" = 1 ] || fail "no trial resumed a tile"

# SIGTERM: stop cleanly, exit 75 with the hint, resume from the journal.
out="$work/terminated"
"$satsal" run "$work/run.ini" --set "output_dir=$out" 2> "$work/term.log" & pid=$!
wait_for_tiles "$out" $((tiles / 3)) "$pid" || fail "the run ended before SIGTERM"
kill -TERM "$pid" 2>/dev/null || fail "the run ended before SIGTERM"
status=0
wait "$pid" || status=$?
[ "$status" = 75 ] || fail "SIGTERM: exit code $status, expected 75; stderr: $(cat "$work/term.log")"
grep -q "resume with the same command" "$work/term.log" || fail "SIGTERM: no resume hint: $(cat "$work/term.log")"
[ ! -e "$out/scene" ] || fail "SIGTERM left a scene folder"

# A changed config is refused, naming the key; --restart starts over.
if "$satsal" run "$work/run.ini" --set "output_dir=$out" --set batch_size=4 2> "$work/changed.log"; then
  fail "a changed config resumed"
fi
grep -q "config key batch_size changed (2 -> 4)" "$work/changed.log" || fail "no named change: $(cat "$work/changed.log")"
grep -q -- "--restart" "$work/changed.log" || fail "no --restart hint: $(cat "$work/changed.log")"

"$satsal" run "$work/run.ini" --set "output_dir=$out" || fail "the run after SIGTERM failed"
n=$(resumed_tiles "$out/scene")
[ "$n" -gt 0 ] || fail "the run after SIGTERM resumed no tile"
same_outputs "$work/reference/scene" "$out/scene" || fail "after SIGTERM: outputs differ: $(cat "$work/compare.log")"
echo "resume_test: SIGTERM: exit 75, $n tiles resumed, outputs identical; a changed config refused"

"$satsal" run "$work/run.ini" --set "output_dir=$work/restart" & pid=$!
wait_for_tiles "$work/restart" $((tiles / 3)) "$pid" || fail "the run ended before the kill"
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
"$satsal" run "$work/run.ini" --set "output_dir=$work/restart" --set batch_size=4 --restart ||
  fail "--restart after a changed config failed"
[ "$(resumed_tiles "$work/restart/scene")" = 0 ] || fail "--restart resumed tiles"
echo "resume_test: ok"
