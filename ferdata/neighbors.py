"""k-nearest-neighbour search for imbalanced-learn's samplers, with pluggable backends.

The search dominates the cost of SMOTE, Tomek links and ENN on 2304-pixel images. `Neighbors` is a
scikit-learn style estimator (`fit`, `kneighbors`, `kneighbors_graph`), so imbalanced-learn takes it in
place of its default `NearestNeighbors`; it is cloned there, so it holds only plain parameters.

Backends:
- `sklearn`: scikit-learn's exact `NearestNeighbors`, imbalanced-learn's default search.
- `torch`: exact brute force with chunked matrix products, on the GPU when there is one. On the CPU, data of
  whole numbers 0..255 (every ferdata image) are shifted to -128..127 and multiplied exactly, by the faster
  of two kernels on the running CPU (`kernel: auto`, timed once per process; `int8` or `float32` force one):
  int8 products accumulating in int32 (about 7x float32's throughput with AVX-512 VNNI, ~95x slower without
  it), or float32 products over slices of 1,024 pixels, each exact, added in int32. Both give the same
  neighbours.
- `pca`: approximate. Candidates come from a compact sketch of each image, its PCA projection to
  `components` dimensions plus the length of what the projection leaves out (sketch distances never exceed
  true ones), and the best `candidates` extra of them are re-ranked by their true distances. Data of at most
  `SKETCH_ABOVE` rows is searched exactly: there the sketch costs more than it saves.
"""

import functools
import time

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from ferdata.device import pick_device

BACKENDS = ("sklearn", "torch", "pca")
KERNELS = ("auto", "int8", "float32")
SKETCH_ABOVE = 16384
_BLOCK_ROWS = 1024
_FLOAT_SLACK = 32  # > the float32 rounding of a pixel score (|score| < 2^27: 10 at most)
_EXACT_WIDTH = 1024  # |a * b| <= 128^2 for shifted pixels, so a sum of 1,024 of them stays within 2^24
_PCA_FIT_ROWS = 8192  # the PCA basis is fitted on an evenly spaced subsample: it only proposes candidates


class Neighbors(BaseEstimator):
    """k nearest rows of the fitted data, nearest first (a query in the data finds itself)."""

    def __init__(
        self,
        n_neighbors: int = 6,
        backend: str = "torch",
        components: int = 64,
        candidates: int = 8,
        chunk_rows: int = 1024,
        device: str = "auto",
        kernel: str = "auto",
        n_jobs: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.backend = backend
        self.components = components
        self.candidates = candidates
        self.chunk_rows = chunk_rows
        self.device = device
        self.kernel = kernel
        self.n_jobs = n_jobs  # imblearn's ENN sets it; only the sklearn backend uses it

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> "Neighbors":
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown neighbour backend {self.backend!r} (known: {', '.join(BACKENDS)})")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown product kernel {self.kernel!r} (known: {', '.join(KERNELS)})")
        self.n_samples_fit_ = len(X)
        if self.backend == "sklearn":
            self.sklearn_ = NearestNeighbors(n_neighbors=self.n_neighbors, n_jobs=self.n_jobs).fit(X)
            return self
        self.device_ = pick_device(self.device)
        self.data_ = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device_)
        self.norms_ = (self.data_ * self.data_).sum(1)
        self.pixels_ = self.device_.type == "cpu" and _are_pixels(self.data_)
        if self.pixels_:
            self.kernel_ = pixel_kernel(self.kernel)
            self.shifted_ = _shifted(self.data_, self.kernel_)
            self.shifted_norms_ = torch.cat([(b.int() ** 2).sum(1) for b in self.shifted_.split(_BLOCK_ROWS)])
        self.sketched_ = self.backend == "pca" and len(X) > SKETCH_ABOVE
        if self.sketched_:
            components = min(self.components, X.shape[1], len(X))
            sample = X if len(X) <= _PCA_FIT_ROWS else X[np.linspace(0, len(X) - 1, _PCA_FIT_ROWS).astype(int)]
            pca = PCA(components, svd_solver="randomized", random_state=0).fit(sample)
            self.basis_ = torch.as_tensor(pca.components_.T.astype(np.float32), device=self.device_)
            self.sketch_ = torch.cat([self._sketch(c) for c in self.data_.split(self.chunk_rows)])
            self.sketch_norms_ = (self.sketch_ * self.sketch_).sum(1)
        return self

    def _sketch(self, rows: torch.Tensor) -> torch.Tensor:
        """[projection, length of the residual]: Euclidean distances here bound true ones from below."""
        projected = rows @ self.basis_
        residual = (rows - projected @ self.basis_.T).norm(dim=1, keepdim=True)
        return torch.cat([projected, residual], dim=1)

    def kneighbors(
        self, X: np.ndarray | None = None, n_neighbors: int | None = None, return_distance: bool = True
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        k = n_neighbors or self.n_neighbors
        if k > self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, n_samples_fit = "
                f"{self.n_samples_fit_}, n_samples = {self.n_samples_fit_ if X is None else len(X)}"
            )
        if self.backend == "sklearn":
            return self.sklearn_.kneighbors(X, k, return_distance)
        queries = self.data_ if X is None else torch.as_tensor(np.asarray(X, np.float32), device=self.device_)
        distances, indices = [], []
        for first in range(0, len(queries), self.chunk_rows):
            chunk = queries[first : first + self.chunk_rows]
            if self.sketched_:
                _, candidates = _nearest(self._sketch(chunk), self.sketch_, self.sketch_norms_, k + self.candidates)
                candidates = _rerank(chunk, self.data_, self.norms_, candidates)[:, :k]
            elif self.pixels_ and _are_pixels(chunk):
                shifted = _shifted(chunk, self.kernel_)
                _, candidates = _nearest_pixels(shifted, self.shifted_, self.shifted_norms_, k, self.kernel_)
            else:
                _, candidates = _nearest(chunk, self.data_, self.norms_, k)
            if return_distance:  # computed directly: no float32 cancellation in what is returned
                d, order = _squared_to(chunk, self.data_, candidates).sort(dim=1, stable=True)
                distances.append(d)
                candidates = candidates.gather(1, order)
            indices.append(candidates)
        index = torch.cat(indices).cpu().numpy() if indices else np.zeros((0, k), np.int64)
        if not return_distance:
            return index
        return torch.cat(distances).clamp_min(0).sqrt().cpu().numpy().astype(np.float64), index

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity") -> sparse.csr_matrix:
        k = n_neighbors or self.n_neighbors
        distances, indices = self.kneighbors(X, k, return_distance=True)
        values = distances.ravel() if mode == "distance" else np.ones(indices.size)
        rows = np.repeat(np.arange(len(indices)), k)
        return sparse.csr_matrix((values, (rows, indices.ravel())), shape=(len(indices), self.n_samples_fit_))


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


