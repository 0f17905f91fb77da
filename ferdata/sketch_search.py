"""Exact k nearest neighbours of pixel rows, with most rows ruled out by lower bounds from a PCA sketch.

A row's sketch is its projection p on a few principal directions (fitted on a subsample) and the length r of
what the projection leaves out. For rows x and y, ||x - y||^2 = ||p_x - p_y||^2 + ||e_x - e_y||^2, which is at
least ||p_x - p_y||^2 + (r_x - r_y)^2: the squared distance of their sketches. Per block of queries:
1. float32 matrix products give the bound to every row, and a compiled scan keeps the `candidates` smallest
   in a heap (a self-search multiplies each pair of blocks once and scans the product both ways). Each heap
   starts at a threshold from a few evenly spaced probe rows, so most rows are passed over at once;
2. the candidates are scored exactly (squared distances are whole numbers, from the uint8 pixels) in the
   order of their bounds, until the next bound exceeds the k-th distance found (less a margin far above
   float32's rounding): no row left can then be nearer;
3. for the queries where the candidates run out first, every row whose bound is within the k-th distance is
   scored exactly.
Ties are broken by row number, as ferdata's brute-force search breaks them, so both give the same neighbours.
The basis only sets the speed, never the answer. The kernels are compiled by numba for the CPU they run on.
"""

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

_FIT_ROWS = 2048  # the basis is fitted on an evenly spaced subsample, in float32: it only has to rule rows out
_MARGIN = 1e-4  # x (|query|^2 + max |row|^2): float32 products of 64 terms round by < 1e-5 of that
_UNSET = np.iinfo(np.int64).max
_LANES = 32  # bounds looked at together before one by one
_QUERY_BLOCK = 256  # queries per task: each task multiplies them by `_ROW_TILE` rows at a time
_ROW_TILE = 4096  # 256 x 4096 float32 products (4 MiB) are scanned while still in cache
_PROBES = 2048  # at most this many evenly spaced rows (a 16th of the set) set each query's starting threshold
_OPEN = -1  # the row of a heap entry no row has filled: it holds the query's starting threshold


@njit(cache=True, nogil=True, inline="always")
def _squared_distance(a: np.ndarray, b: np.ndarray) -> np.int64:
    # numba widens integer arithmetic to int64; narrowing each result back to int32 (2304 x 255^2 < 2^31) lets
    # LLVM use 16-bit differences and multiply-adds into 32-bit sums (vpmaddwd): 3x faster
    total = np.int32(0)
    for i in range(a.size):
        difference = np.int32(np.int32(a[i]) - np.int32(b[i]))
        total = np.int32(total + np.int32(difference * difference))
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


@njit(cache=True, nogil=True, inline="always")
def _any_at_most(products, row_norms, limit) -> bool:
    """Whether any bound (less |q|^2) of these rows is at most `limit`: one vectorised look at `_LANES` rows
    before the row-by-row one (the loop runs from 0, so the compiler knows no index is negative)."""
    count = 0
    for j in range(products.size):
        count += row_norms[j] + products[j] <= limit
    return count > 0


@njit(cache=True, nogil=True, inline="always")
def _sift_down(heap, heap_rows, value, row, size) -> None:
    """(value, row) replaces a max-heap's largest entry and sinks into place."""
    p = 0
    while True:
        child = 2 * p + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] > heap[child]:
            child += 1
        if heap[child] <= value:
            break
        heap[p] = heap[child]
        heap_rows[p] = heap_rows[child]
        p = child
    heap[p] = value
    heap_rows[p] = row


@njit(cache=True, nogil=True)
def _keep_smallest(products, row_norms, offset, heap, heap_rows) -> None:
    """Per query, the smallest bounds less |q|^2 (|row|^2 - 2 q.row) and their rows, in a max-heap.

    `products` hold -2 q.row for the rows from `offset` on: the queries' sketches come doubled and negated
    (exactly) into the matrix product.
    """
    size = heap.shape[1]
    for q in range(products.shape[0]):
        for first in range(0, products.shape[1], _LANES):
            values, norms = products[q, first : first + _LANES], row_norms[first : first + _LANES]
            if not _any_at_most(values, norms, heap[q, 0]):
                continue
            for j in range(values.size):
                value = norms[j] + values[j]
                if value < heap[q, 0]:
                    _sift_down(heap[q], heap_rows[q], value, offset + first + j, size)


