"""A ferdata dataset directory in the formats other training code reads, so a variant can be trained anywhere.

- `imagefolder`: `train|val|test/<class>/<id>.png`, the layout torchvision's `ImageFolder` and Keras's
  `image_dataset_from_directory` read, with `manifest.csv` (split, file, id, origin, label, class) and
  `class_index.csv`: such loaders number the class folders alphabetically, which is not FER2013's order. A
  split that lacks a class has no folder for it (only tiny datasets do).
- `csv`: FER2013's own CSV (`emotion,pixels,Usage`; train as Training, val as PrivateTest, test as PublicTest,
  the roles `ferdata ingest` gives them back), for any script written for FER2013.
- `hf`: a Hugging Face `datasets.DatasetDict` saved to disk (image, label as a ClassLabel with FER2013's
  names, id, origin); needs the `hf` extra (`pip install 'ferdata[hf]'`).

Every export is written under a temporary name and renamed into place (ferdata.outputs).
"""

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ferdata.dataset import Dataset, load
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_dir, atomic_file, claim, claim_file
from ferdata.sources.fer2013 import usage_roles
from ferdata.sources.fer2013_csv import format_fer2013_csv
from ferdata.store import SPLITS

KIND = "export"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def export(directory: Path, to: str, out: Path, force: bool = False) -> dict[str, int]:
    """Write the dataset at `directory` to `out` in format `to`; returns the rows written per split."""
    if to not in EXPORTERS:
        raise FerdataError(f"unknown export format {to!r} (known: {', '.join(EXPORTERS)})")
    dataset = load(directory)  # validates every split before anything is written
    EXPORTERS[to](dataset, out, force)
    return {name: len(dataset.split(name)) for name in SPLITS}


def file_names(ids: np.ndarray) -> list[str]:
    """`<id>.png` with every character outside A-Z a-z 0-9 . _ - made `_`; a name that would repeat another
    (ignoring case, for case-insensitive file systems) gets `~<n>`."""
    names, seen = [], set()
    for identifier in ids:
        stem = _UNSAFE.sub("_", str(identifier)) or "_"
        name, n = f"{stem}.png", 1
        while name.lower() in seen:
            name, n = f"{stem}~{n}.png", n + 1
        seen.add(name.lower())
        names.append(name)
    return names


def class_index_rows() -> list[tuple[int, str, int]]:
    """(alphabetical index, class, FER2013 label): how an alphabetical loader's labels map back."""
    return [(i, name, CLASS_NAMES.index(name)) for i, name in enumerate(sorted(CLASS_NAMES))]


def _imagefolder(dataset: Dataset, out: Path, force: bool) -> None:
    claim(out, KIND, [dataset.path], force)
    with atomic_dir(out, KIND) as tmp:
        manifest = [("split", "file", "id", "origin", "label", "class")]
        for split_name in SPLITS:
            split = dataset.split(split_name)
            for label in np.unique(split.labels):  # a class a split lacks gets no (empty) folder
                (tmp / split_name / CLASS_NAMES[label]).mkdir(parents=True)
            files = [
                f"{split_name}/{CLASS_NAMES[label]}/{name}"
                for label, name in zip(split.labels, file_names(split.ids), strict=True)
            ]
            _write_pngs(split.images, [tmp / f for f in files])
            manifest += [
                (split_name, f, i, o, int(label), CLASS_NAMES[label])
                for f, i, o, label in zip(files, split.ids, split.origin, split.labels, strict=True)
            ]
        _write_csv(tmp / "manifest.csv", manifest)
        _write_csv(tmp / "class_index.csv", [("alphabetical_index", "class", "fer2013_label"), *class_index_rows()])


def _write_pngs(images: np.ndarray, paths: list[Path]) -> None:
    """Lossless 8-bit gray PNGs, one file per image. Creating 36k small files is what takes the time: threads
    and processes measured no faster here than this loop."""
    for image, path in zip(images, paths, strict=True):
        Image.fromarray(image).save(path, format="PNG")


def _write_csv(path: Path, rows: list[tuple]) -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")


def _fer2013_csv(dataset: Dataset, out: Path, force: bool) -> None:
    claim_file(out, [dataset.path], force)
    usage_of = {role: usage for usage, role in usage_roles(swap_test_roles=False).items()}
    splits = [dataset.split(name) for name in SPLITS]
    usage = np.concatenate([np.full(len(s), usage_of[name]) for name, s in zip(SPLITS, splits, strict=True)])
    images = np.concatenate([s.images for s in splits])
    labels = np.concatenate([s.labels for s in splits])
    with atomic_file(out) as tmp:
        tmp.write_bytes(format_fer2013_csv(images, labels, usage))


def _hugging_face(dataset: Dataset, out: Path, force: bool) -> None:
    try:
        import datasets
    except ImportError:
        raise FerdataError("--to hf needs Hugging Face datasets: pip install 'ferdata[hf]'") from None
    claim(out, KIND, [dataset.path], force)
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=list(CLASS_NAMES)),
            "id": datasets.Value("string"),
            "origin": datasets.Value("string"),
        }
    )
    parts = {}
    for name in SPLITS:
        split = dataset.split(name)
        columns = {"image": list(split.images), "label": split.labels.tolist(), "id": split.ids.tolist()}
        parts[name] = datasets.Dataset.from_dict(columns | {"origin": split.origin.tolist()}, features=features)
    with atomic_dir(out, KIND) as tmp:
        datasets.DatasetDict(parts).save_to_disk(str(tmp))


EXPORTERS: dict[str, Callable[[Dataset, Path, bool], None]] = {
    "imagefolder": _imagefolder,
    "csv": _fer2013_csv,
    "hf": _hugging_face,
}
