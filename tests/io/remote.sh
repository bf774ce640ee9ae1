#!/usr/bin/env bash
# Remote inputs (issue 15): scenes read through GDAL's virtual file systems from a loopback HTTP
# server that this script starts and stops (tests/io/range_server.py on 127.0.0.1, a free port,
# exits by itself after 540 s at the latest), zipped GeoTIFFs, a VRT mosaic, scene lists and STAC
# items. Every case asserts real outcomes: outputs bit-identical to the local run
# (tools/compare_outputs.sh), run.json's bytes fetched, error messages naming the URL and status,
# and no final-named output after a failure.
#
# usage: remote.sh SATSAL_BINARY SOURCE_DIR
set -u
SATSAL=$(realpath "$1")
SOURCE=$(realpath "$2")
MODEL="$SOURCE/tests/fixtures/tiny_resnet.pt"
COMPARE="$SOURCE/tools/compare_outputs.sh"
SERVER="$SOURCE/tests/io/range_server.py"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/satsal-remote.XXXXXX)
SERVERS=()
cleanup() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 2

FAILURES=0
CASE=setup
fail() { echo "FAIL [$CASE]: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok   [$CASE]"; }
# run NAME command...: output in $WORK/NAME.log, exit code in RC; a hang ends after 120 s.
run() {
    CASE=$1
    shift
    timeout 120 "$@" >"$WORK/$CASE.log" 2>&1
    RC=$?
}
log() { tail -c 1500 "$WORK/$CASE.log"; }
expect_ok() { if [ "$RC" -ne 0 ]; then fail "exit $RC: $(log)"; return 1; fi; }
same_outputs() {  # same_outputs A B [compare options]: bit-identical rasters and HDF5, same run.json values
    # input_read differs by nature, and so do item.json's times; its id is the scene name (the
    # output folder each case names).
    if ! bash "$COMPARE" "$@" --ignore /input_read --ignore /properties/datetime --ignore /properties/created \
        --ignore /id >"$WORK/$CASE.compare" 2>&1; then
        fail "outputs differ from the local run: $(tail -c 1500 "$WORK/$CASE.compare")"
        return 1
    fi
}
json_value() {  # json_value FILE KEY.KEY...: prints the value
    "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2"
}
no_outputs() {  # no final-named output under DIR
    local found
    found=$(find "$1" \( -name saliency.tif -o -name lovi.tif -o -name saliency.h5 -o -name run.json -o \
        -name quicklook.png \) -not -path '*/.satsal-*' 2>/dev/null | head -3)
    if [ -n "$found" ]; then fail "final-named output left after the failure: $found"; return 1; fi
}
start_server() {  # start_server ROOT [--drop-after N]: sets PORT
    local portfile="$WORK/port.$RANDOM"
    "$PY" "$SERVER" "$@" "$portfile" --lifetime 540 &
    SERVERS+=($!)
    for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
    PORT=$(cat "$portfile" 2>/dev/null)
    [ -n "$PORT" ] || { echo "the test HTTP server did not start"; exit 2; }
}
config() {  # config FILE key=value...
    local file=$1
    shift
    {
        echo "model = $MODEL"
        echo "tile_size = 128"
        echo "margin = 32"
        echo "quiet = true"
        for kv in "$@"; do echo "${kv/=/ = }"; done
    } >"$file"
}

# ---- inputs: a synthetic scene, its COG, a zip, four tiles and their VRT ------------------------
mkdir -p served local
"$SATSAL" make-scene local/scene.tif --size 300x260 >/dev/null 2>&1 || { echo "make-scene failed"; exit 2; }
gdal_translate -q -of COG -co BLOCKSIZE=128 -co COMPRESS=DEFLATE local/scene.tif served/cog.tif || exit 2
cp served/cog.tif local/cog.tif
"$PY" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z: z.write(sys.argv[2], "zipped.tif")' served/delivery.zip served/cog.tif || exit 2
# Four tiles of the scene, split off-grid (150 and 130 are no multiple of the tile size), then a
# VRT mosaic of them: the run must be the run of the whole scene.
for t in "0 0 0" "1 150 0" "2 0 130" "3 150 130"; do
    set -- $t
    gdal_translate -q -srcwin "$2" "$3" 150 130 local/scene.tif "local/tile$1.tif" || exit 2
done
gdalbuildvrt -q local/mosaic.vrt local/tile0.tif local/tile1.tif local/tile2.tif local/tile3.tif || exit 2
cp local/scene.tif local/mosaic_whole.tif

start_server served
BASE="http://127.0.0.1:$PORT"

