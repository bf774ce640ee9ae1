#!/usr/bin/env bash
# One process x 2 threads against `mpirun -np 2` (threads = 0: satsal's choice per rank; 1; 2)
# and `mpirun -np 1` x 2 threads, on a batch of 4 scenes and on one scene (the figures in
# docs/SCALING.md). Prints wall seconds and CPU seconds (user + system of every process: on a
# shared machine the CPU seconds are the steadier figure) and which BLAS libblas.so.3 is.
#   tools/bench_mpi.sh BUILD/satsal MODEL.pt [WORKDIR]
# OPENBLAS_DIR=/path/to/openblas-openmp (a folder holding OpenBLAS's libblas.so.3, e.g. extracted
# from Debian's libopenblas0-openmp without installing it) adds `mpirun -np 2` x 1 thread with it.
# ROWS="a b f" runs only those rows (letters below; default: all). For the one-scene case each row
# also prints pass 2 from run.json: its wall seconds and, for ranks sharing the scene, rank 0's
# busy write seconds and the other ranks' busy compute seconds (pass-2 blocks are split).
set -euo pipefail
satsal=$(realpath "$1"); model=$(realpath "$2"); work=${3:-$(mktemp -d /tmp/satsal-bench-mpi.XXXXXX)}
mkdir -p "$work/scenes" "$work/one"
for i in 1 2 3 4; do "$satsal" make-scene "$work/scenes/s$i.tif" --size 1024x1024 --seed "$i" >/dev/null 2>&1; done
cp "$work/scenes/s1.tif" "$work/one/"
printf 'model = %s\nbatch_size = 4\nscene = %s/scenes\noutput_dir = %s/out\ntile_size = 512\nmargin = 128\nquiet = true\n' \
  "$model" "$work" "$work" > "$work/batch.ini"
echo "libblas.so.3 is $(realpath /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
# "wall s / cpu s" of a command (its children's rusage included: mpirun waits for its ranks).
measure() {
  local out; out=$(/usr/bin/time -f '%e %U %S' "$@" 2>&1 >/dev/null | tail -1) || { echo "FAILED: $*" >&2; echo "- / -"; return; }
  awk '{printf "%.1f s wall / %.1f s cpu", $1, $2 + $3}' <<<"$out"
}
mpi=(mpirun --allow-run-as-root --oversubscribe)
rows=${ROWS:-a g b e c d f}
# Pass 2 of the one-scene run in output folder $1 (run.json of scene s1).
pass2() {
  local json="$1/s1/run.json"
  [ -f "$json" ] || return 0
  jq -r '"; pass 2 \(.seconds.pass2_combine_lovi_write * 10 | round / 10) s" +
         (if .ranks then " (rank 0 writes \([.ranks[0].pass2_write_seconds] | add * 10 | round / 10) s busy,"
           + " ranks 1.. compute \([.ranks[1:][].pass2_compute_seconds] | add * 10 | round / 10) s busy)" else "" end)' "$json"
}
row() {  # row LETTER LABEL COMMAND...: measured when LETTER is in ROWS
  local letter=$1 label=$2; shift 2
  [[ " $rows " == *" $letter "* ]] || return 0
  local figure; figure=$(measure "$@" --set "output_dir=$work/$letter")
  if [ "$what" = one ]; then figure="$figure$(pass2 "$work/$letter")"; fi
  printf '  %-41s %s\n' "$label:" "$figure"
  rm -rf "${work:?}/$letter"
}
for what in scenes one; do
  run=("$satsal" run "$work/batch.ini" --set "scene=$work/$what" --restart)
  echo "$what:"
  row a "1 process x 2 threads" "${run[@]}" --set threads=2
  row g "mpirun -np 2, threads = 0 (per rank)" "${mpi[@]}" -np 2 "${run[@]}" --set threads=0
  row b "mpirun -np 2 x 1 thread" "${mpi[@]}" -np 2 "${run[@]}" --set threads=1
  row e "mpirun -np 2 --bind-to none x 2 threads" "${mpi[@]}" --bind-to none -np 2 "${run[@]}" --set threads=2
  row c "mpirun -np 1 x 2 threads" "${mpi[@]}" -np 1 "${run[@]}" --set threads=2
  row d "mpirun -np 1 --bind-to none x 2 threads" "${mpi[@]}" --bind-to none -np 1 "${run[@]}" --set threads=2
  if [ -n "${OPENBLAS_DIR:-}" ]; then
    LD_LIBRARY_PATH="$OPENBLAS_DIR" row f "mpirun -np 2 x 1 thread, OpenBLAS" "${mpi[@]}" -x LD_LIBRARY_PATH -np 2 \
      "${run[@]}" --set threads=1
  fi
done
