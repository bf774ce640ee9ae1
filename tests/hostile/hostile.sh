#!/usr/bin/env bash
# Hostile-input suite (issue 14): drives the built `satsal` with bad inputs and faults, one case at
# a time, and asserts for each: the exit code (never a signal), a message naming the cause, that no
# final-named output is left where it must not be, and that inputs are unchanged.
#
# usage: hostile.sh SATSAL_BINARY SOURCE_DIR
# Cases needing root-only features (tmpfs mounts) print why they are skipped.
set -u
SATSAL=$(realpath "$1")
SOURCE=$(realpath "$2")
MODEL="$SOURCE/tests/fixtures/tiny_resnet.pt"
COUNT_MODEL="$SOURCE/models/cowc-count-demo.pt"
WORK=$(mktemp -d /tmp/satsal-hostile.XXXXXX)
MOUNTS=()
BACKGROUND=()
cleanup() {
    for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 2

FAILURES=0
CASES=0
OUT="$WORK/last-output.txt"
fail() { echo "FAIL [$CASE]: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok   [$CASE]"; }

# run_case NAME -- command...: runs with a timeout, output in $OUT, exit code in $RC.
run_case() {
    CASE=$1
    shift 2
    CASES=$((CASES + 1))
    timeout 120 "$@" >"$OUT" 2>&1
    RC=$?
}
# expect_error NAME "message part" -- command...
expect_error() {
    local name=$1 want=$2
    shift 2
    run_case "$name" "$@"
    if [ "$RC" -eq 124 ]; then fail "timed out (hang)"; return 1; fi
    if [ "$RC" -ge 128 ]; then fail "killed by signal $((RC - 128)): $(tail -c 600 "$OUT")"; return 1; fi
    if [ "$RC" -eq 0 ]; then fail "exit 0, expected an error containing '$want': $(tail -c 600 "$OUT")"; return 1; fi
    if ! grep -qF -- "$want" "$OUT"; then fail "message lacks '$want': $(tail -c 800 "$OUT")"; return 1; fi
    if grep -q "Exception raised from\|frame #" "$OUT"; then fail "stack trace in the message"; return 1; fi
    pass
}
expect_ok() {
    local name=$1
    shift
    run_case "$name" -- "$@"
    if [ "$RC" -ne 0 ]; then fail "exit $RC: $(tail -c 800 "$OUT")"; return 1; fi
    pass
}
# no_outputs DIR...: no final-named satsal output anywhere under DIR.
no_outputs() {
    local found
    found=$(find "$@" \( -name saliency.tif -o -name lovi.tif -o -name saliency.h5 -o -name run.json -o \
        -name quicklook.png -o -name lovi.png -o -name overlay.png -o -name counts.csv -o \
        -name count-summary.json -o -name 'COWC_*_list_64_class.txt*' -o -name '*.png.partial' \) \
        -not -path '*/.satsal-*' 2>/dev/null | head -3)
    if [ -n "$found" ]; then fail "final-named output left: $found"; fi
}
same_sum() {  # same_sum FILE SUM
    if [ "$(sha256sum "$1" | cut -d' ' -f1)" != "$2" ]; then fail "input $1 was changed"; fi
}
config() {  # config FILE key=value...: a run config; the suite's defaults for keys not given
    local file=$1
    shift
    local given=" ${*%%=*} " kv
    {
        for kv in "model=$MODEL" tile_size=256 margin=64 quiet=true; do
            case "$given" in *" ${kv%%=*} "*) ;; *) echo "${kv/=/ = }" ;; esac
        done
        for kv in "$@"; do echo "${kv/=/ = }"; done
    } >"$file"
}

"$SATSAL" make-scene scene.tif --size 512x512 >/dev/null 2>&1 || { echo "make-scene failed"; exit 2; }
SCENE_SUM=$(sha256sum scene.tif | cut -d' ' -f1)

# ---- 1. disk full: clear ENOSPC, no SIGSEGV, nothing final-named ---------------------------------
mkdir -p full
if mount -t tmpfs -o size=2m tmpfs full 2>/dev/null; then
    MOUNTS+=("$WORK/full")
    expect_error explain-disk-full "No space left on device" -- \
        "$SATSAL" explain --model "$MODEL" --image scene.tif --out full/e
    no_outputs full
    config full.ini scene=scene.tif output_dir=full/run
    expect_error run-disk-full "No space left on device" -- "$SATSAL" run full.ini
    no_outputs full
    umount full && MOUNTS=()
    # cowc-patches on a full disk: no truncated PNG or list at a final name.
else
    echo "skip [disk-full]: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)"
fi

