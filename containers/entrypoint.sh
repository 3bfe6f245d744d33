#!/bin/sh
# The images' entry point: `IMAGE run STUDY --out /out/x` runs csefem; a first argument
# that is a program (`IMAGE mpiexec -n 2 csefem run ...`, `IMAGE bash`) runs that program.
# A --out folder this uid cannot create is refused here with one line and exit status 2
# (a bind mount keeps the host's owner: run with --user "$(id -u):$(id -g)").
set -eu
prev=""
for arg in "$@"; do
    if [ "$prev" = "--out" ]; then
        dir=$arg
        while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done
        if [ ! -w "$dir" ]; then
            echo "csefem: error: --out: expected a folder writable by uid $(id -u), got '$arg'" \
                 "($dir is not writable; run docker with --user \"\$(id -u):\$(id -g)\")" >&2
            exit 2
        fi
    fi
    prev=$arg
done
case "${1:-}" in
    "" | -* | materials | check | mesh | run | report) exec csefem "$@" ;;
    *) exec "$@" ;;
esac
