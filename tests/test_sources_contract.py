"""One contract for every source (torchvision's dataset tests): each source's class here writes a small valid
dataset in its real on-disk layout, says which labels it wrote, and breaks one entry on request; the generic
checks come from `SourceContract`."""

import csv
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.sections.ingest import IngestParams
from ferdata.sources.fer2013_csv import write_fer2013_csv
from ferdata.sources.registry import SOURCES, detect

RNG = np.random.default_rng(4)
N = 28  # faces per fake dataset: four of each class


def _photo(path: Path, size: int = 60) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def _append(path: Path, line: str) -> int:
    """Append a line to a text file; its line number."""
    text = path.read_text()
    path.write_text(text + line + "\n")
    return len(text.splitlines()) + 1


class SourceContract:
    name: str
    can_escape = True  # entries name image files, so one can point outside the dataset root

    def write(self, root: Path) -> tuple[Path, dict[str, int]]:
        """A valid dataset under root: the path to read and {id: FER2013 label} of what was written."""
        raise NotImplementedError

    def break_entry(self, path: Path) -> tuple[str, int | None]:
        """Make one more entry bad: the file and line number (None: no line) its error must name."""
        raise NotImplementedError

    def escape(self, path: Path) -> None:
        """Add an entry whose image path leaves the dataset root."""
        raise NotImplementedError

    def key(self, row_id: str) -> str:
        return row_id

    @property
    def source(self):
        return next(source for source in SOURCES if source.name == self.name)

    def test_is_detected(self, tmp_path):
        path, _ = self.write(tmp_path / "data")
        assert detect(path).name == self.name

    def test_labels_map_exactly_and_ids_are_unique_and_stable(self, tmp_path):
        path, expected = self.write(tmp_path / "data")
        rows = self.source.read(path, IngestParams())
        assert {self.key(i): int(label) for i, label in zip(rows.ids, rows.labels, strict=True)} == expected
        assert len(set(rows.ids.tolist())) == len(rows.ids)
        np.testing.assert_array_equal(self.source.read(path, IngestParams()).ids, rows.ids)
        assert rows.images.shape == (len(expected), 48, 48) and rows.images.dtype == np.uint8

    def test_a_missing_dataset_is_named(self, tmp_path):
        with pytest.raises(FerdataError, match=str(tmp_path / "nowhere")):
            self.source.read(tmp_path / "nowhere", IngestParams())

    def test_a_bad_entry_is_named_by_file_and_line_or_skipped_and_counted(self, tmp_path):
        path, expected = self.write(tmp_path / "data")
        file, line = self.break_entry(path)
        with pytest.raises(FerdataError) as error:
            self.source.read(path, IngestParams())
        message = str(error.value)
        assert file in message and "\n" not in message, message
        if line is not None:
            assert f"line {line}" in message, message
        rows = self.source.read(path, IngestParams(skip_bad=True))
        assert len(rows.ids) == len(expected)
        assert sum(rows.notes["skipped"].values()) == 1

    def test_a_path_outside_the_root_is_refused(self, tmp_path):
        if not self.can_escape:
            pytest.skip(f"{self.name} entries name no files")
        (tmp_path / "outside.jpg").parent.mkdir(parents=True, exist_ok=True)
        _photo(tmp_path / "outside.jpg")
        path, _ = self.write(tmp_path / "data")
        self.escape(path)
        for params in (IngestParams(), IngestParams(skip_bad=True)):  # never skipped: the file is not bad, the path is
            with pytest.raises(FerdataError, match="outside the dataset root"):
                self.source.read(path, params)


class TestFer2013Csv(SourceContract):
    name = "fer2013"
    can_escape = False

    def write(self, root):
        root.mkdir(parents=True)
        labels = np.arange(N) % 7
        usage = np.array(["Training"] * (N - 14) + ["PublicTest"] * 7 + ["PrivateTest"] * 7)
        write_fer2013_csv(root / "fer.csv", RNG.integers(0, 256, (N, 48, 48), dtype=np.uint8), labels, usage)
        return root / "fer.csv", {
            f"fer2013:{u}:{i}": int(label) for i, (label, u) in enumerate(zip(labels, usage, strict=True))
        }

    def break_entry(self, path):
        return str(path), _append(path, "3,1 2 3,Training")  # 3 pixels, not 2304


class TestFer2013Folders(SourceContract):
    name = "fer2013"
    can_escape = False

    def write(self, root):
        expected = {}
        for i in range(N):
            split, label = ("train", "test")[i % 4 == 0], i % 7
            relative = f"{split}/{CLASS_NAMES[label]}/im{i}.png"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(RNG.integers(0, 256, (48, 48), dtype=np.uint8)).save(root / relative)
            expected[f"fer2013:{relative}"] = label
        return root, expected

    def break_entry(self, path):
        (path / "train" / "happy" / "broken.png").write_bytes(b"not a png")
        return str(path / "train" / "happy" / "broken.png"), None