# ---- 2. seams with a zero tile or a negative margin ----------------------------------------------
expect_error seams-tile-0 "--tile-size 0: expected an integer in 16..8192" -- "$SATSAL" seams --model "$MODEL" --image scene.tif --tile-size 0
expect_error seams-margin-negative "--margin -64: expected an integer in 0.." -- "$SATSAL" seams --model "$MODEL" --image scene.tif --margin -64

# ---- 4. a margin far wider than the scene is capped, and says so --------------------------------
config margin.ini scene=scene.tif output_dir=out-margin tile_size=1024 margin=1024 quiet=false
expect_ok margin-cap "$SATSAL" run margin.ini &&
    { grep -q "capped at 512" "$OUT" || fail "no statement of the margin cap"; } &&
    { grep -q '"margin": 512' out-margin/scene/run.json || fail "run.json does not record margin 512"; }

# ---- 6. scene stems that are only dots --------------------------------------------------------
mkdir -p dots/in dots/out
cp scene.tif dots/in/...tif
cp scene.tif dots/in/..tif
config dots.ini "scene=dots/in/...tif" "scene=dots/in/..tif" output_dir=dots/out/run
expect_error scene-named-dots "is only dots" -- "$SATSAL" run dots.ini
no_outputs dots
[ -z "$(ls -A dots/out/run 2>/dev/null)" ] || fail "something was written for dot-named scenes: $(ls -A dots/out/run)"

# ---- 7. cowc-patches with .. as site or split ---------------------------------------------------
"$SATSAL" make-cowc cowc --scene-size 512 --train-scenes 1 --test-scenes 0 --no-geotiffs >/dev/null 2>&1 ||
    fail "make-cowc failed"
COWC_SCENE=$(find cowc/ground_truth_sets -name '*.png' ! -name '*_Annotated_*' | head -1)
mkdir -p patches/deep/out
expect_error cowc-site-dotdot "is only dots" -- \
    "$SATSAL" cowc-patches --scene "$COWC_SCENE" --out patches/deep/out --site .. --split ..
[ -z "$(find patches -name '*.png' | head -1)" ] || fail "patches written: $(find patches -name '*.png' | head -1)"

# ---- 8. eval-count list lines leaving --root ----------------------------------------------------
mkdir -p evalroot/Site/train
COWC_PATCH=$(find cowc -path '*train*' -name '*.png' ! -name '*_Annotated_*' | grep -v ground_truth | head -1)
printf '../../%s 0\n' "$(basename "$COWC_PATCH")" >escape.txt
expect_error list-dotdot "stay inside" -- "$SATSAL" eval-count --list escape.txt --root evalroot --model "$COUNT_MODEL"

# ---- 9. outputs never overwrite inputs ----------------------------------------------------------
mkdir -p inside/out/saliency
cp scene.tif inside/out/saliency/saliency.tif
INSIDE_SUM=$(sha256sum inside/out/saliency/saliency.tif | cut -d' ' -f1)
config inside.ini scene=inside/out/saliency/saliency.tif output_dir=inside/out
expect_error run-over-input "holds the input" -- "$SATSAL" run inside.ini
same_sum inside/out/saliency/saliency.tif "$INSIDE_SUM"
expect_error explain-over-input "holds the input" -- \
    "$SATSAL" explain --model "$MODEL" --image inside/out/saliency/saliency.tif --out inside/out/saliency
same_sum inside/out/saliency/saliency.tif "$INSIDE_SUM"
mkdir -p userdir && echo notes >userdir/notes.txt
expect_error explain-foreign-folder "files satsal did not write" -- \
    "$SATSAL" explain --model "$MODEL" --image scene.tif --out userdir
[ -f userdir/notes.txt ] || fail "a user's file was removed"

# ---- more of our own: output paths that are files, '.', duplicate stems ---------------------------
echo data >afile
expect_error explain-out-is-file "exists and is not a folder" -- \
    "$SATSAL" explain --model "$MODEL" --image scene.tif --out afile
[ "$(cat afile)" = data ] || fail "the file given as --out was changed"
mkdir -p dotout && cd dotout || exit 2
expect_error explain-out-dot "is only dots" -- "$SATSAL" explain --model "$MODEL" --image ../scene.tif --out .
cd "$WORK" || exit 2
[ -z "$(ls -A dotout)" ] || fail "something was written for --out .: $(ls -A dotout)"
config outfile.ini scene=scene.tif output_dir=afile
expect_error run-output-dir-is-file "afile" -- "$SATSAL" run outfile.ini
mkdir -p twins/a twins/b
cp scene.tif twins/a/twin.tif && cp scene.tif twins/b/twin.tif
config twins.ini scene=twins/a/twin.tif scene=twins/b/twin.tif output_dir=out-twins
expect_error duplicate-stems "have the same name" -- "$SATSAL" run twins.ini
no_outputs out-twins

