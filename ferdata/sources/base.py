"""What every source is: a class with a `name`, a `detect(path)` that says whether a path holds its layout, and
a `read(path, params)` that turns it into `SourceRows` (torchvision's datasets, one class per format)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ferdata.sections.ingest import IngestParams


@dataclass(frozen=True)
class SourceRows:
    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int8 (N,)
    ids: np.ndarray  # str (N,)
    roles: np.ndarray  # str (N,) train / val / test, or "" where the source gives none
    role_sources: np.ndarray  # str (N,) why a row has its role, e.g. "Usage=PrivateTest", for the card
    source: dict  # format, path, hash, row counts
    notes: dict = field(default_factory=dict)  # skipped rows, FER+ relabelling
    groups: np.ndarray | None = None  # str (N,): rows of one group (e.g. faces of one photo) share a split


class Source(ABC):
    """One dataset format. `read` names the file and line of the first bad entry, or skips and counts bad
    entries with `params.skip_bad`; ids are stable across runs and unique; labels are FER2013's."""

    name: ClassVar[str]
    is_folder: ClassVar[bool] = True  # the dataset is a folder (FER2013 may also be one CSV file)

    @abstractmethod
    def detect(self, path: Path) -> bool:
        """Whether `path` holds this format's layout."""

    @abstractmethod
    def read(self, path: Path, params: IngestParams) -> SourceRows:
        """The rows of the dataset at `path`."""
