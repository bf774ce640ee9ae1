#!/usr/bin/env bash
# Compares two satsal output folders (e.g. before and after a refactoring) and exits non-zero with
# a list of differences.
#
#   tools/compare_outputs.sh OUT_A OUT_B [--map PATH_A=PATH_B ...] [--ignore /json/path ...]
#
# --map: B's outputs were made from inputs under another folder (e.g. a baseline made in
# /work/main, a new run in a worktree): PATH_B in B's texts (run.json, CSV, saliency.h5's `input`
# attribute) reads as PATH_A.
# --ignore: a JSON member left out on both sides, e.g. /tiles/resumed when B's version added it.
#
# What must be identical, file by file under both folders (found recursively, paired by relative
# path; a file on one side only is a difference):
#   *.tif, *.png      the pixel data of every band (gdal_translate to raw ENVI, then cmp), plus
#                     size, band count and data type
#   *.h5              every dataset exactly (h5diff without tolerance, NaN equal to NaN), the list
#                     of objects, and every attribute's value (h5dump -A; ISO 8601 creation
#                     times masked)
#   *.csv             byte for byte
#   run.json, count-summary.json, other *.json
#                     parsed and compared value by value, except what differs by nature between
#                     two runs: `seconds` and `throughput` (timings), the STAC times (item.json's
#                     datetime/created, collection.json's temporal extent), and the `output_dir` line of
#                     the resolved `config` (the two folders differ). Numbers are compared at 9
#                     significant digits, the precision run.json was written with before it went
#                     through nlohmann-json.
# Needs gdal-bin, hdf5-tools and python3 (tools/ only; never in the run path).
set -euo pipefail