# ---- 10. whole-set commit: a rerun without layers leaves no old layer tifs ----------------------
config layers.ini scene=scene.tif output_dir=out-layers write_layers=true
expect_ok layers-first "$SATSAL" run layers.ini && { [ -f out-layers/scene/layer_L1.tif ] || fail "no layer_L1.tif"; }
config layers2.ini scene=scene.tif output_dir=out-layers write_layers=false
expect_ok layers-rerun "$SATSAL" run layers2.ini &&
    { [ ! -e out-layers/scene/layer_L1.tif ] || fail "stale layer_L1.tif beside the new outputs"; } &&
    { [ -f out-layers/scene/saliency.tif ] || fail "no saliency.tif after the rerun"; }

# ---- 10/11. concurrent runs: the second fails clearly; the lock, not a pid, decides staleness -----
config busy.ini scene=scene.tif output_dir=out-busy
mkdir -p out-busy/.satsal-staging-scene-999999
# Another run (any PID namespace or host) holds the folder's lock: refused, its staging kept.
( flock -x 9; sleep 30 ) 9>out-busy/.satsal-lock &
HOLDER=$!
BACKGROUND+=("$HOLDER")
sleep 0.5
expect_error concurrent-run "in use by another satsal run" -- "$SATSAL" run busy.ini
[ -d out-busy/.satsal-staging-scene-999999 ] || fail "a staging folder was removed while its lock was held"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
BACKGROUND=()
expect_ok stale-staging-removed "$SATSAL" run busy.ini &&
    { [ ! -e out-busy/.satsal-staging-scene-999999 ] || fail "stale staging folder left after the lock was free"; } &&
    { [ ! -e out-busy/.satsal-lock ] || fail "lock file left behind"; }

# ---- 12. cowc-patches: atomic patches and list ---------------------------------------------------
expect_ok cowc-patches "$SATSAL" cowc-patches --scene "$COWC_SCENE" --out patches/ok --site S --split train &&
    { [ -f patches/ok/COWC_train_list_64_class.txt ] || fail "no list"; } &&
    { [ -z "$(find patches/ok -name '*.partial' -o -name '.satsal-*' | head -1)" ] || fail "temporaries left"; }
mkdir -p full
if mount -t tmpfs -o size=300k tmpfs full 2>/dev/null; then
    MOUNTS+=("$WORK/full")
    expect_error cowc-patches-disk-full "" -- \
        "$SATSAL" cowc-patches --scene "$COWC_SCENE" --out full/p --site S --split train --angles 0,15,30,45
    no_outputs full
    [ -z "$(find full -name '*.png' -not -path '*/.satsal-*' | head -1)" ] || fail "patches at final names after ENOSPC"
    umount full && MOUNTS=()
else
    echo "skip [cowc-patches-disk-full]: cannot mount a tmpfs here"
fi

# ---- 13. Float32 scenes: run and explain agree ---------------------------------------------------
gdal_translate -q -ot Float32 -scale 0 255 0 199 scene.tif float.tif
config float.ini scene=float.tif output_dir=out-float
expect_error run-float-range "must lie in [0, 1]" -- "$SATSAL" run float.ini
no_outputs out-float
expect_error explain-float-range "expected values in [0,1]" -- \
    "$SATSAL" explain --model "$MODEL" --image float.tif --out out-float/e
config float-ok.ini scene=float.tif output_dir=out-float input_range=0,199
expect_ok run-float-input-range "$SATSAL" run float-ok.ini

# NaN pixels without a NaN nodata (19).
if gdal_calc.py --quiet -A scene.tif --outfile=nan.tif --type=Float32 --hideNoData \
    --calc="where(A<60, nan, A/255.0)" >/dev/null 2>&1; then
    config nan.ini scene=nan.tif output_dir=out-nan
    expect_error run-nan-pixels "NaN pixels" -- "$SATSAL" run nan.ini
    no_outputs out-nan
else
    echo "skip [run-nan-pixels]: gdal_calc.py (python3-gdal) cannot write the NaN scene"
fi

# ---- 14. 16-bit imagery in cowc-patches ----------------------------------------------------------
mkdir -p sixteen
gdal_translate -q -ot UInt16 -scale 0 255 0 65535 "$COWC_SCENE" sixteen/scene16.png
cp "${COWC_SCENE%.png}_Annotated_Cars.png" sixteen/scene16_Annotated_Cars.png
expect_error cowc-patches-16bit "expected 8-bit" -- \
    "$SATSAL" cowc-patches --scene sixteen/scene16.png --out sixteen/out --site S --split train
