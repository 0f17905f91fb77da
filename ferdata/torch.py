"""A PyTorch `Dataset` over one split of a ferdata dataset directory, for training loops of your own.

    from torch.utils.data import DataLoader
    from ferdata.torch import FerDataset
    loader = DataLoader(FerDataset("data/variants/smote", "train"), batch_size=64, shuffle=True, num_workers=2)

Images are memory-mapped from the split file, not read into memory: DataLoader workers share the page cache
instead of each holding a copy (and a worker started by spawn maps the file again rather than unpickling one).
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.store import SPLITS, load_split, mapped_array


class FerDataset(Dataset):
    """(image, label) pairs: a float tensor (1, 48, 48) in 0..1, then `transform` if given, and the FER2013
    label (0 angry ... 6 neutral, `classes`)."""

    classes = CLASS_NAMES

    def __init__(self, path: str | Path, split: str = "train", transform: Callable | None = None) -> None:
        if split not in SPLITS:
            raise FerdataError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
        self.file = Path(path) / f"{split}.npz"
        self.transform = transform
        rows = load_split(self.file, mapped=True)  # validated, the images mapped rather than read
        self.images, self.labels, self.ids, self.origin = rows.images, rows.labels, rows.ids, rows.origin

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = torch.from_numpy(np.asarray(self.images[index], dtype=np.float32) / 255)[None]
        return (self.transform(image) if self.transform else image), int(self.labels[index])

    def __getstate__(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "images"}  # a map, not its bytes

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.images = mapped_array(self.file, "images")
