#!/usr/bin/env bash
# The multithreaded standard-container program (tests/integration/data/mt_containers.cc, built by GN as
# $SCALLOC_OUT/mt_containers) under the scalloc preload libraries: same checksum as with the system malloc,
# for several thread counts, and repeated runs so interleaving-dependent bugs get more than one chance.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROGRAM="$SCALLOC_OUT/mt_containers"

if [[ ! -x "$PROGRAM" ]]; then
  # Part of the build (//tests/integration:mt_containers), so its absence is a failure, not a skip.
  it_fail mt_containers "missing $PROGRAM (build //tests:all)"
else
  it_check_preload_active
  it_compare mt_containers_8x8 "$PROGRAM" 8 8
  it_compare mt_containers_2x20 "$PROGRAM" 2 20
  it_compare mt_containers_32x2 "$PROGRAM" 32 2
  for run in 1 2 3; do
    it_compare "mt_containers_16x4_run$run" "$PROGRAM" 16 4
  done
fi

it_finish