[ -z "$(find sixteen/out -name '*.png' 2>/dev/null | head -1)" ] || fail "patches written from a 16-bit scene"

# ---- 16. an all-255 annotation PNG ---------------------------------------------------------------
gdal_translate -q -of PNG -b 1 -scale 0 255 255 255 scene.tif full255.png
config ann.ini scene=scene.tif output_dir=out-ann annotations=full255.png
expect_error annotation-all-255 "not a car mask" -- "$SATSAL" run ann.ini
no_outputs out-ann

# ---- 17. make-scene into a new relative folder ---------------------------------------------------
expect_ok make-scene-newdir "$SATSAL" make-scene newdir/a.tif --size 64x64 &&
    { [ -f newdir/a.tif ] || fail "newdir/a.tif missing"; }

# ---- 18/20. count runs: reserved batch names; every scene failed -> no batch files ---------------
cp scene.tif counts.csv.tif
{
    echo "model = $COUNT_MODEL"
    echo "task = count"
    echo "quiet = true"
    echo "scene = counts.csv.tif"
    echo "output_dir = out-count"
} >count.ini
expect_error count-reserved-name "name of a file the batch writes" -- "$SATSAL" run count.ini
[ ! -e out-count/counts.csv ] || fail "counts.csv written although every scene failed"
[ ! -e out-count/count-summary.json ] || fail "count-summary.json written although every scene failed"

# ---- 19. messages that name the real cause -------------------------------------------------------
expect_error nan-model "the model itself is broken" -- \
    "$SATSAL" explain --model "$SOURCE/tests/fixtures/nan_resnet.pt" --image scene.tif --out o19n
expect_error explain-std-0 "must be > 0" -- "$SATSAL" explain --model "$MODEL" --image scene.tif --out o19a --std 0,0,0
expect_error explain-resize-huge "at most 16384" -- \
    "$SATSAL" explain --model "$MODEL" --image scene.tif --out o19b --resize 1000000x1000000
expect_error angles-huge "whole number of degrees" -- \
    "$SATSAL" cowc-patches --scene "$COWC_SCENE" --out o19c --site S --split train --angles 999999999999
mkfifo fifo.tif
expect_error image-fifo "FIFO" -- "$SATSAL" explain --model "$MODEL" --image fifo.tif --out o19d
ln -s loop1.tif loop2.tif && ln -s loop2.tif loop1.tif
expect_error image-symlink-loop "symbolic link loop" -- "$SATSAL" explain --model "$MODEL" --image loop1.tif --out o19e
expect_error list-dev-zero "is a device" -- "$SATSAL" eval-count --list /dev/zero --root evalroot --model "$COUNT_MODEL"
head -c 300 /dev/urandom | tr -d '\n' >garbage.txt
printf ' 1 2\n' >>garbage.txt
expect_error list-binary-garbage "garbage.txt:1" -- \
    "$SATSAL" eval-count --list garbage.txt --root evalroot --model "$COUNT_MODEL"
if LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n\t' <"$OUT"); then fail "raw control bytes echoed"; fi
[ "$(wc -c <"$OUT")" -lt 1500 ] || fail "message of $(wc -c <"$OUT") bytes"

# ---- 20. a list whose last line is bad fails before any evaluation --------------------------------
COWC_LIST=$(find cowc -name 'COWC_train_list_64_class.txt*' | head -1)
if [ -n "$COWC_LIST" ]; then
    LIST_ROOT=$(dirname "$COWC_LIST")
    { bzcat -f "$COWC_LIST"; echo "S/train/99.00001.00001.000.png 99"; } >badlast.txt
    expect_error list-bad-last-line "entry" -- "$SATSAL" eval-count --list badlast.txt --root "$LIST_ROOT" --model "$COUNT_MODEL"
fi

# ---- 5. a bzip2 list that inflates far beyond the limit -------------------------------------------
head -c 280000000 /dev/zero | bzip2 -1 >bomb.txt.bz2
run_case bz2-bomb -- /usr/bin/time -f "maxrss_kb=%M" "$SATSAL" eval-count --list bomb.txt.bz2 --root evalroot --model "$COUNT_MODEL"
if [ "$RC" -eq 0 ] || [ "$RC" -ge 128 ]; then fail "exit $RC"; elif ! grep -q "inflates to more than" "$OUT"; then
    fail "message: $(tail -c 400 "$OUT")"
else
    RSS=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$OUT")
    if [ -n "$RSS" ] && [ "$RSS" -gt 1500000 ]; then fail "peak RSS ${RSS} kB"; else pass; fi
fi

same_sum scene.tif "$SCENE_SUM"
echo "hostile suite: $CASES cases, $FAILURES failed"
[ "$FAILURES" -eq 0 ]
