"""ExpW, AffectNet (three layouts) and RAF-DB, from fake datasets written in each exact on-disk layout."""

import csv

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from ferdata.errors import FerdataError
from ferdata.ingest import ingest
from ferdata.sections.ingest import IngestParams
from ferdata.sources.registry import detect
from ferdata.store import load_dataset

RNG = np.random.default_rng(0)


def _photo(path, size=(64, 48), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    pixels = RNG.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8).squeeze()
    Image.fromarray(pixels).save(path)


def _expw(root, photos=100, faces=2):
    """Photos with `faces` faces each, labels cycling through 0..6, and one repeated line."""
    lines = []
    for p in range(photos):
        name = f"photo_{p:03d}.jpg"
        _photo(root / "image" / "origin" / name, (120, 90))
        for f in range(faces):
            label = (p * faces + f) % 7
            lines.append(f"{name} {f} {10 + f} {5 + 40 * f} {45 + 40 * f} {70} {0.5 + 0.4 * (f % 2)} {label}")
    lines.append(lines[0])
    (root / "label").mkdir(parents=True)
    (root / "label" / "label.lst").write_text("\n".join(lines) + "\n")
    return lines


def _rafdb(root, train=70, test=14):
    lines = []
    for role, n in (("train", train), ("test", test)):
        for i in range(1, n + 1):
            name = f"{role}_{i:05d}.jpg"
            _photo(root / "Image" / "aligned" / f"{role}_{i:05d}_aligned.jpg", (100, 100))
            lines.append(f"{name} {(i % 7) + 1}")
    (root / "EmoLabel").mkdir(parents=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")


def _affectnet_official(root):
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    rows = {"training.csv": [], "validation.csv": []}
    for name, n in (("training.csv", 110), ("validation.csv", 11)):
        for i in range(n):
            relative = f"{i % 3}/{name[:5]}_{i}.jpg"
            _photo(root / "Manually_Annotated_Images" / relative, (80, 80))
            code = i % 11  # 0..10: 7..10 are dropped
            rows[name].append([relative, 10, 12, 50, 50, "1;2;3", code, 0.1, 0.2])
    header = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    for name, data in rows.items():
        with open(lists / name, "w", newline="") as stream:
            if name == "training.csv":
                stream.write(header + "\n")
            csv.writer(stream).writerows(data)


def _affectnet_npy(root):
    for folder, n in (("train_set", 80), ("val_set", 11)):
        for i in range(n):
            _photo(root / folder / "images" / f"{i}.jpg", (224, 224))
            (root / folder / "annotations").mkdir(parents=True, exist_ok=True)
            np.save(root / folder / "annotations" / f"{i}_exp.npy", np.array(str(i % 8)))


def _affectnet_kaggle(root):
    names = ["anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    lines = [",pth,label,relFCs"]
    for i in range(80):
        name = names[i % 8]
        _photo(root / name / f"image{i:07d}.png", (96, 96))
        lines.append(f"{i},{name}/image{i:07d}.png,{name},0.9")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")


def test_expw_crops_faces_drops_repeats_and_splits_by_photo(tmp_path):
    _expw(tmp_path / "expw")
    assert detect(tmp_path / "expw").name == "expw"
    card = ingest(tmp_path / "expw", tmp_path / "out", IngestParams(), seed=0)
    assert card["dataset"] == "expw" and card["duplicate_lines"] == 1
    data = load_dataset(tmp_path / "out")
    assert sum(len(split) for split in data.values()) == 200
    photos = {name: {i.split("#")[0] for i in split.ids} for name, split in data.items()}
    assert not (photos["train"] & photos["val"] or photos["train"] & photos["test"] or photos["val"] & photos["test"])
    sure = ingest(tmp_path / "expw", tmp_path / "sure", IngestParams(min_face_confidence=0.8), seed=0)
    assert sure["below_min_confidence"] == 100


def test_expw_crop_matches_pillow(tmp_path):
    lines = _expw(tmp_path / "expw", photos=100, faces=1)
    ingest(tmp_path / "expw", tmp_path / "out", IngestParams(), seed=0)
    data = load_dataset(tmp_path / "out")
    name, _, top, left, right, bottom, *_ = lines[0].split()
    row = next(split for split in data.values() if any(i.startswith(f"expw:{name}#") for i in split.ids))
    index = next(k for k, i in enumerate(row.ids) if i.startswith(f"expw:{name}#"))
    with Image.open(tmp_path / "expw" / "image" / "origin" / name) as image:
        face = image.crop((int(left), int(top), int(right), int(bottom))).convert("L").resize((48, 48), Image.LANCZOS)
    np.testing.assert_array_equal(row.images[index], np.asarray(face))


def test_rafdb_keeps_the_official_split_and_remaps_labels(tmp_path):
    _rafdb(tmp_path / "raf")
    card = ingest(tmp_path / "raf", tmp_path / "out", IngestParams(), seed=0)
    assert card["dataset"] == "rafdb"
    assert sum(card["counts"]["test"]) == 14 and sum(card["counts"]["train"]) + sum(card["counts"]["val"]) == 70
    test = load_dataset(tmp_path / "out")["test"]
    first = list(test.ids).index("rafdb:test_00001_aligned.jpg")
    assert test.labels[first] == 2  # test_00001 has RAF-DB label 2, fear, which is FER2013's 2


@pytest.mark.parametrize(
    ("writer", "layout", "kept", "test_rows"),
    [
        (_affectnet_official, "official", 70 + 7, 7),
        (_affectnet_npy, "npy", 70 + 10, 10),
        (_affectnet_kaggle, "kaggle", 70, None),
    ],
)
def test_affectnet_layouts(tmp_path, writer, layout, kept, test_rows):
    writer(tmp_path / "an")
    card = ingest(tmp_path / "an", tmp_path / "out", IngestParams(), seed=0)
    assert card["source"]["format"] == f"affectnet-{layout}"
    assert sum(sum(c) for c in card["counts"].values()) == kept
    if test_rows is not None:
        assert sum(card["counts"]["test"]) == test_rows
    assert "contempt" in card["dropped_classes"]
    if layout == "kaggle":
        assert "model-made" in card["label_quality"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("train_/../../secret.jpg 1", "points outside the dataset root"),
        ("train_00001.jpg 9", "line 2: unknown label 9 (RAF-DB has 1..7)"),
        ("train_00001.jpg", "line 2: expected 'NAME LABEL'"),
        ("val_00001.jpg 1", "line 2: 'val_00001.jpg' starts with neither train_ nor test_"),
    ],
)
def test_bad_label_lines_name_file_and_line(tmp_path, line, message):
    root = tmp_path / "raf"
    _rafdb(root)
    label_file = root / "EmoLabel" / "list_patition_label.txt"
    lines = label_file.read_text().splitlines()
    label_file.write_text("\n".join([lines[0], line, *lines[1:]]) + "\n")
    result = run_cli("ingest", root, "--out", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "out").exists()
    if "outside" in message:  # an unsafe path is never skipped
        with pytest.raises(FerdataError, match=message):
            ingest(root, tmp_path / "out", IngestParams(skip_bad=True), seed=0)
    else:
        card = ingest(root, tmp_path / "out", IngestParams(skip_bad=True), seed=0)
        assert sum(card["skipped"].values()) == 1 and sum(sum(c) for c in card["counts"].values()) == 84


def test_symlinks_out_absolute_paths_and_missing_images_are_refused(tmp_path):
    root = tmp_path / "raf"
    _rafdb(root)
    _photo(tmp_path / "outside.jpg")
    link = root / "Image" / "aligned" / "train_00001_aligned.jpg"
    link.unlink()
    link.symlink_to(tmp_path / "outside.jpg")
    with pytest.raises(FerdataError, match="is a link to outside the dataset root"):
        ingest(root, tmp_path / "out", IngestParams(), seed=0)
    link.unlink()
    with pytest.raises(FerdataError, match=r"train_00001_aligned.jpg \(.*line 1\): no such image file"):
        ingest(root, tmp_path / "out", IngestParams(), seed=0)
    card = ingest(root, tmp_path / "out", IngestParams(skip_bad=True), seed=0)
    assert card["skipped"] == {"unreadable_image": 1}

    kaggle = tmp_path / "kaggle"
    _affectnet_kaggle(kaggle)
    (kaggle / "labels.csv").write_text((kaggle / "labels.csv").read_text() + "99,/etc/hostname,happy,0.9\n")
    with pytest.raises(FerdataError, match="'/etc/hostname' points outside the dataset root"):
        ingest(kaggle, tmp_path / "k", IngestParams(), seed=0)


def test_zero_area_boxes_and_ambiguous_paths(tmp_path):
    root = tmp_path / "expw"
    _expw(root, photos=70, faces=1)
    label_file = root / "label" / "label.lst"
    label_file.write_text(label_file.read_text() + "photo_000.jpg 9 10 50 50 70 0.9 3\n")
    with pytest.raises(FerdataError, match="line 72: face box of zero area"):
        ingest(root, tmp_path / "out", IngestParams(), seed=0)
    _rafdb(root)  # now it looks like two sources at once
    with pytest.raises(FerdataError, match=r"cannot tell the source \(expw and rafdb match\); name it with --source"):
        detect(root)


def test_merge_adds_another_sources_train_rows_but_never_a_held_out_image(tmp_path, ingested):
    from ferdata.build import build_variant
    from ferdata.store import Split, save_split
    from ferdata.variants.registry import VariantParams
    from ferdata.variants.section import BuildParams

    fer = load_dataset(ingested)
    images = RNG.integers(0, 256, (12, 48, 48), dtype=np.uint8)
    images[0] = fer["test"].images[0]  # an ExpW face that is also a FER2013 test image
    labels = np.array([1] * 10 + [2] * 2)  # disgust, fear
    ids = np.array([f"expw:photo_{i}.jpg#(0, 0, 9, 9)" for i in range(12)])
    save_split(Split.from_source(images, labels, ids), tmp_path / "expw" / "train.npz")

    merge = {"data": str(tmp_path / "expw"), "classes": ["disgust"], "per_class": 8}
    params = BuildParams(variants={"m": VariantParams(steps=["merge"], merge=merge)}, pipeline=[])
    card, _ = build_variant("m", ingested, tmp_path / "m", params, seed=0)
    dropped = card["dropped_as_val_test_duplicates"]
    assert card["merged"]["train_rows_added"][1] == 8 - len(dropped) == sum(card["merged"]["train_rows_added"])
    train = load_dataset(tmp_path / "m")["train"]
    assert len(train) == len(fer["train"]) + 8 - len(dropped)
    assert card["counts_after"] == train.class_counts()
    everything = {"data": str(tmp_path / "expw")}
    params = BuildParams(variants={"m": VariantParams(steps=["merge"], merge=everything)}, pipeline=[])
    card, _ = build_variant("m", ingested, tmp_path / "all", params, seed=0)
    assert card["dropped_as_val_test_duplicates"] == [ids[0]]
    assert card["counts_after"][1] == card["counts_before"][1] + 9


def test_cli_builds_a_merge_variant_and_its_card_shows_both_sources(tmp_path, ingested):
    _rafdb(tmp_path / "raf")
    assert run_cli("ingest", tmp_path / "raf", "--out", tmp_path / "rafdb", cwd=tmp_path).returncode == 0
    (tmp_path / "params.yaml").write_text(
        "leakdemo: {enabled: false}\ncompare: {ensembles: {}}\n"
        f"build:\n  data: {ingested}\n  out: {tmp_path / 'variants'}\n"
        f"  variants:\n    plus_raf:\n      steps: [merge]\n      merge: {{data: {tmp_path / 'rafdb'}}}\n"
        "  pipeline: [plus_raf]\n"
    )
    result = run_cli("build", "--variant", "plus_raf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    card = (tmp_path / "variants" / "plus_raf" / "card.md").read_text()
    assert f"Training rows added from `{tmp_path / 'rafdb'}`" in card
    ids = load_dataset(tmp_path / "variants" / "plus_raf")["train"].ids
    assert any(i.startswith("fer2013:") for i in ids) and any(i.startswith("rafdb:") for i in ids)
