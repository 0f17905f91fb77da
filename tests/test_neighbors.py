import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from ferdata import neighbors
from ferdata.neighbors import Neighbors


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 50, (5, 64))
    return (centres[rng.integers(0, 5, 600)] + rng.normal(0, 10, (600, 64))).astype(np.float32)


@pytest.mark.parametrize("backend", ["sklearn", "torch"])
def test_exact_backends_match_sklearn(points, backend):
    expected_d, expected_i = NearestNeighbors(n_neighbors=4).fit(points).kneighbors(points[:200])
    search = Neighbors(4, backend=backend, chunk_rows=64).fit(points)
    distances, index = search.kneighbors(points[:200])
    np.testing.assert_allclose(distances, expected_d, rtol=1e-4, atol=1e-3)
    assert (index == expected_i).mean() > 0.99  # ties may order differently
    assert search.kneighbors(points[:10], return_distance=False).shape == (10, 4)


@pytest.mark.parametrize("slack", [32, 10**12])  # the usual path; every row re-scored in full
@pytest.mark.parametrize("kernel", ["int8", "float32"])
def test_pixel_data_take_an_exact_path_and_both_kernels_agree(points, slack, kernel, monkeypatch):
    monkeypatch.setattr(neighbors, "_FLOAT_SLACK", slack)
    monkeypatch.setattr(neighbors, "_EXACT_WIDTH", 24)  # several slices even for these 64 pixels
    pixels = np.clip(np.rint(points * 2 + 128), 0, 255).astype(np.float32)
    pixels[::7] = 255  # extremes: the largest products there are, and exact duplicates (ties)
    pixels[1::7] = 0
    expected_d, _ = NearestNeighbors(n_neighbors=5).fit(pixels).kneighbors(pixels)
    search = Neighbors(5, backend="torch", chunk_rows=100, kernel=kernel).fit(pixels)
    assert search.pixels_ and search.kernel_ == kernel
    distances, index = search.kneighbors(pixels)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-6)
    other = "float32" if kernel == "int8" else "int8"
    np.testing.assert_array_equal(
        index, Neighbors(5, backend="torch", chunk_rows=64, kernel=other).fit(pixels).kneighbors(pixels)[1]
    )
    assert not Neighbors(5, backend="torch").fit(points).pixels_  # other data keeps float32


def test_the_float32_kernel_is_exact_at_full_width():
    """Pixel rows of FER2013's 2,304 values at the extremes, where one float32 product of the whole row would
    round (sums up to 2304 x 128^2 > 2^24): the slices give the exact integer products."""
    rng = np.random.default_rng(2)  # mostly -128 (products of 2^14 add up past 2^24), some odd values
    queries = np.where(rng.random((16, 2304)) < 0.9, -128, rng.choice([1, -127, 127], (16, 2304))).astype(np.float32)
    data = np.where(rng.random((32, 2304)) < 0.9, -128, rng.choice([-1, 127, 3], (32, 2304))).astype(np.float32)
    exact = queries.astype(np.int64) @ data.astype(np.int64).T
    products = neighbors._exact_products(torch.as_tensor(queries), torch.as_tensor(data), "float32")
    np.testing.assert_array_equal(products.numpy(), exact)
    np.testing.assert_array_equal(
        neighbors._exact_products(
            torch.as_tensor(queries).to(torch.int8), torch.as_tensor(data).to(torch.int8), "int8"
        ).numpy(),
        exact,
    )


def test_auto_takes_the_kernel_this_cpu_runs_faster(points):
    pixels = np.clip(np.rint(points * 2 + 128), 0, 255).astype(np.float32)
    expected = "int8" if neighbors.int8_products_are_faster() else "float32"
    assert Neighbors(5, backend="torch", kernel="auto").fit(pixels).kernel_ == expected
    with pytest.raises(ValueError, match="unknown product kernel 'int4'"):
        Neighbors(5, backend="torch", kernel="int4").fit(pixels)


def test_pca_backend_is_a_good_approximation(monkeypatch):
    # Like face images: most variance in a few directions, a little everywhere else.
    rng = np.random.default_rng(1)
    points = (rng.normal(0, 10, (600, 8)) @ rng.normal(0, 1, (8, 64)) + rng.normal(0, 1, (600, 64))).astype(np.float32)
    _, expected = NearestNeighbors(n_neighbors=5).fit(points).kneighbors(points)
    search = Neighbors(5, backend="pca", components=8, candidates=8)
    monkeypatch.setattr(neighbors, "SKETCH_ABOVE", 100)  # sketch even this small set
    _, index = search.fit(points).kneighbors(points)
    assert search.sketched_
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(index, expected, strict=True)])
    assert recall > 0.8
    assert (index[:, 0] == np.arange(len(points))).mean() > 0.99  # each point finds itself first


def test_it_is_an_estimator_imblearn_can_clone_and_use(points):
    search = Neighbors(6, backend="torch")
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
