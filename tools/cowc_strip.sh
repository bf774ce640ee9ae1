#!/bin/sh
# The README's synthetic COWC strip (docs/cowc-v1-v2.png): the same 240 x 240 px window (36 m) of
# a v1 scene and of v2 scenes in each palette (the last, autumn-dusk, is the held-out one), side by
# side, straight from the generator's PNGs (gdal_translate crops placed with -a_ullr, mosaicked by
# gdalbuildvrt, written by gdal_translate; no other pixel is drawn).
#
#   tools/cowc_strip.sh [SATSAL] [OUT.png]
set -eu
SATSAL=${1:-build/satsal}
OUT=${2:-docs/cowc-v1-v2.png}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
X=${STRIP_X:-330}
Y=${STRIP_Y:-330}
SIDE=240
"$SATSAL" make-cowc "$WORK/v1" --scene-size 800 --seed 21 --train-scenes 0 --test-scenes 1 --no-patches --no-geotiffs
i=0
crop() {  # crop SCENE_PNG INDEX
    gdal_translate -q -srcwin "$X" "$Y" "$SIDE" "$SIDE" -a_srs EPSG:32617 \
        -a_ullr "$(( $2 * (SIDE + 8) ))" 0 "$(( $2 * (SIDE + 8) + SIDE ))" "-$SIDE" "$1" "$WORK/crop$2.tif"
}
crop "$WORK/v1/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_t.png" 0
i=1
for palette in summer arid overcast fresh-asphalt autumn-dusk; do
    "$SATSAL" make-cowc "$WORK/$palette" --style v2 --palettes "$palette" --scene-size 800 --seed 21 \
        --train-scenes 0 --test-scenes 1 --no-patches --no-geotiffs
    crop "$WORK/$palette/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_t.png" "$i"
    i=$((i + 1))
done
gdalbuildvrt -q -srcnodata none -vrtnodata 255 "$WORK/strip.vrt" "$WORK"/crop*.tif
gdal_translate -q -of PNG -co ZLEVEL=9 "$WORK/strip.vrt" "$OUT"
rm -f "$OUT.aux.xml"  # GDAL's side file: the PNG says it all
echo "wrote $OUT"
