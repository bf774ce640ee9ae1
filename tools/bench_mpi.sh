#!/usr/bin/env bash
# One process x 2 threads against `mpirun -np 1` x 2 threads and `mpirun -np 2` x 1 thread, on a
# batch of 4 scenes and on one scene (the figures in docs/SCALING.md). Prints wall seconds.
#   tools/bench_mpi.sh BUILD/satsal MODEL.pt [WORKDIR]
set -euo pipefail
satsal=$(realpath "$1"); model=$(realpath "$2"); work=${3:-$(mktemp -d /tmp/satsal-bench-mpi.XXXXXX)}
mkdir -p "$work/scenes" "$work/one"
for i in 1 2 3 4; do "$satsal" make-scene "$work/scenes/s$i.tif" --size 1024x1024 --seed "$i" >/dev/null 2>&1; done
cp "$work/scenes/s1.tif" "$work/one/"
printf 'model = %s\nbatch_size = 4\nscene = %s/scenes\noutput_dir = %s/out\ntile_size = 512\nmargin = 128\nquiet = true\n' \
  "$model" "$work" "$work" > "$work/batch.ini"
seconds() { local start; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2; echo "$(date +%s.%N) - $start" | bc; }
mpi=(mpirun --allow-run-as-root --oversubscribe)
for what in scenes one; do
  run=("$satsal" run "$work/batch.ini" --set "scene=$work/$what" --restart)
  a=$(seconds "${run[@]}" --set threads=2 --set "output_dir=$work/a")
  b=$(seconds "${mpi[@]}" -np 2 "${run[@]}" --set threads=1 --set "output_dir=$work/b")
  c=$(seconds "${mpi[@]}" -np 1 "${run[@]}" --set threads=2 --set "output_dir=$work/c")
  d=$(seconds "${mpi[@]}" --bind-to none -np 1 "${run[@]}" --set threads=2 --set "output_dir=$work/d")
  echo "$what: 1 process x 2 threads $a s; mpirun -np 2 x 1 thread $b s; mpirun -np 1 x 2 threads $c s (--bind-to none: $d s)"
  rm -rf "$work/a" "$work/b" "$work/c" "$work/d"
done