class TestExpW(SourceContract):
    name = "expw"

    def write(self, root):
        lines, expected = [], {}
        for i in range(N):
            _photo(root / "image" / "origin" / f"p{i}.jpg")
            lines.append(f"p{i}.jpg 0 5 5 45 45 0.9 {i % 7}")
            expected[f"expw:p{i}.jpg"] = i % 7
        (root / "label").mkdir(parents=True)
        (root / "label" / "label.lst").write_text("\n".join(lines) + "\n")
        return root, expected

    def key(self, row_id):
        return row_id.split("#")[0]

    def break_entry(self, path):
        file = path / "label" / "label.lst"
        return str(file), _append(file, "p0.jpg 1 5 5 45 45 0.9 9")  # label 9 does not exist

    def escape(self, path):
        _append(path / "label" / "label.lst", "../../outside.jpg 0 5 5 45 45 0.9 1")


class TestRafDb(SourceContract):
    name = "rafdb"

    def write(self, root):
        lines, expected = [], {}
        raf_of_fer = {5: 1, 2: 2, 1: 3, 3: 4, 4: 5, 0: 6, 6: 7}
        for i in range(N):
            role = ("train", "test")[i % 4 == 0]
            _photo(root / "Image" / "aligned" / f"{role}_{i:05d}_aligned.jpg", 100)
            lines.append(f"{role}_{i:05d}.jpg {raf_of_fer[i % 7]}")
            expected[f"rafdb:{role}_{i:05d}_aligned.jpg"] = i % 7
        (root / "EmoLabel").mkdir(parents=True)
        (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
        return root, expected

    def break_entry(self, path):
        file = path / "EmoLabel" / "list_patition_label.txt"
        return str(file), _append(file, "train_00001.jpg 8")

    def escape(self, path):
        _append(path / "EmoLabel" / "list_patition_label.txt", "train_/../../../../outside.jpg 1")


class TestAffectNetOfficial(SourceContract):
    name = "affectnet"
    header = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    fer_of_affectnet: ClassVar[dict[int, int]] = {0: 6, 1: 3, 2: 4, 3: 5, 4: 2, 5: 1, 6: 0}

    def write(self, root):
        lists = root / "Manually_Annotated_file_lists"
        lists.mkdir(parents=True)
        expected, rows = {}, {"training.csv": [], "validation.csv": []}
        for i in range(N):
            name = ("training.csv", "validation.csv")[i % 4 == 0]
            _photo(root / "Manually_Annotated_Images" / f"{i % 3}/f{i}.jpg")
            rows[name].append([f"{i % 3}/f{i}.jpg", 5, 5, 40, 40, "1;2", i % 7, 0.1, 0.2])
            expected[f"affectnet:{i % 3}/f{i}.jpg"] = self.fer_of_affectnet[i % 7]
        for name, data in rows.items():
            with open(lists / name, "w", newline="") as stream:
                if name == "training.csv":
                    stream.write(self.header + "\n")
                csv.writer(stream).writerows(data)
        return root, expected

    def key(self, row_id):
        return row_id.split("#")[0]

    def break_entry(self, path):
        file = path / "Manually_Annotated_file_lists" / "training.csv"
        return str(file), _append(file, "0/f1.jpg,5,5,40,40,1;2,x,0.1,0.2")

    def escape(self, path):
        _append(path / "Manually_Annotated_file_lists" / "training.csv", "../../outside.jpg,5,5,40,40,1;2,1,0.1,0.2")


class TestAffectNetKaggle(SourceContract):
    name = "affectnet"
    names: ClassVar[dict[int, str]] = {
        0: "anger",
        1: "disgust",
        2: "fear",
        3: "happy",
        4: "sad",
        5: "surprise",
        6: "neutral",
    }

    def write(self, root):
        lines, expected = [",pth,label,relFCs"], {}
        for i in range(N):
            name = self.names[i % 7]
            _photo(root / name / f"image{i:07d}.png", 96)
            lines.append(f"{i},{name}/image{i:07d}.png,{name},0.9")
            expected[f"affectnet:{name}/image{i:07d}.png"] = i % 7
        (root / "labels.csv").write_text("\n".join(lines) + "\n")
        return root, expected

    def break_entry(self, path):
        return str(path / "labels.csv"), _append(path / "labels.csv", f"{N},happy/image0000001.png,joyful,0.9")

    def escape(self, path):
        _append(path / "labels.csv", f"{N},../outside.jpg,happy,0.9")