# ---- 1. a COG over /vsicurl/: bit-identical to the local run; bytes fetched in run.json ---------
config local.ini "scene=local/cog.tif" "output_dir=out-local"
run local-cog "$SATSAL" run local.ini && expect_ok
config curl.ini "scene=/vsicurl/$BASE/cog.tif?X-Amz-Signature=SECRET123" "output_dir=out-curl"
run vsicurl-cog "$SATSAL" run curl.ini
if expect_ok; then
    same_outputs out-local/cog out-curl/cog --ignore /scene --ignore /config \
        --map "$WORK/local/cog.tif=/vsicurl/$BASE/cog.tif?<redacted>" --map "cog.tif=cog.tif?<redacted>" &&
        pass
    CASE=vsicurl-bytes
    bytes=$(json_value out-curl/cog/run.json input_read.network_bytes)
    size=$(stat -c %s served/cog.tif)
    if [ "$(json_value out-curl/cog/run.json input_read.remote)" != true ]; then fail "input_read.remote is not true";
    elif [ "$bytes" -le 0 ] || [ "$bytes" -gt $((3 * size)) ]; then fail "network_bytes $bytes for a $size-byte COG";
    elif [ "$(json_value out-local/cog/run.json input_read.network_bytes)" != 0 ]; then fail "a local run fetched bytes";
    else pass; fi
    CASE=vsicurl-scrubbed
    if grep -rq SECRET123 out-curl "$WORK/vsicurl-cog.log"; then fail "the signed URL's query is in the outputs";
    elif ! grep -q '?<redacted>' out-curl/cog/run.json; then fail "run.json does not show the redacted URL";
    else pass; fi
fi

# ---- 2. an https://-style URL given plainly becomes /vsicurl/ (same outputs) -------------------
config url.ini "scene=$BASE/cog.tif" "output_dir=out-url"
run plain-url "$SATSAL" run url.ini && expect_ok &&
    same_outputs out-local/cog out-url/cog --ignore /scene --ignore /config --map "$WORK/local/cog.tif=/vsicurl/$BASE/cog.tif" && pass

# ---- 3. a zipped GeoTIFF over /vsizip/ of a remote zip, and of a local zip given relatively ----
config zip.ini "scene=/vsizip//vsicurl/$BASE/delivery.zip/zipped.tif" "output_dir=out-zip"
run vsizip-remote "$SATSAL" run zip.ini && expect_ok &&
    same_outputs out-local/cog out-zip/zipped --ignore /scene --ignore /config \
        --map "$WORK/local/cog.tif=/vsizip//vsicurl/$BASE/delivery.zip/zipped.tif" --map "cog.tif=zipped.tif" && pass
mkdir -p cfg && cp served/delivery.zip cfg/
config cfg/zip-local.ini "scene=/vsizip/delivery.zip/zipped.tif" "output_dir=$WORK/out-ziplocal"
run vsizip-relative "$SATSAL" run cfg/zip-local.ini && expect_ok &&
    same_outputs out-local/cog out-ziplocal/zipped --ignore /scene --ignore /config \
        --map "$WORK/local/cog.tif=/vsizip/$WORK/cfg/delivery.zip/zipped.tif" --map "cog.tif=zipped.tif" && pass

# ---- 4. a VRT mosaic of four tiles: seamless, the same as the run of the whole scene ------------
config whole.ini "scene=local/mosaic_whole.tif" "output_dir=out-whole"
run whole-scene "$SATSAL" run whole.ini && expect_ok
config vrt.ini "scene=local/mosaic.vrt" "output_dir=out-vrt"
run vrt-mosaic "$SATSAL" run vrt.ini && expect_ok &&
    same_outputs out-whole/mosaic_whole out-vrt/mosaic --ignore /scene --ignore /config \
        --map "$WORK/local/mosaic_whole.tif=$WORK/local/mosaic.vrt" --map "mosaic_whole.tif=mosaic.vrt" \
        --ignore /properties/proj:wkt2 && pass
# (the VRT spells the same CRS in another WKT form, DATUM against ENSEMBLE; proj:epsg is compared)

# ---- 5. a scene_list of local and remote scenes, split by --shard -------------------------------
cp served/cog.tif served/second.tif
cat >scenes.txt <<EOF
# one scene per line; relative paths resolve against this file's folder
local/tile0.tif

$BASE/second.tif
/vsicurl/$BASE/cog.tif
EOF
config list.ini "scene_list=scenes.txt" "output_dir=out-list"
run scene-list "$SATSAL" run list.ini --print-config
if expect_ok; then
    n=$(grep -c '^scene = ' "$WORK/scene-list.log")
    if [ "$n" -ne 3 ]; then fail "--print-config lists $n scenes, expected 3: $(log)"; else pass; fi
fi
run scene-list-shard0 "$SATSAL" run list.ini --shard 0/2 && expect_ok
run scene-list-shard1 "$SATSAL" run list.ini --shard 1/2 && expect_ok
CASE=scene-list-outputs
if [ -f out-list/tile0/run.json ] && [ -f out-list/second/run.json ] && [ -f out-list/cog/run.json ]; then
    same_outputs out-local/cog out-list/cog --ignore /scene --ignore /config --map "$WORK/local/cog.tif=/vsicurl/$BASE/cog.tif" && pass
else
    fail "expected out-list/{tile0,second,cog}/run.json: $(ls -R out-list 2>&1 | head -20)"
