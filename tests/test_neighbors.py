import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from ferdata import brute, neighbors, sketch_search
from ferdata.errors import FerdataError
from ferdata.neighbors import KERNELS, Neighbors
from ferdata.sketch_search import SketchSearch


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 50, (5, 64))
    return (centres[rng.integers(0, 5, 600)] + rng.normal(0, 10, (600, 64))).astype(np.float32)


@pytest.fixture(scope="module")
def pixels(points):
    pixels = np.clip(np.rint(points * 2 + 128), 0, 255).astype(np.float32)
    pixels[::7] = 255  # extremes: the largest products there are, and exact duplicates (ties)
    pixels[1::7] = 0
    pixels[2::7] = pixels[3::7]  # more ties, between ordinary rows
    return pixels


@pytest.mark.parametrize("backend", ["sklearn", "torch", "sketch", "auto"])  # sketch: these are no pixels
def test_exact_backends_match_sklearn(points, backend):
    expected_d, expected_i = NearestNeighbors(n_neighbors=4).fit(points).kneighbors(points[:200])
    search = Neighbors(4, backend=backend, chunk_rows=64).fit(points)
    distances, index = search.kneighbors(points[:200])
    np.testing.assert_allclose(distances, expected_d, rtol=1e-4, atol=1e-3)
    assert (index == expected_i).mean() > 0.99  # ties may order differently
    assert search.kneighbors(points[:10], return_distance=False).shape == (10, 4)


