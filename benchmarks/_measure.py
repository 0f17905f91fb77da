"""Run a function in a fresh process and report its best wall time and peak memory above the idle baseline."""

import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def _child(function: Callable, args: tuple, repeats: int) -> tuple[float, float]:
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return best, (peak - baseline) / 1024  # ru_maxrss is in KiB on Linux


def measure(function: Callable, *args, repeats: int = 2) -> tuple[float, float]:
    """(best seconds, peak extra MiB) of `function(*args)` in a new process (imports already paid)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_child, function, args, repeats).result()
