"""k-nearest-neighbour search for imbalanced-learn's samplers, with pluggable backends.

The search dominates the cost of SMOTE, ADASYN, Tomek links and ENN on 2304-pixel images. `Neighbors` is a
scikit-learn style estimator (`fit`, `kneighbors`, `kneighbors_graph`), so imbalanced-learn takes it in
place of its default `NearestNeighbors`; it is cloned there, so it holds only plain parameters.

Backends (the exact ones order neighbours by distance, then by row, so they give the same neighbours):
- `auto` (default): `sketch` for pixel data on the CPU (it needs only float32 products, fast on every CPU, and
  never imports torch), `torch` for other data and on a GPU.
- `sketch`: exact, for pixel data (whole numbers 0..255) on the CPU: lower bounds from a PCA sketch rule out
  most rows, and the rest are scored exactly (`ferdata.sketch_search`). Other data go to `torch`.
- `torch`: exact brute force in chunked matrix products, on the GPU when there is one (`ferdata.brute`).
- `sklearn`: scikit-learn's exact `NearestNeighbors`, imbalanced-learn's default search.
"""

from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator

BACKENDS = ("auto", "sketch", "torch", "sklearn")
KERNELS = ("auto", "int8", "float32")  # the brute force's products on a CPU (`ferdata.brute.pixel_kernel`)


class Neighbors(BaseEstimator):
    """k nearest rows of the fitted data, nearest first (a query in the data finds itself, or an equal row)."""

    def __init__(
        self,
        n_neighbors: int = 6,
        backend: str = "auto",
        components: int = 63,
        candidates: int = 32,
        chunk_rows: int = 1024,
        device: str = "auto",
        kernel: str = "auto",
        queries_are_fitted_rows: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.backend = backend
        self.components = components
        self.candidates = candidates
        self.chunk_rows = chunk_rows
        self.device = device
        self.kernel = kernel
        # Set where the queries will be the fitted rows, asked for in parts (imblearn's ENN asks class by
        # class): the sketch search then answers them all from one self-search, which multiplies half as much.
        self.queries_are_fitted_rows = queries_are_fitted_rows
        self.n_jobs = n_jobs  # imblearn's ENN sets it; only the sklearn backend uses it

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> "Neighbors":
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown neighbour backend {self.backend!r} (known: {', '.join(BACKENDS)})")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown product kernel {self.kernel!r} (known: {', '.join(KERNELS)})")
        self.n_samples_fit_ = len(X)
        self.fitted_on_ = X  # imblearn asks for the fitted rows' own neighbours: those need no second sketch
        if self.backend == "sklearn":
            from sklearn.neighbors import NearestNeighbors

            self.search_ = NearestNeighbors(n_neighbors=self.n_neighbors, n_jobs=self.n_jobs).fit(X)
            return self
        prunes = self.backend == "sketch" or (self.backend == "auto" and not _on_gpu(self.device))
        pixels = _as_pixels(X) if prunes else None  # brute force checks for pixels itself
        self.sketched_ = pixels is not None
        if self.sketched_:
            from ferdata.sketch_search import SketchSearch

            self.search_ = SketchSearch(pixels, self.components, self.candidates)
        else:
            from ferdata.brute import BruteForce
            from ferdata.device import pick_device

            self.search_ = BruteForce(X, pick_device(self.device), self.kernel, self.chunk_rows)
        return self

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
            return self.search_.kneighbors(X, k, return_distance)
        squared, index = self._squared_neighbors(None if X is None or X is self.fitted_on_ else X, k)
        return (np.sqrt(squared.astype(np.float64)), index) if return_distance else index

    def _squared_neighbors(self, queries: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        if queries is None or not self.sketched_:
            return self.search_.kneighbors(queries, k)
        queries = _as_pixels(queries)
        if queries is None:
            raise ValueError("the sketch search was fitted on pixel rows and takes pixel rows (0..255)")
        rows = self.search_.rows_of(queries) if self.queries_are_fitted_rows else None
        if rows is None:
            return self.search_.kneighbors(queries, k)
        return self.search_.neighbors_of_rows(rows, k)

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity") -> sparse.csr_matrix:
        k = n_neighbors or self.n_neighbors
        distances, indices = self.kneighbors(X, k, return_distance=True)
        values = distances.ravel() if mode == "distance" else np.ones(indices.size)
        rows = np.repeat(np.arange(len(indices)), k)
        return sparse.csr_matrix((values, (rows, indices.ravel())), shape=(len(indices), self.n_samples_fit_))


def _as_pixels(values: np.ndarray) -> np.ndarray | None:
    """The rows as uint8 when every value is a whole number 0..255 (a cast that changes no value), else None."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return values
    pixels = np.empty(values.shape, np.uint8)
    with np.errstate(invalid="ignore"):  # a value outside 0..255 casts to some byte, which then differs from it
        for first in range(0, len(values), 4096):  # in blocks: no float temporaries the size of the data
            block = values[first : first + 4096]
            pixels[first : first + 4096] = block
            if not np.array_equal(pixels[first : first + 4096], block):
                return None
    return pixels


def _on_gpu(device: str) -> bool:
    """Whether the search would run on a GPU; `auto` asks torch only where an NVIDIA driver is loaded."""
    if device == "auto":
        if not Path("/proc/driver/nvidia/version").exists():
            return False
        from ferdata.device import pick_device

        return pick_device(device).type != "cpu"
    return device != "cpu"