fi

# ---- 6. a STAC item served over HTTP whose asset is served too (relative href) ------------------
mkdir -p served/items
cat >served/items/item.json <<EOF
{"type": "Feature", "stac_version": "1.0.0", "id": "S2B_TEST_20261129",
 "geometry": null, "properties": {"datetime": "2026-11-29T00:00:00Z"}, "links": [],
 "assets": {"visual": {"href": "../cog.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized"},
            "thumbnail": {"href": "thumb.png"}}}
EOF
config stac.ini "scene=$BASE/items/item.json" "asset=visual" "output_dir=out-stac"
run stac-item "$SATSAL" run stac.ini && expect_ok &&
    same_outputs out-local/cog out-stac/S2B_TEST_20261129 --ignore /scene --ignore /config --ignore /links \
        --map "$WORK/local/cog.tif=STAC_ITEM:S2B_TEST_20261129:\"/vsicurl/$BASE/items/item.json\":/vsicurl/$BASE/cog.tif" \
        && pass
CASE=stac-link-back
link=$("$PY" -c 'import json,sys; print([l["href"] for l in json.load(open(sys.argv[1]))["links"] if l["rel"] == "derived_from"])' \
    out-stac/S2B_TEST_20261129/item.json 2>&1)
if [ "$link" != "['$BASE/items/item.json']" ]; then fail "item.json links back to $link"; else pass; fi
config stac-noasset.ini "scene=$BASE/items/item.json" "output_dir=out-stac2"
run stac-asset-missing "$SATSAL" run stac-noasset.ini
if [ "$RC" -eq 0 ] || ! grep -q "has 2 assets (thumbnail, visual); set the config key asset" "$WORK/$CASE.log"; then
    fail "expected the asset keys in the error: $(log)"
else pass; fi

# ---- 7. a server that refuses: the URL and HTTP status are named --------------------------------
config missing.ini "scene=/vsicurl/$BASE/nothing-here.tif" "output_dir=out-missing"
run http-404 "$SATSAL" run missing.ini
if [ "$RC" -eq 0 ]; then fail "exit 0 for a missing URL";
elif ! grep -q "HTTP status 404 from $BASE/nothing-here.tif" "$WORK/$CASE.log"; then fail "no URL and status: $(log)";
else no_outputs out-missing && pass; fi

# ---- 8. a server that drops the connection mid-run: clear error, nothing final-named ------------
mkdir -p dropped
"$SATSAL" make-scene dropped/big.tif --size 1200x1200 >/dev/null 2>&1 || exit 2
gdal_translate -q -of COG -co BLOCKSIZE=128 -co COMPRESS=NONE dropped/big.tif dropped/cog_big.tif || exit 2
start_server dropped --drop-after 400000
config drop.ini "scene=/vsicurl/http://127.0.0.1:$PORT/cog_big.tif?token=SECRET" "output_dir=out-drop"
run dropped-connection "$SATSAL" run drop.ini
if [ "$RC" -eq 0 ]; then fail "exit 0 although the server dropped the connection";
elif [ "$RC" -ge 124 ]; then fail "exit $RC (hang or signal): $(log)";
elif ! grep -q "cannot read '/vsicurl/http://127.0.0.1:$PORT/cog_big.tif?<redacted>' bands 1,2,3 window .*(GDAL: " "$WORK/$CASE.log"; then
    fail "the error does not name the URL and the read: $(log)"
elif grep -rq SECRET "$WORK/$CASE.log" out-drop; then fail "the token is in the message or the outputs"
else no_outputs out-drop && pass; fi

# ---- 9. a remote folder and a remote glob are listed through GDAL (an index page here) ----------
mkdir -p served/archive
cp served/cog.tif served/archive/a.tif && cp served/cog.tif served/archive/b.tif && echo notes >served/archive/notes.txt
config listed.ini "scene=/vsicurl/$BASE/archive/" "scene=$BASE/archive/b*.tif" "output_dir=out-listed"
run remote-listing "$SATSAL" run listed.ini --print-config
if expect_ok; then
    got=$(grep '^scene = ' "$WORK/$CASE.log" | tr '\n' ' ')
    want="scene = /vsicurl/$BASE/archive/a.tif scene = /vsicurl/$BASE/archive/b.tif "
    if [ "$got" != "$want" ]; then fail "listed '$got', expected '$want'"; else pass; fi
fi

# ---- 10. a remote folder GDAL cannot list is refused with the folder named ---------------------
config folder.ini "scene=/vsicurl/$BASE/no-such-folder/" "output_dir=out-folder"
run remote-folder "$SATSAL" run folder.ini
if [ "$RC" -eq 0 ] || ! grep -q "cannot list the remote folder '/vsicurl/$BASE/no-such-folder'.*HTTP status 404" "$WORK/$CASE.log"; then
    fail "expected the unlistable folder named: $(log)"
else pass; fi

echo "remote inputs: $FAILURES failure(s)"
[ "$FAILURES" -eq 0 ]
