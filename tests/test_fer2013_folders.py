import json

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, write_folder_layout
from ferdata.ingest import ingest
from ferdata.outputs import MARKER, write_marker
from ferdata.sections.ingest import IngestParams
from ferdata.sources.fer2013_folders import read_fer2013_folders
from ferdata.store import load_dataset

KAGGLE_DIRS = {"Training": "train", "PublicTest": "test", "PrivateTest": "test"}


def _kaggle_layout(root, faces, suffix=".png"):
    images, labels, usage = faces
    names = [f"{u}_{1000 + i}" for i, u in enumerate(usage)]
    write_folder_layout(root, images, labels, np.array([KAGGLE_DIRS[u] for u in usage]), names, suffix)


def test_labels_come_from_folder_names_not_alphabetical_order(tmp_path, faces):
    _kaggle_layout(tmp_path / "fer", faces)
    found = read_fer2013_folders(tmp_path / "fer")
    by_name = {p.rsplit("_", 1)[1].split(".")[0]: i for i, p in enumerate(found.paths)}
    order = [by_name[str(1000 + i)] for i in range(len(faces[1]))]
    np.testing.assert_array_equal(found.labels[order], faces[1])  # neutral stays 6, sad stays 4
    np.testing.assert_array_equal(found.images[order], faces[0])  # PNG is lossless


def test_usage_in_file_names_gives_the_official_splits(tmp_path, faces):
    _kaggle_layout(tmp_path / "fer", faces)
    card = ingest(tmp_path / "fer", tmp_path / "out", IngestParams(), seed=0)
    _, labels, usage = faces
    for split, wanted in (("train", "Training"), ("val", "PrivateTest"), ("test", "PublicTest")):
        assert card["counts"][split] == np.bincount(labels[usage == wanted], minlength=7).tolist()
    assert card["split_sources"]["val"] == {"file name PrivateTest_*": int((usage == "PrivateTest").sum())}
    dataset = load_dataset(tmp_path / "out")
    assert all(i.startswith("fer2013:test/") for i in dataset["val"].ids)


def test_plain_names_use_folders_and_carve_validation(tmp_path, faces):
    images, labels, usage = faces
    split_dirs = np.where(usage == "Training", "train", "test")
    write_folder_layout(tmp_path / "fer", images, labels, split_dirs, [f"im{i}" for i in range(len(labels))], ".jpg")
    card = ingest(tmp_path / "fer", tmp_path / "out", IngestParams(val_fraction=0.2), seed=3)
    n_train = int((usage == "Training").sum())
    assert sum(card["counts"]["test"]) == len(labels) - n_train
    assert sum(card["counts"]["val"]) == round(0.2 * n_train)
    assert list(card["split_sources"]["val"]) == ["stratified 0.2 of train, seed 3"]


def test_validation_folder_rgb_and_other_sizes(tmp_path, faces):
    root = tmp_path / "fer"
    for i, image in enumerate(faces[0][:21]):
        split = ("train", "validation", "test")[i % 3]
        folder = root / split / ("neutral", "happy", "sad")[(i // 3) % 3]
        folder.mkdir(parents=True, exist_ok=True)
        rgb = Image.fromarray(np.stack([image] * 3, axis=-1)).resize((96, 96), Image.Resampling.NEAREST)
        rgb.save(folder / f"{i}.png")
    found = read_fer2013_folders(root)
    assert found.images.shape == (21, 48, 48)
    assert set(found.folder_roles) == {"train", "val", "test"}
    # Upscaled 2x with NEAREST then LANCZOS-downscaled: close to the original 48x48 gray image.
    first = int(np.flatnonzero(found.paths == "train/neutral/0.png")[0])
    assert np.abs(found.images[first].astype(int) - faces[0][0]).mean() < 6


def _bad_layout(tmp_path, faces, mutate):
    root = tmp_path / "fer"
    _kaggle_layout(root, faces)
    mutate(root)
    return root


def _bomb(root):
    # 20000 x 20000 declared pixels in a few kB of PNG: refused before decoding.
    Image.new("1", (20000, 20000)).save(root / "train" / "happy" / "bomb.png")


def _large(root):
    # Under Pillow's own bomb limit but over ferdata's: ferdata's check names the size.
    Image.new("1", (9000, 9000)).save(root / "train" / "happy" / "large.png")


BAD_LAYOUTS = {
    "corrupt jpeg": (
        lambda root: (root / "train" / "fear" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated"),
        "train/fear/bad.jpg: ",
    ),
    "non-image file": (
        lambda root: (root / "train" / "sad" / "notes.txt").write_text("hi"),
        "notes.txt: not a readable",
    ),
    "unknown class folder": (lambda root: (root / "train" / "contempt").mkdir(), "unknown class name 'contempt'"),
    "empty class folder": (
        lambda root: [p.unlink() for p in (root / "test" / "happy").iterdir()],
        "happy: empty class folder",
    ),
    "decompression bomb": (_bomb, "bomb.png: over the 50,000,000-pixel limit (a possible decompression bomb)"),
    "large image": (_large, "large.png: 9000x9000 pixels, over the 50,000,000-pixel limit"),
    "unknown split folder": (lambda root: (root / "extra").mkdir(), "extra: unknown split folder"),
}


@pytest.mark.parametrize("case", sorted(BAD_LAYOUTS))
def test_bad_folders_fail_in_one_line_and_write_nothing(tmp_path, faces, case):
    mutate, message = BAD_LAYOUTS[case]
    root = _bad_layout(tmp_path, faces, mutate)
    out = tmp_path / "out"
    out.mkdir()
    write_marker(out, "dataset")
    (out / "keep.txt").write_text("an older output")
    result = run_cli("ingest", root, "--out", out)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fer", "out"]


def test_skip_bad_counts_unreadable_images(tmp_path, faces):
    root = _bad_layout(tmp_path, faces, lambda r: (r / "train" / "sad" / "notes.txt").write_text("hi"))
    card = ingest(root, tmp_path / "out", IngestParams(skip_bad=True), seed=0)
    assert card["skipped"] == {"unreadable_image": 1}
    assert sum(map(sum, card["counts"].values())) == len(faces[1])
    assert json.loads((tmp_path / "out" / "card.json").read_text())["skipped"] == {"unreadable_image": 1}


def test_symlink_out_of_the_root_is_refused(tmp_path, faces):
    outside = tmp_path / "outside.png"
    Image.fromarray(faces[0][0]).save(outside)
    root = _bad_layout(tmp_path, faces, lambda r: (r / "train" / "happy" / "link.png").symlink_to(outside))
    result = run_cli("ingest", root, "--out", tmp_path / "out")
    assert result.returncode == 1 and "link.png: links outside the dataset root" in result.stderr
