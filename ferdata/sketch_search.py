"""Exact k nearest neighbours of pixel rows, with most rows ruled out by lower bounds from a PCA sketch.

A row's sketch is its projection p on a few principal directions (fitted on a subsample) and the length r of
what the projection leaves out. For rows x and y, ||x - y||^2 = ||p_x - p_y||^2 + ||e_x - e_y||^2, which is at
least ||p_x - p_y||^2 + (r_x - r_y)^2: the squared distance of their sketches. Per block of queries:
1. one float32 matrix product gives the bound to every row, and a compiled scan keeps the `candidates`
   smallest;
2. the candidates' exact squared distances (whole numbers, from the uint8 pixels) give the k nearest among
   them;
3. that answer is proven when the smallest bound left out exceeds the k-th distance (less a margin far above
   float32's rounding). For the queries where it does not, every row whose bound is within the k-th distance
   is scored exactly.
Ties are broken by row number, as ferdata's brute-force search breaks them, so both give the same neighbours.
The basis only sets the speed, never the answer. The kernels are compiled by numba for the CPU they run on.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

_FIT_ROWS = 8192  # the basis is fitted on an evenly spaced subsample: it only has to rule rows out
_MARGIN = 1e-4  # x (|query|^2 + max |row|^2): float32 products of 64 terms round by < 1e-5 of that
_UNSET = np.iinfo(np.int64).max
_LANES = 16  # bounds looked at together before one by one
_QUERY_BLOCK = 256  # queries per task: each task multiplies them by `_ROW_TILE` rows at a time
_ROW_TILE = 4096  # 256 x 4096 float32 products (4 MiB) are scanned while still in cache


@njit(cache=True, nogil=True, inline="always")
def _squared_distance(a: np.ndarray, b: np.ndarray) -> np.int64:
    total = np.int32(0)  # 2304 x 255^2 < 2^31
    for i in range(a.size):
        difference = np.int32(a[i]) - np.int32(b[i])
        total += difference * difference
    return np.int64(total)


@njit(cache=True, nogil=True, inline="always")
def _insert(distances: np.ndarray, index: np.ndarray, distance: np.int64, row: np.int64) -> bool:
    """Put (distance, row) into a query's sorted k best, if it belongs there and is not there yet."""
    k = distances.size
    if distance > distances[k - 1] or (distance == distances[k - 1] and row >= index[k - 1]):
        return False
    for p in range(k):
        if index[p] == row:
            return False
    p = k - 1
    while p > 0 and (distances[p - 1] > distance or (distances[p - 1] == distance and index[p - 1] > row)):
        distances[p] = distances[p - 1]
        index[p] = index[p - 1]
        p -= 1
    distances[p] = distance
    index[p] = row
    return True


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _lowest(products, row_norms, q, first) -> np.float32:
    """The smallest of 16 bounds (less |q|^2): a vectorised look before the row-by-row one."""
    lowest = np.float32(np.inf)
    for j in range(first, first + _LANES):
        lowest = min(lowest, row_norms[j] + products[q, j])
    return lowest


@njit(cache=True, nogil=True)
def _keep_smallest(products, row_norms, offset, best, best_index) -> None:
    """Per query, the smallest bounds less |q|^2 (|row|^2 - 2 q.row) and their rows, sorted (insertion).

    `products` hold -2 q.row for the rows from `offset` on: the queries' sketches come doubled and negated
    (exactly) into the matrix product.
    """
    last = best.shape[1] - 1
    width = products.shape[1]
    for q in range(products.shape[0]):
        worst = best[q, last]
        for first in range(0, width, _LANES):
            if first + _LANES <= width and _lowest(products, row_norms, q, first) >= worst:
                continue
            for j in range(first, min(first + _LANES, width)):
                value = row_norms[j] + products[q, j]
                if value < worst:
                    p = last
                    while p > 0 and best[q, p - 1] > value:
                        best[q, p] = best[q, p - 1]
                        best_index[q, p] = best_index[q, p - 1]
                        p -= 1
                    best[q, p] = value
                    best_index[q, p] = j + offset
                    worst = best[q, last]


@njit(cache=True, nogil=True)
def _nearest_among(queries, data, candidates, distances, index) -> None:
    """Each query's k nearest rows among its candidates, exactly."""
    for q in range(len(queries)):
        distances[q, :] = _UNSET
        index[q, :] = _UNSET
        for c in range(candidates.shape[1]):
            row = candidates[q, c]
            _insert(distances[q], index[q], _squared_distance(queries[q], data[row]), row)