usage="usage: tools/compare_outputs.sh OUT_A OUT_B [--map PATH_A=PATH_B ...] [--ignore /json/path ...]"
if [[ $# -lt 2 || ! -d "$1" || ! -d "$2" ]]; then
  echo "$usage" >&2
  exit 2
fi
a=$(cd "$1" && pwd)
b=$(cd "$2" && pwd)
shift 2
maps=()
ignored=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == --map && $# -ge 2 && "$2" == *=* ]]; then
    maps+=("$2")
    shift 2
  elif [[ "$1" == --ignore && $# -ge 2 && "$2" == /* ]]; then
    ignored+=("$2")
    shift 2
  else
    echo "$usage" >&2
    exit 2
  fi
done
export COMPARE_MAPS COMPARE_IGNORED
COMPARE_MAPS=$(printf '%s\n' "${maps[@]+"${maps[@]}"}")
COMPARE_IGNORED=$(printf '%s\n' "${ignored[@]+"${ignored[@]}"}")

map_b() {  # stdin -> stdout, PATH_B replaced by PATH_A
  python3 -c '
import os, sys
text = sys.stdin.read()
for line in os.environ["COMPARE_MAPS"].splitlines():
    if "=" in line:
        path_a, path_b = line.split("=", 1)
        text = text.replace(path_b, path_a)
sys.stdout.write(text)'
}

for tool in gdal_translate gdalinfo h5diff h5dump h5ls python3 cmp; do
  command -v "$tool" >/dev/null || { echo "compare_outputs: needs $tool (tools/setup.sh installs it)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

differences=()
compared=0
differ() { differences+=("$1"); }

list_files() {  # relative paths of the files compared, hidden staging folders excluded
  (cd "$1" && find . -type f \( -name '*.tif' -o -name '*.png' -o -name '*.h5' -o -name '*.csv' -o -name '*.json' \) \
     -not -path '*/.*/*' | sed 's|^\./||' | LC_ALL=C sort)
}

raster_signature() {  # size, bands and types from gdalinfo (no paths, no statistics)
  gdalinfo "$1" | grep -E '^(Size is|Band [0-9]+ Block=)' | sed 's/Block=[0-9]*x[0-9]* //'
}

compare_raster() {
  local rel=$1
  if [[ "$(raster_signature "$a/$rel")" != "$(raster_signature "$b/$rel")" ]]; then
    differ "$rel: size, band count or data type differ"
    return
  fi
  gdal_translate -q -of ENVI "$a/$rel" "$work/a.raw" >/dev/null
  gdal_translate -q -of ENVI "$b/$rel" "$work/b.raw" >/dev/null
  if ! cmp -s "$work/a.raw" "$work/b.raw"; then
    differ "$rel: pixel data differ ($(cmp "$work/a.raw" "$work/b.raw" 2>&1 | head -1))"
  fi
  rm -f "$work"/a.raw* "$work"/b.raw* "$work"/a.hdr "$work"/b.hdr
}

h5_objects() { h5ls -r "$1" | sed 's/ \{1,\}/ /g' | LC_ALL=C sort; }

compare_h5() {
  local rel=$1 out path
  if [[ "$(h5_objects "$a/$rel")" != "$(h5_objects "$b/$rel")" ]]; then
    differ "$rel: the objects differ: $(diff <(h5_objects "$a/$rel") <(h5_objects "$b/$rel") | grep '^[<>]' | head -3 | tr '\n' ';')"
    return
  fi
  # Every dataset's values, exactly: no -d/-p/--use-system-epsilon (NaN equals NaN, h5diff's default).
  while read -r path _; do
    if ! out=$(h5diff "$a/$rel" "$b/$rel" "$path" "$path" 2>&1); then
      differ "$rel $path: $(printf '%s' "$out" | grep -v '^$' | head -3 | tr '\n' ';')"
    fi
  done < <(h5ls -r "$a/$rel" | grep ' Dataset ')
  # Every attribute (the root's included), with B's paths mapped.
  # Dimension-scale references print the referenced object's file address, which depends on the
  # order objects were written, not on their content: compared by path only.
  # The creation time (CF date_created, history) differs by nature: masked on both sides.
  local when='s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/<time>/g'
  h5dump -A "$a/$rel" | tail -n +2 | sed -E 's/DATASET [0-9]+ "/DATASET "/g' | sed -E "$when" >"$work/a.attrs"
  h5dump -A "$b/$rel" | tail -n +2 | sed -E 's/DATASET [0-9]+ "/DATASET "/g' | sed -E "$when" | map_b >"$work/b.attrs"
  if ! cmp -s "$work/a.attrs" "$work/b.attrs"; then
    differ "$rel: attributes differ: $(diff "$work/a.attrs" "$work/b.attrs" | grep '^[<>]' | head -4 | tr -s ' ' | tr '\n' ';')"
  fi
}

compare_json() {
  local rel=$1 out
  if ! out=$(python3 - "$a/$rel" "$b/$rel" <<'PY'
import json, math, sys

import os
# Times of the STAC item (when satsal wrote it) and collection differ by nature too.
IGNORED = {"/seconds", "/throughput", "/properties/datetime", "/properties/created", "/extent/temporal"} | set(
    os.environ["COMPARE_IGNORED"].split())

def clean(value, path=""):
    if isinstance(value, dict):
        return {k: clean(v, f"{path}/{k}") for k, v in value.items() if f"{path}/{k}" not in IGNORED}
    if isinstance(value, list):
        return [clean(v, path) for v in value]
    if isinstance(value, float):
        return float(format(value, ".9g")) if math.isfinite(value) else value
    return value

def config_text(text):
    return "\n".join(line for line in text.splitlines() if not line.startswith("output_dir"))

def walk(x, y, path, out):
    if isinstance(x, dict) and isinstance(y, dict):
        if list(x) != list(y):
            out.append(f"{path or '/'}: keys {list(x)} vs {list(y)}")
        for key in x:
            if key in y:
                walk(x[key], y[key], f"{path}/{key}", out)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            walk(u, v, f"{path}[{i}]", out)
    elif x != y and not (path == "/config" and isinstance(x, str) and isinstance(y, str)
                         and config_text(x) == config_text(y)):
        out.append(f"{path}: {json.dumps(x)[:120]} vs {json.dumps(y)[:120]}")

import os
def mapped(value):
    if isinstance(value, dict):
        return {k: mapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mapped(v) for v in value]
    if isinstance(value, str):
        for line in os.environ["COMPARE_MAPS"].splitlines():
            if "=" in line:
                path_a, path_b = line.split("=", 1)
                value = value.replace(path_b, path_a)
    return value

a = clean(json.load(open(sys.argv[1])))
b = clean(mapped(json.load(open(sys.argv[2]))))
out = []
walk(a, b, "", out)
print("; ".join(out[:10]) + (f"; ... {len(out) - 10} more" if len(out) > 10 else ""))
sys.exit(1 if out else 0)
PY
); then
    differ "$rel: $out"
  fi
}

mapfile -t files_a < <(list_files "$a")
mapfile -t files_b < <(list_files "$b")
only=$(LC_ALL=C comm -3 <(printf '%s\n' "${files_a[@]}") <(printf '%s\n' "${files_b[@]}") | sed 's/^\t/B only: /; s/^\([^B]\)/A only: \1/')
[[ -n "$only" ]] && while IFS= read -r line; do differ "$line"; done <<<"$only"

for rel in "${files_a[@]}"; do
  [[ -f "$b/$rel" ]] || continue
  compared=$((compared + 1))
  case "$rel" in
    *.tif|*.png) compare_raster "$rel" ;;
    *.h5) compare_h5 "$rel" ;;
    *.csv) map_b <"$b/$rel" | cmp -s "$a/$rel" - || differ "$rel: differs ($(map_b <"$b/$rel" | cmp "$a/$rel" - 2>&1 | head -1))" ;;
    *.json) compare_json "$rel" ;;
  esac
done

if [[ ${#differences[@]} -gt 0 ]]; then
  echo "compare_outputs: $a and $b differ (${#differences[@]} of $compared files compared, and files on one side only):"
  printf '  %s\n' "${differences[@]}"
  exit 1
fi
echo "compare_outputs: $compared files identical in data (rasters, HDF5 datasets and attributes, CSV, JSON without timings)"
