"""ADASYN (imbalanced-learn's), with ferdata's neighbour search and both parents of every new row recovered."""

import numpy as np
from pydantic import Field

from ferdata.labels import CLASS_NAMES
from ferdata.store import Split, concat
from ferdata.variants.base import SamplingParams, Step, as_features, as_images, derived, imblearn_strategy, seed_of
from ferdata.variants.sampling import class_changes, neighbor_search, require_class_sizes


class AdasynParams(SamplingParams):
    n_neighbors: int = Field(5, ge=1)


class Adasyn(Step):
    """ADASYN to about the majority count.

    Like SMOTE, with more new rows near rows whose neighbourhood is mostly other classes.
    """

    name = "adasyn"
    kind = "over"
    Params = AdasynParams

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        from imblearn.over_sampling import ADASYN

        strategy = imblearn_strategy(self.params.sampling_strategy)
        k = self.params.n_neighbors
        require_class_sizes(self.name, train.labels, strategy, k, "n_neighbors")
        features = as_features(train.images)
        counts = np.bincount(train.labels, minlength=len(CLASS_NAMES))
        self.no_new_rows_: list[str] = []
        made = []
        # One class at a time: ADASYN refuses a class whose per-row counts all round to zero, which should
        # leave that class as it is (and say so in the card), not stop the whole variant.
        for label, n_new in class_changes(strategy, train.labels, "over-sampling").items():
            if not n_new:
                continue
            sampler = ADASYN(
                sampling_strategy={label: int(counts[label] + n_new)},
                n_neighbors=neighbor_search(self.neighbors, k + 1),
                random_state=seed_of(rng),
            )
            try:
                resampled, _ = sampler.fit_resample(features, train.labels)
            except (ValueError, RuntimeError):
                self.no_new_rows_.append(CLASS_NAMES[label])
                continue
            new = resampled[len(train) :]
            base, partner = self._parents(features, train.labels, label, int(n_new), new)
            made.append(derived(train, self.name, as_images(new), np.full(len(new), label), [base, partner]))
        if not made:
            return train
        new_rows = concat(made)
        ids = np.char.add(f"{self.name}:", np.arange(len(new_rows)).astype(str))  # unique across classes
        return concat([train, Split(new_rows.images, new_rows.labels, ids, new_rows.origin)])

    def report(self) -> dict:
        return {"adasyn_classes_without_new_rows": self.no_new_rows_}

    def _parents(
        self, features: np.ndarray, labels: np.ndarray, label: int, n_samples: int, made: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both parents of each ADASYN row of one class, recovered from the searches ADASYN ran.

        ADASYN has no hook, so its per-row counts are recomputed (they depend only on neighbour labels)
        and each new row's partner is the candidate neighbour whose segment holds it.
        """
        k = self.params.n_neighbors
        search = neighbor_search(self.neighbors, k + 1)
        members = np.flatnonzero(labels == label)
        around = search.fit(features).kneighbors(features[members], return_distance=False)[:, 1:]
        ratio = (labels[around] != label).sum(axis=1) / k
        rows = np.repeat(np.arange(len(members)), np.rint(ratio / ratio.sum() * n_samples).astype(int))
        inside = search.fit(features[members]).kneighbors(features[members], return_distance=False)[:, 1:]
        column = _partner_column(features[members], inside, rows, made)
        return members[rows], members[inside[rows, column]]


def _partner_column(points: np.ndarray, neighbours: np.ndarray, rows: np.ndarray, made: np.ndarray) -> np.ndarray:
    """For each new point, which neighbour of its base row it was interpolated towards."""
    columns = []
    for first in range(0, len(rows), 1024):
        base = points[rows[first : first + 1024]][:, None, :]
        ends = points[neighbours[rows[first : first + 1024]]]
        offset = made[first : first + 1024][:, None, :] - base
        direction = ends - base
        t = np.clip((offset * direction).sum(-1) / np.maximum((direction**2).sum(-1), 1e-12), 0, 1)
        columns.append(((offset - t[..., None] * direction) ** 2).sum(-1).argmin(axis=1))
    return np.concatenate(columns) if columns else np.zeros(0, int)