@njit(cache=True, nogil=True)
def _nearest_within(queries, data, products, row_norms, offset, query_norms, margins, distances, index) -> None:
    """Scores exactly every row whose bound is within a query's k-th distance (+ margin), keeping the k best;
    the limit shrinks as closer rows are found."""
    last = distances.shape[1] - 1
    width = products.shape[1]
    for q in range(products.shape[0]):
        limit = np.float32(distances[q, last] + margins[q] - query_norms[q])
        for first in range(0, width, _LANES):
            if first + _LANES <= width and _lowest(products, row_norms, q, first) > limit:
                continue
            for j in range(first, min(first + _LANES, width)):
                if row_norms[j] + products[q, j] <= limit:
                    row = j + offset
                    if _insert(distances[q], index[q], _squared_distance(queries[q], data[row]), row):
                        limit = np.float32(distances[q, last] + margins[q] - query_norms[q])


class SketchSearch:
    """Exact k-NN of uint8 rows (N, D) in the sketch's pruned search; `kneighbors` gives squared distances."""

    def __init__(self, data: np.ndarray, components: int, candidates: int) -> None:
        if data.shape[1] * 255**2 >= 2**31:
            raise ValueError(f"rows of {data.shape[1]} pixels: squared distances would overflow int32")
        self.data = np.ascontiguousarray(data, dtype=np.uint8)
        self.candidates = candidates
        sample = self.data[np.linspace(0, len(data) - 1, min(len(data), _FIT_ROWS)).astype(np.int64)]
        pca = PCA(min(components, *sample.shape), svd_solver="randomized", iterated_power=2, random_state=0)
        pca.fit(sample)
        self.mean = pca.mean_.astype(np.float64)
        self.basis = np.linalg.qr(pca.components_.T.astype(np.float64))[0]  # orthonormal: the bound needs it
        self.sketch, self.norms = self._sketch(self.data)
        self.sketch_columns = np.ascontiguousarray(self.sketch.T)  # the layout BLAS multiplies fastest
        self.row_norms = self.norms.astype(np.float32)
        self.largest_norm = float(self.norms.max())

    def _sketch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[projection, residual length] in float32, and their squared lengths, in blocks of rows."""
        sketch = np.empty((len(rows), self.basis.shape[1] + 1), np.float32)
        for first in range(0, len(rows), 4096):
            centred = rows[first : first + 4096].astype(np.float64) - self.mean
            projected = centred @ self.basis
            residual = np.einsum("ij,ij->i", centred, centred) - np.einsum("ij,ij->i", projected, projected)
            sketch[first : first + 4096, :-1] = projected
            sketch[first : first + 4096, -1] = np.sqrt(np.maximum(residual, 0))
        as_float64 = sketch.astype(np.float64)
        return sketch, np.einsum("ij,ij->i", as_float64, as_float64)

    def kneighbors(self, queries: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Squared distances (int64) and rows of each query's k nearest, nearest first, ties by row."""
        if queries is None:
            queries, sketch, norms = self.data, self.sketch, self.norms
        else:
            queries = np.ascontiguousarray(queries, dtype=np.uint8)
            sketch, norms = self._sketch(queries)
        distances = np.empty((len(queries), k), np.int64)
        index = np.empty((len(queries), k), np.int64)
        margins = _MARGIN * (norms + self.largest_norm)

        def search(first: int) -> None:
            rows = slice(first, first + _QUERY_BLOCK)
            self._search_block(
                queries[rows], -2 * sketch[rows], norms[rows], margins[rows], distances[rows], index[rows]
            )

        # Each thread multiplies with a one-thread BLAS and scans in compiled code that releases the GIL:
        # no two thread pools take turns on the cores.
        with threadpool_limits(1, "blas"), ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
            list(pool.map(search, range(0, len(queries), _QUERY_BLOCK)))
        return distances, index

    def _search_block(self, queries, doubled_sketch, norms, margins, distances, index) -> None:
        """Steps 1-3 for one block of queries, into `distances` and `index`."""
        taken = min(max(self.candidates, distances.shape[1]), len(self.data))
        best = np.full((len(queries), taken + 1), np.inf, np.float32)
        best_index = np.zeros((len(queries), taken + 1), np.int64)
        for first in range(0, len(self.data), _ROW_TILE):
            tile = slice(first, first + _ROW_TILE)
            products = doubled_sketch @ self.sketch_columns[:, tile]
            _keep_smallest(products, self.row_norms[tile], first, best, best_index)
        _nearest_among(queries, self.data, best_index[:, :taken], distances, index)
        unsure = np.flatnonzero(best[:, taken].astype(np.float64) + norms - margins <= distances[:, -1])
        if not len(unsure):
            return
        found_d, found_i = distances[unsure], index[unsure]
        for first in range(0, len(self.data), _ROW_TILE):
            tile = slice(first, first + _ROW_TILE)
            products = doubled_sketch[unsure] @ self.sketch_columns[:, tile]
            args = (self.row_norms[tile], first, norms[unsure], margins[unsure], found_d, found_i)
            _nearest_within(queries[unsure], self.data, products, *args)
        distances[unsure], index[unsure] = found_d, found_i
