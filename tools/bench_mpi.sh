#!/usr/bin/env bash
# One process x 2 threads against `mpirun -np 2` (threads = 0: satsal's choice per rank; 1; 2)
# and `mpirun -np 1` x 2 threads, on a batch of 4 scenes and on one scene (the figures in
# docs/SCALING.md). Prints wall seconds and CPU seconds (user + system of every process: on a
# shared machine the CPU seconds are the steadier figure) and which BLAS libblas.so.3 is.
#   tools/bench_mpi.sh BUILD/satsal MODEL.pt [WORKDIR]
# OPENBLAS_DIR=/path/to/openblas-openmp (a folder holding OpenBLAS's libblas.so.3, e.g. extracted
# from Debian's libopenblas0-openmp without installing it) adds `mpirun -np 2` x 1 thread with it.
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
for what in scenes one; do
  run=("$satsal" run "$work/batch.ini" --set "scene=$work/$what" --restart)
  echo "$what:"
  echo "  1 process x 2 threads:                   $(measure "${run[@]}" --set threads=2 --set "output_dir=$work/a")"
  echo "  mpirun -np 2, threads = 0 (per rank):    $(measure "${mpi[@]}" -np 2 "${run[@]}" --set threads=0 --set "output_dir=$work/g")"
  echo "  mpirun -np 2 x 1 thread:                 $(measure "${mpi[@]}" -np 2 "${run[@]}" --set threads=1 --set "output_dir=$work/b")"
  echo "  mpirun -np 2 --bind-to none x 2 threads: $(measure "${mpi[@]}" --bind-to none -np 2 "${run[@]}" --set threads=2 --set "output_dir=$work/e")"
  echo "  mpirun -np 1 x 2 threads:                $(measure "${mpi[@]}" -np 1 "${run[@]}" --set threads=2 --set "output_dir=$work/c")"
  echo "  mpirun -np 1 --bind-to none x 2 threads: $(measure "${mpi[@]}" --bind-to none -np 1 "${run[@]}" --set threads=2 --set "output_dir=$work/d")"
  if [ -n "${OPENBLAS_DIR:-}" ]; then
    echo "  mpirun -np 2 x 1 thread, OpenBLAS:       $(LD_LIBRARY_PATH="$OPENBLAS_DIR" measure "${mpi[@]}" -x LD_LIBRARY_PATH -np 2 "${run[@]}" --set threads=1 --set "output_dir=$work/f")"
  fi
  rm -rf "$work/a" "$work/b" "$work/c" "$work/d" "$work/e" "$work/f" "$work/g"
done