@njit(cache=True, nogil=True)
def _keep_smallest_by_column(products, skip, row_norms, offset, heap, heap_rows, largest) -> None:
    """`_keep_smallest` for queries that are the product's columns from `skip` on (a self-search's rows seen from
    the other side): `products[r, skip + c]` is -2 row_r.query_c; `largest` mirrors each query's heap root."""
    size = heap.shape[1]
    for r in range(products.shape[0]):
        for first in range(0, products.shape[1] - skip, _LANES):
            values = products[r, skip + first : skip + first + _LANES]
            roots = largest[first : first + _LANES]
            count = 0
            for c in range(values.size):
                count += row_norms[r] + values[c] < roots[c]
            if count == 0:
                continue
            for c in range(values.size):
                value = row_norms[r] + values[c]
                q = first + c
                if value < heap[q, 0]:
                    _sift_down(heap[q], heap_rows[q], value, offset + r, size)
                    largest[q] = heap[q, 0]


@njit(cache=True, nogil=True)
def _nearest_in_order(queries, data, bounds, rows, query_norms, margins, complete, distances, index, certain) -> None:
    """Each query's k nearest among its candidates, scored exactly in the order of their bounds, until the next
    bound exceeds the k-th distance (+ margin): then no row left can be nearer, and the query is `certain`."""
    last = distances.shape[1] - 1
    for q in range(len(queries)):
        distances[q, :] = _UNSET
        index[q, :] = _UNSET
        certain[q] = False
        for c in range(bounds.shape[1]):
            if distances[q, last] != _UNSET and bounds[q, c] + query_norms[q] - margins[q] > distances[q, last]:
                certain[q] = True
                break
            row = rows[q, c]
            if row == _OPEN:  # every row left has a bound of at least the threshold, which did not rule it out
                break
            _insert(distances[q], index[q], _squared_distance(queries[q], data[row]), row)
        else:  # every candidate scored: certain only if every row was one
            certain[q] = complete


