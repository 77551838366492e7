#!/usr/bin/env bash
# Sets up PyTorch as the peers and tutorial suites' peer, as ../shared/TOOLCHAIN.md says
# ("Peers to measure against"). Debian's python3-torch (1.13) calls whatever libblas.so.3 the
# loader finds first, which is the slow reference BLAS; so OpenBLAS's OpenMP build (which shares
# torch's OpenMP thread pool; the pthread build oversubscribes at 2 threads) is unpacked into
# bench/.peers/ (gitignored) and the suites put it first on LD_LIBRARY_PATH for the torch child
# only. Nothing here is needed to build or test Loom: CI does not run it.
#
# usage: bash bench/tools/setup-pytorch.sh   (as root for the apt-get install, once per machine)
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$bench_dir/.peers"

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "python3-torch: already installed"
elif [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch
else
  echo "python3-torch is missing: run 'apt-get install -y python3-torch' as root, then this script again" >&2
  exit 1
fi

lib="$peers/root/usr/lib/x86_64-linux-gnu/openblas-openmp"
if [ -e "$lib/libblas.so.3" ]; then
  echo "OpenBLAS (OpenMP build): already in $lib"
else
  mkdir -p "$peers"
  # apt-get download writes into the current folder; a subshell keeps the caller's.
  (cd "$peers" && rm -f libopenblas0-openmp_*.deb && apt-get download libopenblas0-openmp && dpkg -x libopenblas0-openmp_*.deb root)
fi

# The check the suites make, with the environment they give the child.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH="$lib" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  /usr/bin/python3 -c 'import torch; print("torch", torch.__version__, "ready; BLAS:", next((l.split()[-1] for l in open("/proc/self/maps") if "libblas" in l), "none loaded"))'
