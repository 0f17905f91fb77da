"""Run a function in a fresh process and report its best wall time, its peak memory above what the process
held when it started, and what it returned."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

_PAGE = 4096


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _child(function: Callable, args: tuple, repeats: int) -> tuple[float, float, object]:
    baseline, peak = _rss(), [0]
    done = threading.Event()

    def sample() -> None:  # polls resident memory: sees allocations of numpy, torch and C libraries alike
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    done.set()
    sampler.join()
    return best, (max(peak[0], _rss()) - baseline) / 2**20, result


def measure(function: Callable, *args, repeats: int = 1) -> tuple[float, float, object]:
    """(best seconds, peak extra MiB, result) of `function(*args)` in a new process (imports already paid)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_child, function, args, repeats).result()


def machine() -> str:
    """Where a benchmark ran: the CPU model, the cores, and what the kernels were built for: torch's CPU
    capability, OpenBLAS's kernels (numpy's products) and numba's target (`benchmarks/avx2.sh` sets the last
    three to what a CPU with AVX2 and no AVX-512 runs)."""
    import os

    import llvmlite.binding
    import torch
    from numba.core import config
    from threadpoolctl import threadpool_info

    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    blas = ", ".join(
        f"{pool['internal_api']} {pool.get('architecture')}" for pool in threadpool_info() if pool["user_api"] == "blas"
    )
    target = config.CPU_NAME or llvmlite.binding.get_host_cpu_name()
    features = f" ({config.CPU_FEATURES})" if config.CPU_FEATURES else ""
    return (
        f"CPU: {model}; {cores} cores; torch capability {torch.backends.cpu.get_cpu_capability()}; "
        f"BLAS {blas or 'none loaded'}; numba compiles for {target}{features}"
    )