@njit(cache=True, nogil=True)
def _nearest_within(queries, data, products, row_norms, offset, query_norms, margins, distances, index) -> None:
    """Scores exactly every row whose bound is within a query's k-th distance (+ margin), keeping the k best;
    the limit shrinks as closer rows are found."""
    last = distances.shape[1] - 1
    for q in range(products.shape[0]):
        limit = np.float32(distances[q, last] + margins[q] - query_norms[q])
        for first in range(0, products.shape[1], _LANES):
            values, norms = products[q, first : first + _LANES], row_norms[first : first + _LANES]
            if not _any_at_most(values, norms, limit):
                continue
            for j in range(values.size):
                if norms[j] + values[j] <= limit:
                    row = offset + first + j
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
        components = min(components, len(sample) - 1, data.shape[1])
        self.mean, self.basis = sample.mean(0), np.zeros((data.shape[1], 0))  # a sketch of lengths alone
        if components > 0:
            pca = PCA(components, svd_solver="randomized", iterated_power=2, random_state=0).fit(
                sample.astype(np.float32)
            )
            self.mean = pca.mean_.astype(np.float64)
            self.basis = np.linalg.qr(pca.components_.T.astype(np.float64))[0]  # orthonormal: the bound needs it
        self.sketch, self.norms = self._sketch(self.data)
        self.sketch_columns = np.ascontiguousarray(self.sketch.T)  # the layout BLAS multiplies fastest
        self.row_norms = self.norms.astype(np.float32)
        self.largest_norm = float(self.norms.max())
        self.own_neighbors: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.sorted_keys: tuple[np.ndarray, np.ndarray] | None = None

    def _sketch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[projection, residual length] in float32 (computed in float64), and their squared lengths."""
        sketch = np.empty((len(rows), self.basis.shape[1] + 1), np.float32)

        def block(first: int) -> None:
            centred = rows[first : first + _QUERY_BLOCK].astype(np.float64) - self.mean
            projected = centred @ self.basis
            residual = np.einsum("ij,ij->i", centred, centred) - np.einsum("ij,ij->i", projected, projected)
            sketch[first : first + _QUERY_BLOCK, :-1] = projected
            sketch[first : first + _QUERY_BLOCK, -1] = np.sqrt(np.maximum(residual, 0))

        _on_every_core(block, len(rows))
        as_float64 = sketch.astype(np.float64)
        return sketch, np.einsum("ij,ij->i", as_float64, as_float64)

    def kneighbors(self, queries: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Squared distances (int64) and rows of each query's k nearest, nearest first, ties by row."""
        taken = min(max(self.candidates, k), len(self.data))
        if queries is None:  # a self-search: each product serves both of its rows
            sketch, norms = self.sketch, self.norms
            heap, heap_rows = self._smallest_bounds_both_ways(self._thresholds(sketch, taken), taken)
            queries = self.data
        else:
            queries = np.ascontiguousarray(queries, dtype=np.uint8)
            sketch, norms = self._sketch(queries)
            heap, heap_rows = _open_heaps(self._thresholds(sketch, taken), taken)

            def smallest(first: int) -> None:
                block = slice(first, first + _QUERY_BLOCK)
                _smallest_bounds(-2 * sketch[block], self.sketch_columns, self.row_norms, heap[block], heap_rows[block])

            _on_every_core(smallest, len(queries))
        distances = np.empty((len(queries), k), np.int64)
        index = np.empty((len(queries), k), np.int64)
        margins = _MARGIN * (norms + self.largest_norm)

        def finish(first: int) -> None:
            block = slice(first, first + _QUERY_BLOCK)
            order = np.argsort(heap[block], axis=1)[:, :taken]  # several heaps of a self-search merge here
            bounds, rows = np.take_along_axis(heap[block], order, 1), np.take_along_axis(heap_rows[block], order, 1)
            args = (bounds, rows, -2 * sketch[block], norms[block], margins[block], distances[block], index[block])
            self._exact_nearest(queries[block], *args)

        _on_every_core(finish, len(queries))
        return distances, index

    def rows_of(self, queries: np.ndarray) -> np.ndarray | None:
        """For each query, a row with the same pixels (equal rows have the same neighbours), or None unless
        every query has one. Rows are found by a 64-bit key of their bytes and then compared in full."""
        if self.data.shape[1] % 8:
            return None
        if self.sorted_keys is None:
            keys = _row_keys(self.data)
            order = np.argsort(keys)
            self.sorted_keys = keys[order], order
        keys, order = self.sorted_keys
        found = order[np.searchsorted(keys, _row_keys(queries)).clip(max=len(keys) - 1)]
        return found if np.array_equal(self.data[found], queries) else None

    def neighbors_of_rows(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`kneighbors` of these fitted rows, from one self-search per k (half the products of a query search)."""
        if k not in self.own_neighbors:
            self.own_neighbors[k] = self.kneighbors(None, k)
        distances, index = self.own_neighbors[k]
        return distances[rows], index[rows]

    def _thresholds(self, sketch: np.ndarray, taken: int) -> np.ndarray:
        """Each query's starting heap root (a bound less |q|^2): its bound to the r-th nearest of evenly spaced
        probe rows, r set so that about four times `taken` rows fall under it. Rows at or above it never enter the
        heap, which spares most heap updates (most come while a heap fills); where fewer than `taken` rows
        fall under it, open entries keep it as their bound. Infinite where every row is a candidate."""
        probes = np.linspace(0, len(self.data) - 1, min(_PROBES, len(self.data) // 16)).astype(np.int64)
        rank = 1 + math.ceil(4 * taken * len(probes) / len(self.data))
        if taken >= len(self.data) or rank > len(probes):
            return np.full(len(sketch), np.inf, np.float32)
        heap, heap_rows = _open_heaps(np.full(len(sketch), np.inf, np.float32), rank)
        columns, row_norms = np.ascontiguousarray(self.sketch_columns[:, probes]), self.row_norms[probes]

        def nearest_probes(first: int) -> None:
            block = slice(first, first + _QUERY_BLOCK)
            _smallest_bounds(-2 * sketch[block], columns, row_norms, heap[block], heap_rows[block])

        _on_every_core(nearest_probes, len(sketch))
        return heap[:, 0].copy()

    def _smallest_bounds_both_ways(self, thresholds: np.ndarray, taken: int) -> tuple[np.ndarray, np.ndarray]:
        """Step 1 for a self-search, on half the products: block i times the rows from block i on gives the
        block's bounds, and the bounds of the later rows to the block's. Each thread keeps heaps of its own;
        they are returned side by side (each query's `taken` smallest are among them)."""
        rows, lock, heaps = len(self.data), threading.Lock(), {}

        def own() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            with lock:
                if threading.get_ident() not in heaps:
                    heaps[threading.get_ident()] = (*_open_heaps(thresholds, taken), thresholds.copy())
                return heaps[threading.get_ident()]

        def block(first: int) -> None:
            heap, heap_rows, largest = own()
            stop = min(first + _QUERY_BLOCK, rows)
            doubled = -2 * self.sketch[first:stop]
            for start in range(first, rows, _ROW_TILE):
                tile = slice(start, start + _ROW_TILE)
                products = doubled @ self.sketch_columns[:, tile]
                _keep_smallest(products, self.row_norms[tile], start, heap[first:stop], heap_rows[first:stop])
                skip = stop - start if start == first else 0  # the block itself: both ways already
                later = slice(start + skip, start + products.shape[1])
                args = (self.row_norms[first:stop], first, heap[later], heap_rows[later], largest[later])
                _keep_smallest_by_column(products, skip, *args)
            largest[first:stop] = heap[first:stop, 0]

        _on_every_core(block, rows)
        return (np.concatenate(parts, axis=1) for parts in zip(*[(h, r) for h, r, _ in heaps.values()], strict=True))

    def _exact_nearest(self, queries, bounds, rows, doubled_sketch, norms, margins, distances, index) -> None:
        """Steps 2-3 for one block of queries, from their candidates sorted by bound."""
        certain = np.empty(len(queries), np.bool_)
        complete = bounds.shape[1] >= len(self.data)
        _nearest_in_order(queries, self.data, bounds, rows, norms, margins, complete, distances, index, certain)
        unsure = np.flatnonzero(~certain)
        if not len(unsure):
            return
        found_d, found_i = distances[unsure], index[unsure]
        for first in range(0, len(self.data), _ROW_TILE):
            tile = slice(first, first + _ROW_TILE)
            products = doubled_sketch[unsure] @ self.sketch_columns[:, tile]
            args = (self.row_norms[tile], first, norms[unsure], margins[unsure], found_d, found_i)
            _nearest_within(queries[unsure], self.data, products, *args)
        distances[unsure], index[unsure] = found_d, found_i


_KEY_WEIGHTS = np.random.default_rng(0).integers(0, 2**63, 4096, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of bytes (a row length a multiple of 8): its words times odd weights, wrapping."""
    words = np.ascontiguousarray(rows).view(np.uint64)
    return words @ np.resize(_KEY_WEIGHTS, words.shape[1])


def _smallest_bounds(doubled_sketch, columns, row_norms, heap, heap_rows) -> None:
    """Step 1 for one block of queries: their smallest bounds (less |q|^2) over the rows whose sketches are
    `columns` (every row, or the probes), a tile of rows at a time."""
    for first in range(0, columns.shape[1], _ROW_TILE):
        tile = slice(first, first + _ROW_TILE)
        _keep_smallest(doubled_sketch @ columns[:, tile], row_norms[tile], first, heap, heap_rows)


def _open_heaps(thresholds: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query, a max-heap of `size` open entries at its threshold, and their rows."""
    return np.repeat(thresholds[:, None], size, axis=1), np.full((len(thresholds), size), _OPEN, np.int64)


def _on_every_core(work: Callable[[int], None], rows: int) -> None:
    """`work(first)` for every block of `_QUERY_BLOCK` rows, one thread per core. Each multiplies with a
    one-thread BLAS, and numpy and the compiled scans release the GIL: no two thread pools take turns."""
    with threadpool_limits(1, "blas"), ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        list(pool.map(work, range(0, rows, _QUERY_BLOCK)))
