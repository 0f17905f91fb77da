#!/bin/sh
# Runs a benchmark with every kernel built for a CPU with AVX2 and no AVX-512 or VNNI (a common server CPU),
# on whatever CPU this is: torch's dispatch, numpy's OpenBLAS kernels and numba's code generation. The clock
# and caches stay this machine's; the instructions are the other CPU's. Usage: benchmarks/avx2.sh python benchmarks/resample.py
export ATEN_CPU_CAPABILITY=avx2
export ONEDNN_MAX_CPU_ISA=AVX2
export OPENBLAS_CORETYPE=Haswell
export NUMBA_CPU_NAME=haswell
export NUMBA_CPU_FEATURES=+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+popcnt,+sse4.2,+sse4.1,+ssse3,+movbe,+cx16
exec "$@"