def ties_by_row(pixels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest by exact integer distance, then by row: what every exact ferdata search must give."""
    rows = pixels.astype(np.int64)
    squared = (rows**2).sum(1)[:, None] + (rows**2).sum(1)[None, :] - 2 * rows @ rows.T
    index = np.lexsort((np.broadcast_to(np.arange(len(rows)), squared.shape), squared), axis=1)[:, :k]
    return np.sqrt(np.take_along_axis(squared, index, 1)), index


@pytest.mark.parametrize("slack", [32, 10**12])  # the usual path; every row re-scored in full
@pytest.mark.parametrize("kernel", ["int8", "float32"])
def test_brute_force_on_pixels_is_exact_with_either_kernel(pixels, points, slack, kernel, monkeypatch):
    if kernel == "int8" and not brute.int8_products_are_exact():
        pytest.skip("this CPU's int8 products are not exact: the kernel is refused (tested below)")
    monkeypatch.setattr(brute, "_FLOAT_SLACK", slack)
    monkeypatch.setattr(brute, "_EXACT_WIDTH", 24)  # several slices even for these 64 pixels
    search = Neighbors(5, backend="torch", chunk_rows=100, kernel=kernel).fit(pixels)
    assert search.search_.pixels and search.search_.kernel == kernel
    distances, index = search.kneighbors(pixels)
    expected_d, expected_i = ties_by_row(pixels, 5)
    np.testing.assert_array_equal(index, expected_i)
    np.testing.assert_array_equal(distances, expected_d)
    assert not Neighbors(5, backend="torch").fit(points).search_.pixels  # other data keeps float32


@pytest.mark.parametrize("candidates", [1, 5, 40])  # 1: nearly every query needs the second pass
@pytest.mark.parametrize("components", [2, 16])
@pytest.mark.parametrize("tiles", [(256, 4096), (64, 96)])  # (queries, rows) per product: one, or many
@pytest.mark.parametrize("probes", [0, 2048, "none under"])  # no thresholds; from 37 probes; none with a row under
def test_the_sketch_search_is_exact_and_agrees_with_brute_force(
    pixels, candidates, components, tiles, probes, monkeypatch
):
    monkeypatch.setattr(sketch_search, "_QUERY_BLOCK", tiles[0])
    monkeypatch.setattr(sketch_search, "_ROW_TILE", tiles[1])
    if probes == "none under":  # every heap entry stays open: each query is left to the second pass
        monkeypatch.setattr(
            SketchSearch, "_thresholds", lambda self, sketch, taken: np.full(len(sketch), -np.inf, np.float32)
        )
    else:
        monkeypatch.setattr(sketch_search, "_PROBES", probes)
    search = Neighbors(5, backend="sketch", components=components, candidates=candidates).fit(pixels)
    assert search.sketched_
    distances, index = search.kneighbors(pixels)
    expected_d, expected_i = ties_by_row(pixels, 5)
    np.testing.assert_array_equal(index, expected_i)
    np.testing.assert_array_equal(distances, expected_d)
    # Queries that are not the fitted rows themselves are sketched on their own.
    queries = pixels[::3].astype(np.uint8)
    np.testing.assert_array_equal(search.kneighbors(queries)[1], expected_i[::3])
    with pytest.raises(ValueError, match="takes pixel rows"):
        search.kneighbors(queries + 0.5)


def test_fitted_rows_asked_in_parts_are_answered_from_one_self_search(pixels):
    expected_d, expected_i = ties_by_row(pixels, 4)
    search = Neighbors(4, queries_are_fitted_rows=True).fit(pixels)
    for part in (np.arange(0, 600, 3), np.arange(1, 600, 3), np.arange(2, 600, 3)):  # copies, as imblearn's
        distances, index = search.kneighbors(pixels[part].copy())
        np.testing.assert_array_equal(index, expected_i[part])
        np.testing.assert_array_equal(distances, expected_d[part])
    assert list(search.search_.own_neighbors) == [4]  # one self-search served all three
    strangers = pixels[:50].copy()
    strangers[7, 0] = (strangers[7, 0] + 1) % 256  # a row the data does not hold: searched as queries
    assert search.search_.rows_of(strangers.astype(np.uint8)) is None
    by_brute_force = Neighbors(4, backend="torch").fit(pixels).kneighbors(strangers, return_distance=False)
    np.testing.assert_array_equal(search.kneighbors(strangers, return_distance=False), by_brute_force)


def test_sketch_distances_never_exceed_true_ones(pixels):
    search = SketchSearch(pixels.astype(np.uint8), components=3, candidates=4)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(pixels), (2, 5000))
    true = ((pixels[a].astype(np.int64) - pixels[b]) ** 2).sum(1)
    sketched = ((search.sketch[a].astype(np.float64) - search.sketch[b]) ** 2).sum(1)
    assert (sketched <= true * (1 + 1e-6) + 1e-3).all()
    assert (sketched > 0.5 * true).mean() > 0.5  # and they are bounds worth having


def test_only_whole_numbers_0_to_255_are_pixels():
    assert neighbors._as_pixels(np.array([[0.0, 255.0], [3.0, 4.0]])).dtype == np.uint8
    for bad in (-1.0, 256.0, 2.5, np.nan, 511.0):
        assert neighbors._as_pixels(np.array([[0.0, bad]])) is None


def test_the_float32_kernel_is_exact_at_full_width():
    """Pixel rows of FER2013's 2,304 values at the extremes, where one float32 product of the whole row would
    round (sums up to 2304 x 128^2 > 2^24): the slices give the exact integer products."""
    rng = np.random.default_rng(2)  # mostly -128 (products of 2^14 add up past 2^24), some odd values
    queries = np.where(rng.random((16, 2304)) < 0.9, -128, rng.choice([1, -127, 127], (16, 2304))).astype(np.float32)
    data = np.where(rng.random((32, 2304)) < 0.9, -128, rng.choice([-1, 127, 3], (32, 2304))).astype(np.float32)
    exact = queries.astype(np.int64) @ data.astype(np.int64).T
    products = brute._exact_products(torch.as_tensor(queries), torch.as_tensor(data), "float32")
    np.testing.assert_array_equal(products.numpy(), exact)
    if brute.int8_products_are_exact():  # elsewhere int8 is never taken (next tests)
        as_int8 = (torch.as_tensor(queries).to(torch.int8), torch.as_tensor(data).to(torch.int8))
        np.testing.assert_array_equal(brute._exact_products(*as_int8, "int8").numpy(), exact)


def test_auto_takes_the_kernel_this_cpu_runs_faster_where_int8_is_exact(pixels):
    expected = "int8" if brute.int8_products_are_exact() and brute.int8_products_are_faster() else "float32"
    assert Neighbors(5, backend="torch", kernel="auto").fit(pixels).search_.kernel == expected
    with pytest.raises(ValueError, match="unknown product kernel 'int4'"):
        Neighbors(5, backend="torch", kernel="int4").fit(pixels)


def test_int8_products_that_saturate_are_found_and_never_taken(pixels, monkeypatch):
    brute.int8_products_are_exact.cache_clear()
    # what a kernel adding byte products in 16-bit sums gives where they pass 2^15: clipped
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: (a.long() @ b.long()).clamp(-(2**15), 2**15 - 1).int())
    assert not brute.int8_products_are_exact()
    monkeypatch.setattr(brute, "int8_products_are_faster", lambda: True)
    assert Neighbors(5, backend="torch").fit(pixels).search_.kernel == "float32"
    with pytest.raises(FerdataError, match="int8 matrix products are not exact on this CPU"):
        Neighbors(5, backend="torch", kernel="int8").fit(pixels)
    brute.int8_products_are_exact.cache_clear()


def test_auto_takes_the_sketch_search_for_pixel_sets_on_the_cpu_only(pixels, points, monkeypatch):
    for kernel in KERNELS:  # the kernel is the brute force's: every pixel set on the CPU is sketched
        assert Neighbors(5, kernel=kernel).fit(pixels[:7]).sketched_
        assert Neighbors(5, kernel=kernel).fit(pixels).sketched_
    assert not Neighbors(5).fit(points).sketched_  # not pixels
    assert not Neighbors(5, backend="torch").fit(pixels).sketched_
    monkeypatch.setattr(neighbors, "_on_gpu", lambda device: True)
    assert not Neighbors(5).fit(pixels).sketched_  # a GPU multiplies whole blocks faster than it prunes


@pytest.mark.parametrize("rows", [2, 3, 7])
def test_the_sketch_search_takes_tiny_sets(pixels, rows):
    expected_d, expected_i = ties_by_row(pixels[:rows], 2)
    distances, index = Neighbors(2, backend="sketch").fit(pixels[:rows]).kneighbors(pixels[:rows])
    np.testing.assert_array_equal(index, expected_i)
    np.testing.assert_array_equal(distances, expected_d)


def test_it_is_an_estimator_imblearn_can_clone_and_use(points):
    search = Neighbors(6)
    assert clone(search).get_params() == search.get_params()
    graph = search.fit(points).kneighbors_graph(points[:5])
    assert graph.shape == (5, len(points)) and graph.sum() == 30
    labels = np.r_[np.zeros(500, int), np.ones(100, int)]
    _, resampled = SMOTE(k_neighbors=search, random_state=0).fit_resample(points, labels)
    assert np.bincount(resampled).tolist() == [500, 500]


def test_bad_requests_fail_clearly(points):
    with pytest.raises(ValueError, match="unknown neighbour backend 'faiss'"):
        Neighbors(backend="faiss").fit(points)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        Neighbors(700, backend="torch").fit(points).kneighbors(points[:2])
