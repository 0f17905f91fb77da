"""One generic battery that every registered variant passes (in the spirit of imblearn's estimator checks):
contract, untouched val/test, provenance, determinism and the class counts each variant promises."""

import numpy as np
import pytest

from ferdata.build import build_variant
from ferdata.params import BuildParams, VariantParams
from ferdata.store import ORIGIN_SEP, load_dataset, load_split
from ferdata.variants import STEP_HELP
from ferdata.variants.registry import STEPS

PARAMS = BuildParams()
OUTPUT_FILES = ("train.npz", "val.npz", "test.npz", "card.json", "card.md", "class_counts.png", "samples.png")


def _promise(variant: str, before: np.ndarray, after: np.ndarray) -> bool:
    """The class counts a variant promises, from the counts before it."""
    largest, smallest = before.max(), before.min()
    promises = {
        "none": lambda: (after == before).all(),
        "class_weight": lambda: (after == before).all(),
        "ros": lambda: (after == largest).all(),
        "smote": lambda: (after == largest).all(),
        "augment": lambda: (after == largest).all(),
        "rus": lambda: (after == smallest).all(),
        "adasyn": lambda: (after >= before).all() and after.sum() > before.sum(),
        "smotetomek": lambda: (after <= largest).all() and after.sum() > 0.9 * 7 * largest,
        "smoteenn": lambda: (after <= largest).all() and after.sum() < 7 * largest,
        "smote_augment": lambda: (after == 2 * largest).all(),
    }
    return promises[variant]()


@pytest.fixture(scope="module")
def built(ingested, tmp_path_factory):
    """Every default variant built twice from the same input with one seed."""
    root = tmp_path_factory.mktemp("variants")
    cards = {}
    for variant in PARAMS.variants:
        for run in ("a", "b"):
            cards[variant], _ = build_variant(variant, ingested, root / run / variant, PARAMS, seed=11)
    return root, cards


@pytest.mark.parametrize("variant", list(PARAMS.variants))
def test_every_variant_passes_the_battery(variant, built, ingested):
    root, cards = built
    out = root / "a" / variant
    source = load_dataset(ingested)
    train = load_split(out / "train.npz")  # shapes, uint8, labels in range: the store contract

    # val and test are the input files, byte for byte
    for name in ("val", "test"):
        assert (out / f"{name}.npz").read_bytes() == (ingested / f"{name}.npz").read_bytes()

    # provenance: kept rows are unchanged source rows; new rows name their parents, all training rows
    source_ids = source["train"].ids
    kept = np.isin(train.ids, source_ids)
    position = {row_id: i for i, row_id in enumerate(source_ids)}
    kept_rows = np.array([position[i] for i in train.ids[kept]], dtype=int)
    np.testing.assert_array_equal(train.images[kept], source["train"].images[kept_rows])
    np.testing.assert_array_equal(train.labels[kept], source["train"].labels[kept_rows])
    assert (train.origin[kept] == "").all() and (train.origin[~kept] != "").all()
    assert len(set(train.ids.tolist())) == len(train)
    parents = [p for o in train.origin[~kept] for p in o.split(ORIGIN_SEP)]
    assert set(parents) <= set(source_ids.tolist())
    held_out = set(source["val"].ids.tolist()) | set(source["test"].ids.tolist())
    assert not held_out & (set(parents) | set(train.ids.tolist()))

    # one seed, the same bytes
    for name in OUTPUT_FILES:
        assert (out / name).read_bytes() == (root / "b" / variant / name).read_bytes(), name

    before, after = np.array(cards[variant]["counts_before"]), np.array(train.class_counts())
    assert before.tolist() == source["train"].class_counts()
    assert _promise(variant, before, after), (before, after)


@pytest.mark.parametrize("variant", ["smote", "adasyn", "smotetomek", "smote_augment"])
def test_interpolated_rows_lie_between_their_recorded_parents(variant, built, ingested):
    root, _ = built
    train = load_split(root / "a" / variant / "train.npz")
    source = load_dataset(ingested)["train"]
    position = {row_id: i for i, row_id in enumerate(source.ids)}
    made = np.char.startswith(train.ids, ("smote:", "adasyn:")[variant == "adasyn"])
    assert made.any()
    pairs = np.array([[position[p] for p in o.split(ORIGIN_SEP)] for o in train.origin[made]])
    a, b = source.images[pairs[:, 0]].astype(int), source.images[pairs[:, 1]].astype(int)
    new = train.images[made].astype(int)
    # Each pixel within its parents' range (rounding: 1), and one step t for the whole image.
    assert ((new >= np.minimum(a, b) - 1) & (new <= np.maximum(a, b) + 1)).all()
    diff = (b - a).reshape(len(a), -1).astype(float)
    t = ((new - a).reshape(len(a), -1) * diff).sum(1) / np.maximum((diff**2).sum(1), 1)
    residual = (new - a).reshape(len(a), -1) - t[:, None] * diff
    assert np.abs(residual).max() <= 1.0
    assert (train.labels[made] == source.labels[pairs[:, 0]]).all()
    assert (source.labels[pairs[:, 0]] == source.labels[pairs[:, 1]]).all()


def test_augmented_rows_copy_their_parent_label(built, ingested):
    root, _ = built
    train = load_split(root / "a" / "augment" / "train.npz")
    source = load_dataset(ingested)["train"]
    position = {row_id: i for i, row_id in enumerate(source.ids)}
    made = np.char.startswith(train.ids, "augment:")
    parents = np.array([position[o] for o in train.origin[made]])
    assert (train.labels[made] == source.labels[parents]).all()
    assert (train.images[made] != source.images[parents]).any(axis=(1, 2)).mean() > 0.9


def test_the_registry_builds_every_named_step():
    assert list(STEPS) == list(STEP_HELP)


@pytest.mark.parametrize("step", sorted(set(STEPS) - {"merge"}))  # merge needs a second dataset: test_more_sources
def test_every_step_alone_keeps_the_contract(step, ingested, tmp_path):
    params = BuildParams(variants={"only": VariantParams(steps=[step])}, pipeline=["only"])
    card, _ = build_variant("only", ingested, tmp_path / step, params, seed=0)
    train = load_split(tmp_path / step / "train.npz")
    assert train.class_counts() == card["counts_after"]
    assert card["steps"] == [s.name for s in STEPS[step](params.variants["only"], params.neighbors)]
