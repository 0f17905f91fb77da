"""ferdata as a library: `ferdata.load`, `ferdata.torch.FerDataset` under DataLoader workers, and exports that
`ferdata ingest` (or Hugging Face's `load_from_disk`) gives back."""

import csv
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import ferdata
from conftest import run_cli
from ferdata.errors import FerdataError
from ferdata.export import class_index_rows, export, file_names
from ferdata.ingest import ingest
from ferdata.sections.ingest import IngestParams
from ferdata.store import SPLITS
from ferdata.torch import FerDataset


@pytest.fixture(scope="module")
def variant(learnable, tmp_path_factory):
    """`smote` built from the learnable dataset: real and synthetic rows, with origins."""
    from ferdata.build import build_variant
    from ferdata.variants.section import BuildParams

    out = tmp_path_factory.mktemp("variant") / "smote"
    build_variant("smote", learnable, out, BuildParams(), seed=0)
    return out


def test_load_gives_the_splits_the_card_and_the_class_names(variant):
    data = ferdata.load(variant)
    assert data.train.images.dtype == np.uint8 and data.train.images.shape[1:] == (48, 48)
    assert (data.train.origin != "").any() and (data.test.origin == "").all()
    assert data.card["counts_after"] == data.train.class_counts()
    assert data.class_names == ferdata.CLASS_NAMES and data.class_names[6] == "neutral"
    assert data.split("val") is data.val
    with pytest.raises(FerdataError, match="unknown split 'dev'"):
        data.split("dev")
    with pytest.raises(FerdataError, match="no such split file"):
        ferdata.load(variant.parent)
    assert ferdata.__version__ and set(ferdata.__all__) >= {"load", "Dataset", "Split", "CLASS_NAMES"}


def test_a_model_trains_through_fer_dataset_and_two_dataloader_workers(variant):
    dataset = FerDataset(variant, "train")
    assert isinstance(dataset.images, np.memmap)  # mapped, not read into memory
    assert isinstance(pickle.loads(pickle.dumps(dataset)).images, np.memmap)  # a spawned worker maps it again
    assert len(pickle.dumps(dataset)) < dataset.images.nbytes / 2
    image, _ = dataset[3]
    assert image.shape == (1, 48, 48) and image.dtype == torch.float32 and 0 <= image.min() <= image.max() <= 1
    np.testing.assert_array_equal((image[0] * 255).round().byte().numpy(), ferdata.load(variant).train.images[3])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.AvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(36, 7))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=2)
    losses = []
    for _ in range(3):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])  # the learnable classes are learnt
    inverted = FerDataset(variant, "test", transform=lambda x: 1 - x)
    torch.testing.assert_close(inverted[0][0], 1 - FerDataset(variant, "test")[0][0])


def test_file_names_are_safe_and_unique():
    names = file_names(np.array(["fer2013:Training:1", "a/b", "a_b", "A_B", "../x", ""]))
    assert names == ["fer2013_Training_1.png", "a_b.png", "a_b~1.png", "A_B~2.png", ".._x.png", "_.png"]
    assert all("/" not in name and ":" not in name for name in names)


def _by_id(split) -> dict:
    rows = zip(split.ids, split.images, split.labels, strict=True)
    return {i: (image.tobytes(), int(label)) for i, image, label in rows}


def test_imagefolder_export_ingests_back_to_the_same_images_labels_and_splits(variant, tmp_path):
    original = ferdata.load(variant)
    assert export(variant, "imagefolder", tmp_path / "folders") == {n: len(original.split(n)) for n in SPLITS}
    with open(tmp_path / "folders" / "manifest.csv", newline="") as file:
        manifest = list(csv.DictReader(file))
    assert manifest[0].keys() == {"split", "file", "id", "origin", "label", "class"}
    ingest(tmp_path / "folders", tmp_path / "back", IngestParams(), seed=0)
    back = ferdata.load(tmp_path / "back")
    for name in SPLITS:
        rows = [row for row in manifest if row["split"] == name]
        id_of_file = {f"fer2013:{row['file']}": row["id"] for row in rows}
        assert sorted(id_of_file) == sorted(back.split(name).ids)  # every file, in its split
        restored = {id_of_file[i]: value for i, value in _by_id(back.split(name)).items()}
        assert restored == _by_id(original.split(name))
        assert [row["origin"] for row in rows] == original.split(name).origin.tolist()
    # An alphabetical loader (ImageFolder) numbers neutral 4 and sad 5: the index file maps them back.
    assert class_index_rows()[4] == (4, "neutral", 6) and class_index_rows()[5] == (5, "sad", 4)
    assert (tmp_path / "folders" / "class_index.csv").read_text().splitlines()[5] == "4,neutral,6"


def test_csv_export_is_fer2013s_format_and_ingests_back_byte_identical(variant, tmp_path):
    export(variant, "csv", tmp_path / "fer.csv")
    assert (tmp_path / "fer.csv").read_text().splitlines()[0] == "emotion,pixels,Usage"
    ingest(tmp_path / "fer.csv", tmp_path / "back", IngestParams(), seed=0)
    original, back = ferdata.load(variant), ferdata.load(tmp_path / "back")
    for name in SPLITS:
        np.testing.assert_array_equal(back.split(name).images, original.split(name).images)
        np.testing.assert_array_equal(back.split(name).labels, original.split(name).labels)


def test_hf_export_loads_with_datasets_and_matches(variant, tmp_path):
    datasets = pytest.importorskip("datasets")
    export(variant, "hf", tmp_path / "hf")
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    original = ferdata.load(variant)
    assert loaded["train"].features["label"].names == list(ferdata.CLASS_NAMES)
    for name in SPLITS:
        part, split = loaded[name].with_format("numpy"), original.split(name)
        np.testing.assert_array_equal(np.stack(part["image"]), split.images)
        np.testing.assert_array_equal(part["label"], split.labels)
        assert list(part["id"]) == split.ids.tolist() and list(part["origin"]) == split.origin.tolist()


def test_the_export_command_is_atomic_and_keeps_what_ferdata_did_not_write(variant, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = run_cli("export", variant, "--to", "imagefolder", "--out", mine)
    assert refused.returncode != 0 and "mine" in refused.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    unknown = run_cli("export", variant, "--to", "tfrecord", "--out", tmp_path / "x")
    assert unknown.returncode != 0 and "unknown export format 'tfrecord'" in unknown.stderr
    assert not (tmp_path / "x").exists()
    done = run_cli("export", variant, "--to", "csv", "--out", tmp_path / "v.csv")
    assert done.returncode == 0 and f"wrote {tmp_path / 'v.csv'} (csv)" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "v.csv"]  # no temporary left
