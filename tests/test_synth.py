import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import run_cli
from ferdata.sources.fer2013_csv import read_fer2013_csv
from ferdata.synth import synthesize


def test_cli_writes_the_exact_fer2013_csv_format(tmp_path):
    out = tmp_path / "fake.csv"
    result = run_cli("synth", "--out", out, "--rows", 700, "--test-rows", 100, "--seed", 4)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "emotion,pixels,Usage" and len(lines) == 701
    emotion, pixels, usage = lines[1].split(",")
    values = pixels.split(" ")
    assert emotion.isdigit() and len(values) == 2304 and all(v.isdigit() and int(v) <= 255 for v in values)
    assert usage == "Training"
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"Training", "PublicTest", "PrivateTest"}
    rows = read_fer2013_csv(out)
    assert [line.rsplit(",", 1)[1] for line in lines[1:]].count("PublicTest") == 100
    images, labels, _ = synthesize(700, seed=4, test_rows=100)
    np.testing.assert_array_equal(rows.images, images)
    np.testing.assert_array_equal(rows.labels, labels)


def test_seeded_and_imbalanced_like_fer2013():
    a, b, c = synthesize(3500, seed=7), synthesize(3500, seed=7), synthesize(3500, seed=8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    counts = np.bincount(a[1], minlength=7)
    assert counts.argmin() == 1 and counts.argmax() == 3  # Disgust rare, Happy common
    usage_counts = {u: int((a[2] == u).sum()) for u in ("Training", "PublicTest", "PrivateTest")}
    # Each class is split 80/10/10 on its own, so totals can be off by one per class.
    assert usage_counts == {"Training": 2800, "PublicTest": 350, "PrivateTest": 350}
    _, labels, usage = synthesize(4800, seed=7, test_rows=1000)
    for name, size in (("Training", 2800), ("PublicTest", 1000), ("PrivateTest", 1000)):
        counts = np.bincount(labels[usage == name], minlength=7)  # FER2013's class shares within each usage
        assert counts.sum() == size and counts.argmin() == 1 and counts.argmax() == 3, (name, counts)


def test_too_few_training_rows_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="56 of them for training"):
        synthesize(2000, seed=0, test_rows=980)
    result = run_cli("synth", "--out", tmp_path / "x.csv", "--rows", 700)  # params.yaml: 1000 test rows each
    assert result.returncode != 0 and "56 of them for training; 700 rows with test_rows 1000" in result.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_learnable_but_not_trivial():
    images, labels, usage = synthesize(3500, seed=0)
    # 2x2 area averages: the same faces at a quarter of the features, so the fit takes a second, not ten.
    pixels = images.reshape(-1, 24, 2, 24, 2).mean(axis=(2, 4)).reshape(len(images), -1).astype(np.float32)
    train, test = usage == "Training", usage == "PublicTest"
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000))
    model.fit(pixels[train], labels[train])
    accuracy = model.score(pixels[test], labels[test])
    majority = np.bincount(labels[test]).max() / test.sum()
    assert majority < 0.3
    assert 0.5 <= accuracy < 0.95, accuracy
