#!/bin/sh
# Compare frugal's SGEMM with OpenBLAS side by side (2 threads by default).
#   bench/openblas/run.sh [-sizes 256,512,1024] [-threads 2] [-json]
# Installs libopenblas-dev when missing. OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE are unset for this command only, so OpenBLAS detects the
# CPU itself and uses its AVX-512 (SkylakeX/Cooperlake) SGEMM kernel.
set -e
cd "$(dirname "$0")"
if ! [ -e /usr/include/x86_64-linux-gnu/cblas.h ] && ! [ -e /usr/include/cblas.h ]; then
	apt-get install -y libopenblas-dev >/dev/null
fi
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE GOFLAGS=-mod=mod CGO_ENABLED=1 go run . "$@"