def pixel_kernel(kernel: str) -> str:
    """The product kernel pixel data take: the one asked for, or (auto) the faster on this CPU."""
    if kernel != "auto":
        return kernel
    return "int8" if int8_products_are_faster() else "float32"


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
    """`_nearest` for shifted pixels, exact: their products are exact in int32 (`_exact_products`).

    Whole-matrix arithmetic is cheaper in float32 than in int32 here, but float32 rounds scores of this
    size by up to 10. So float32 scores pick `k + 8` candidates, the candidates are scored exactly, and a row
    is certain when its k-th exact score is more than `_FLOAT_SLACK` below every score it did not take;
    the few other rows are scored exactly in full.
    """
    products = _exact_products(queries, data, kernel)
    rough = torch.add(norms.float()[None, :], products.float(), alpha=-2)
    take = min(k + 8, len(data))
    rough_taken, candidates = torch.topk(rough, take, dim=1, largest=False, sorted=True)
    scores = norms[candidates] - 2 * products.gather(1, candidates)
    scores, order = scores.sort(dim=1, stable=True)
    scores, candidates = scores[:, :k], candidates.gather(1, order)[:, :k]
    if take < len(data):
        unsure = torch.nonzero(scores[:, -1] >= rough_taken[:, -1] - _FLOAT_SLACK).ravel()
        if len(unsure):
            full = norms.long()[None, :] - 2 * products[unsure].long()
            exact_scores, exact_candidates = torch.topk(full, k, dim=1, largest=False, sorted=True)
            scores[unsure] = exact_scores.to(scores.dtype)
            candidates[unsure] = exact_candidates
    return scores, candidates


def _rerank(queries: torch.Tensor, data: torch.Tensor, norms: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The candidate indices ordered by true distance (one batched matrix product)."""
    scores = norms[index] - 2 * torch.bmm(data[index], queries[:, :, None]).squeeze(-1)
    return index.gather(1, scores.argsort(dim=1, stable=True))


def _squared_to(queries: torch.Tensor, data: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Squared distances from each query to its listed rows, computed directly."""
    return ((data[index] - queries[:, None, :]) ** 2).sum(-1)
