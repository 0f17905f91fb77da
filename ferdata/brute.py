"""Exact brute-force k-NN in chunked torch matrix products, on the GPU when there is one.

On the CPU, data of whole numbers 0..255 (every ferdata image) are shifted to -128..127 and multiplied exactly,
by the faster of two kernels on the running CPU (`kernel: auto`, timed once per process; `int8` or `float32`
force one): int8 products accumulating in int32 (about 7x float32's throughput with AVX-512 VNNI, ~95x slower
without it, and taken only where a check finds them exact), or float32 products over slices of 1,024 pixels,
each exact, added in int32. Both give the same neighbours, ordered by distance and then by row, as the sketch
search orders them.
"""

import functools
import time

import numpy as np
import torch

from ferdata.errors import FerdataError

_BLOCK_ROWS = 1024
_FLOAT_SLACK = 32  # > the float32 rounding of a pixel score (|score| < 2^27: 10 at most)
_EXACT_WIDTH = 1024  # |a * b| <= 128^2 for shifted pixels, so a sum of 1,024 of them stays within 2^24


class BruteForce:
    """Every query against every row; `kneighbors` gives squared distances (exact for pixel data on the CPU)."""

    def __init__(self, data: np.ndarray, device: torch.device, kernel: str, chunk_rows: int) -> None:
        self.device, self.chunk_rows = device, chunk_rows
        self.data = torch.as_tensor(np.asarray(data, dtype=np.float32), device=device)
        self.norms = (self.data * self.data).sum(1)
        self.pixels = device.type == "cpu" and _are_pixels(self.data)
        if self.pixels:
            self.kernel = pixel_kernel(kernel)
            self.shifted = _shifted(self.data, self.kernel)
            self.shifted_norms = _squared_norms(self.shifted)

    def kneighbors(self, queries: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Squared distances (float64) and rows of each query's k nearest, nearest first."""
        rows = self.data if queries is None else torch.as_tensor(np.asarray(queries, np.float32), device=self.device)
        distances, indices = [], []
        for first in range(0, len(rows), self.chunk_rows):
            chunk = rows[first : first + self.chunk_rows]
            if self.pixels and _are_pixels(chunk):
                shifted = _shifted(chunk, self.kernel)
                scores, candidates = _nearest_pixels(shifted, self.shifted, self.shifted_norms, k, self.kernel)
                squared = scores + _squared_norms(shifted)[:, None]
            else:  # computed directly: no float32 cancellation in what is returned
                _, candidates = _nearest(chunk, self.data, self.norms, k)
                squared, order = ((self.data[candidates] - chunk[:, None, :]) ** 2).sum(-1).sort(dim=1, stable=True)
                candidates = candidates.gather(1, order)
            distances.append(squared.cpu().double())
            indices.append(candidates.cpu())
        if not indices:
            return np.zeros((0, k)), np.zeros((0, k), np.int64)
        return torch.cat(distances).numpy(), torch.cat(indices).numpy()


def _nearest(
    queries: torch.Tensor, data: torch.Tensor, norms: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores and indices of the k nearest rows of `data` (brute force; one fused matrix product).

    ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2, and ||q||^2 does not change a row's ranking, so it is left out.
    """
    scores = torch.addmm(norms[None, :], queries, data.T, alpha=-2)
    return torch.topk(scores, min(k, len(data)), dim=1, largest=False, sorted=True)


def _are_pixels(values: torch.Tensor) -> bool:
    """Whole numbers within 0..255, exactly representable as int8 after a shift of -128 (checked in row
    blocks, so the temporaries stay small)."""
    return all(bool(((b >= 0) & (b <= 255) & (b == b.round())).all()) for b in values.split(_BLOCK_ROWS))


def _shifted(values: torch.Tensor, kernel: str) -> torch.Tensor:
    """Shifted by -128 (distances do not change under a shift) into the kernel's type, in row blocks."""
    dtype = torch.int8 if kernel == "int8" else torch.float32
    return torch.cat([(b - 128).to(dtype) for b in values.split(_BLOCK_ROWS)])


def _squared_norms(shifted: torch.Tensor) -> torch.Tensor:
    return torch.cat([(b.long() ** 2).sum(1) for b in shifted.split(_BLOCK_ROWS)])


@functools.cache
def int8_products_are_faster() -> bool:
    """Whether torch's int8 matrix product beats float32 on this CPU: with VNNI it does by ~7x, without it
    it is ~95x slower. Timed once per process on a 128 x 2304 by 2304 x 256 product (milliseconds)."""
    generator = torch.Generator().manual_seed(0)
    queries = torch.randint(-128, 128, (128, 2304), generator=generator).to(torch.int8)
    data = torch.randint(-128, 128, (256, 2304), generator=generator).to(torch.int8)
    float_queries, float_data = queries.float(), data.float()

    def best_of_three(product) -> float:
        product()  # warm-up: kernel selection, first-touch allocations
        times = []
        for _ in range(3):
            start = time.perf_counter()
            product()
            times.append(time.perf_counter() - start)
        return min(times)

    int8_time = best_of_three(lambda: torch._int_mm(queries, data.T))
    return int8_time < best_of_three(lambda: _exact_products(float_queries, float_data, "float32"))


@functools.cache
def int8_products_are_exact() -> bool:
    """Whether torch's int8 matrix product is exact on this CPU. Without VNNI, a kernel may add pairs of byte
    products into saturating 16-bit sums (vpmaddubsw), which clips the products of large pixels (seen with
    torch's AVX2 kernels). Checked once per process on rows of the extremes, -128 and 127."""
    generator = torch.Generator().manual_seed(0)
    queries, data = ((torch.randint(0, 2, (n, 2304), generator=generator) * 255 - 128).to(torch.int8) for n in (32, 48))
    return torch.equal(torch._int_mm(queries, data.T).long(), queries.long() @ data.long().T)


def pixel_kernel(kernel: str) -> str:
    """The product kernel pixel data take: the one asked for, or (auto) int8 where it is exact and faster."""
    if kernel == "int8" and not int8_products_are_exact():
        raise FerdataError("build.neighbors.kernel int8: int8 matrix products are not exact on this CPU; use auto")
    if kernel != "auto":
        return kernel
    return "int8" if int8_products_are_exact() and int8_products_are_faster() else "float32"


def _exact_products(queries: torch.Tensor, data: torch.Tensor, kernel: str) -> torch.Tensor:
    """queries @ data.T of shifted pixels (whole numbers -128..127), exact, in int32.

    int8: accumulates in int32 (2304 x 128^2 < 2^31). float32: over slices of 1,024 pixels, where every partial
    sum, in whatever order the matrix product adds, is a whole number of magnitude at most 2^24, which float32
    holds exactly; the slices are added in int32.
    """
    if kernel == "int8":
        return torch._int_mm(queries, data.T)
    total = torch.zeros(len(queries), len(data), dtype=torch.int32, device=queries.device)
    for first in range(0, queries.shape[1], _EXACT_WIDTH):
        total += (queries[:, first : first + _EXACT_WIDTH] @ data[:, first : first + _EXACT_WIDTH].T).to(torch.int32)
    return total


def _nearest_pixels(
    queries: torch.Tensor, data: torch.Tensor, norms: torch.Tensor, k: int, kernel: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """`_nearest` for shifted pixels, exact (`_exact_products`), ties broken by row: exact scores (int64) and rows.

    Whole-matrix arithmetic is cheaper in float32 than in int32 here, but float32 rounds scores of this
    size by up to 10. So float32 scores pick `k + 8` candidates, the candidates are scored exactly, and a row
    is certain when its k-th exact score is more than `_FLOAT_SLACK` below every score it did not take;
    the few other rows are scored exactly in full. Scores and rows sort as one key, score x rows + row.
    """
    products = _exact_products(queries, data, kernel)
    rough = torch.add(norms.float()[None, :], products.float(), alpha=-2)
    take = min(k + 8, len(data))
    rough_taken, candidates = torch.topk(rough, take, dim=1, largest=False, sorted=True)
    keys = (norms[candidates] - 2 * products.gather(1, candidates).long()) * len(data) + candidates
    keys = keys.sort(dim=1).values[:, :k]
    if take < len(data):
        unsure = torch.nonzero(_score(keys[:, -1], len(data)) >= rough_taken[:, -1] - _FLOAT_SLACK).ravel()
        if len(unsure):
            every_row = torch.arange(len(data), device=data.device)
            full = (norms[None, :] - 2 * products[unsure].long()) * len(data) + every_row
            keys[unsure] = torch.topk(full, k, dim=1, largest=False, sorted=True).values
    scores = _score(keys, len(data))
    return scores, keys - scores * len(data)


def _score(keys: torch.Tensor, rows: int) -> torch.Tensor:
    return torch.div(keys, rows, rounding_mode="floor")
