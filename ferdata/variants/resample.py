"""Resampling steps backed by imbalanced-learn, with ferdata's neighbour search and provenance.

imbalanced-learn does the resampling. ferdata supplies the k-NN search (`ferdata.neighbors`) and records,
for every synthetic row, the ids of the rows it was made from.
"""

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE, RandomOverSampler
from imblearn.under_sampling import EditedNearestNeighbours, RandomUnderSampler, TomekLinks
from imblearn.utils import check_sampling_strategy

from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.neighbors import Neighbors
from ferdata.params import AdasynParams, CleaningParams, EnnParams, NeighborParams, SamplingParams, SmoteParams
from ferdata.store import Split, concat
from ferdata.variants.base import Step, as_features, as_images, derived, imblearn_strategy, seed_of


class RandomOversample(Step):
    """Random oversampling: minority rows repeated until classes match (imblearn's RandomOverSampler)."""

    name = "ros"

    def __init__(self, params: SamplingParams) -> None:
        self.params = params

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        repeats = _picked_rows(RandomOverSampler, self.params, train, rng)[len(train) :]
        return concat([train, derived(train, self.name, train.images[repeats], train.labels[repeats], [repeats])])


class RandomUndersample(Step):
    """Random undersampling: majority rows dropped until classes match (imblearn's RandomUnderSampler)."""

    name = "rus"

    def __init__(self, params: SamplingParams) -> None:
        self.params = params

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        return train.take(np.sort(_picked_rows(RandomUnderSampler, self.params, train, rng)))


def _picked_rows(sampler_type: type, params: SamplingParams, train: Split, rng: np.random.Generator) -> np.ndarray:
    """The rows a random sampler keeps or repeats, in its order. It only picks rows, so it is given row
    numbers instead of 2304 pixels per row."""
    sampler = sampler_type(sampling_strategy=imblearn_strategy(params.sampling_strategy), random_state=seed_of(rng))
    sampler.fit_resample(np.arange(len(train))[:, None], train.labels)
    return sampler.sample_indices_


class _TracedSMOTE(SMOTE):
    """imbalanced-learn's SMOTE, recording both parents of every synthetic row as it makes them.

    Hooks `_generate_samples`, which SMOTE calls once per class with the base rows and neighbour columns
    it drew; the test battery checks every synthetic row lies between the parents recorded here.
    """

    def _fit_resample(self, X, y):
        self._fit_labels, self.parents_ = y, []
        return super()._fit_resample(X, y)

    def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
        members = np.flatnonzero(self._fit_labels == y_type)
        self.parents_.append((members[rows], members[nn_num[rows, cols]]))
        return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)


class Smote(Step):
    """SMOTE: new minority rows on the segments between a row and one of its k nearest same-class rows."""

    name = "smote"

    def __init__(self, params: SmoteParams, neighbors: NeighborParams) -> None:
        self.params, self.neighbors = params, neighbors

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        strategy = imblearn_strategy(self.params.sampling_strategy)
        _require_class_sizes(self.name, train.labels, strategy, self.params.k_neighbors, "k_neighbors")
        sampler = _TracedSMOTE(
            sampling_strategy=strategy,
            k_neighbors=_neighbors(self.neighbors, self.params.k_neighbors + 1),
            random_state=seed_of(rng),
        )
        features, labels = sampler.fit_resample(as_features(train.images), train.labels)
        if not sampler.parents_:
            return train
        base, partner = (np.concatenate(p) for p in zip(*sampler.parents_, strict=True))
        new = derived(train, self.name, as_images(features[len(train) :]), labels[len(train) :], [base, partner])
        return concat([train, new])


class Adasyn(Step):
    """ADASYN: like SMOTE, with more new rows near rows whose neighbourhood is mostly other classes."""

    name = "adasyn"

    def __init__(self, params: AdasynParams, neighbors: NeighborParams) -> None:
        self.params, self.neighbors = params, neighbors

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        strategy = imblearn_strategy(self.params.sampling_strategy)
        k = self.params.n_neighbors
        _require_class_sizes(self.name, train.labels, strategy, k, "n_neighbors")
        features = as_features(train.images)
        counts = np.bincount(train.labels, minlength=len(CLASS_NAMES))
        self.no_new_rows_: list[str] = []
        made = []
        # One class at a time: ADASYN refuses a class whose per-row counts all round to zero, which should
        # leave that class as it is (and say so in the card), not stop the whole variant.
        for label, n_new in check_sampling_strategy(strategy, train.labels, "over-sampling").items():
            if not n_new:
                continue
            sampler = ADASYN(
                sampling_strategy={label: int(counts[label] + n_new)},
                n_neighbors=_neighbors(self.neighbors, k + 1),
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
        search = _neighbors(self.neighbors, k + 1)
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


class Tomek(Step):
    """Tomek links: pairs of mutual nearest neighbours of different classes; their rows are removed.

    TomekLinks has no pluggable search, so the neighbours come from ferdata's search and go to its static
    `is_tomek`, exactly as TomekLinks does with its own.
    """

    name = "tomek"
    cleaning = True

    def __init__(self, params: CleaningParams, neighbors: NeighborParams) -> None:
        self.params, self.neighbors = params, neighbors

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        features = as_features(train.images)
        nearest = _neighbors(self.neighbors, 2).fit(features).kneighbors(features, return_distance=False)[:, 1]
        classes = check_sampling_strategy(
            imblearn_strategy(self.params.sampling_strategy), train.labels, "clean-sampling"
        )
        linked = TomekLinks.is_tomek(train.labels, nearest, classes)
        return train.take(~linked)


class Enn(Step):
    """ENN: rows whose k nearest neighbours disagree with their label are removed (imblearn's ENN)."""

    name = "enn"
    cleaning = True

    def __init__(self, params: EnnParams, neighbors: NeighborParams) -> None:
        self.params, self.neighbors = params, neighbors

    def fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        sampler = EditedNearestNeighbours(
            sampling_strategy=imblearn_strategy(self.params.sampling_strategy),
            n_neighbors=_neighbors(self.neighbors, self.params.n_neighbors + 1),
            kind_sel=self.params.kind_sel,
        )
        sampler.fit_resample(as_features(train.images), train.labels)
        return train.take(np.sort(sampler.sample_indices_))


def _neighbors(params: NeighborParams, n_neighbors: int) -> Neighbors:
    return Neighbors(n_neighbors=n_neighbors, **params.model_dump())


def _require_class_sizes(step: str, labels: np.ndarray, strategy, k: int, key: str) -> None:
    """Each class that gets new rows needs more than k rows of its own to interpolate between."""
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    for label, n_new in check_sampling_strategy(strategy, labels, "over-sampling").items():
        if n_new and counts[label] <= k:
            raise FerdataError(
                f"{step}: class {CLASS_NAMES[label]!r} has {counts[label]} training images, "
                f"{key}={k} needs at least {k + 1}; lower build.steps.{step}.{key}"
            )
