"""The generic battery (in the spirit of imbalanced-learn's estimator checks): every registered step is checked
by what its kind promises, every variant in params.yaml and a user-defined one by the variant contract."""

import numpy as np
import pytest

from conftest import REPO_PARAMS
from ferdata.build import build_variant
from ferdata.params import load_params
from ferdata.store import ORIGIN_SEP, Split, concat, load_dataset, load_split, save_split
from ferdata.variants import checks
from ferdata.variants.registry import STEPS, VariantParams
from ferdata.variants.section import BuildParams

OUTPUT_FILES = ("train.npz", "val.npz", "test.npz", "card.json", "card.md", "class_counts.png", "samples.png")
REPO_VARIANTS = load_params(REPO_PARAMS).build.variants
USER_VARIANT = VariantParams(steps=["ros", "tomek", "augment"], augment={"mode": "multiply", "multiplier": 1.5})


@pytest.fixture(scope="module")
def splits(ingested):
    dataset = load_dataset(ingested)
    return dataset["train"], concat([dataset["val"], dataset["test"]])


@pytest.fixture(scope="module")
def other_source(ingested, tmp_path_factory):
    """A second ingested training split for merge: fresh ids, one row a copy of a test image."""
    root = tmp_path_factory.mktemp("other")
    test = load_dataset(ingested)["test"]
    images = np.random.default_rng(5).integers(0, 256, (20, 48, 48), dtype=np.uint8)
    images[0] = test.images[0]
    save_split(
        Split.from_source(images, np.arange(20) % 7, np.array([f"other:{i}" for i in range(20)])), root / "train.npz"
    )
    return root


def _params_for(step: str, other_source) -> object:
    return STEPS[step].Params(data=str(other_source)) if step == "merge" else None


@pytest.mark.parametrize("step", list(STEPS))
def test_every_step_keeps_what_its_kind_promises(step, splits, other_source):
    train, held_out = splits
    out = checks.check_step(STEPS[step], train, held_out, _params_for(step, other_source))
    checks.check_balance(STEPS[step], train, out)


@pytest.mark.parametrize(
    "step", [name for name, s in STEPS.items() if s.Params and "sampling_strategy" in s.Params.model_fields]
)
def test_a_strategy_naming_classes_leaves_the_others_untouched(step, splits):
    checks.check_named_classes_untouched(STEPS[step], *splits)


def test_a_broken_step_fails_the_battery(splits):
    """The battery can fail: an 'over' step that drops a row is caught."""
    from ferdata.variants.base import Step

    class DropsARow(Step):
        name, kind = "drops_a_row", "over"

        def _fit_resample(self, train, rng):
            return train.take(np.arange(1, len(train)))

    with pytest.raises(AssertionError, match="a class shrank"):
        checks.check_step(DropsARow, *splits)


@pytest.fixture(scope="module")
def built(ingested, tmp_path_factory):
    """Every variant of params.yaml and a user-defined one, built once."""
    root = tmp_path_factory.mktemp("variants")
    params = BuildParams(variants={**REPO_VARIANTS, "user": USER_VARIANT})
    for variant in params.variants:
        build_variant(variant, ingested, root / variant, params, seed=11)
    return root, params


@pytest.mark.parametrize("variant", [*REPO_VARIANTS, "user"])
def test_every_variant_keeps_the_variant_contract(variant, built, ingested):
    root, _ = built
    checks.check_variant(root / variant, ingested)


def test_one_seed_writes_the_same_bytes(built, ingested, tmp_path):
    root, params = built
    build_variant("smote_augment", ingested, tmp_path / "again", params, seed=11)
    for name in OUTPUT_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (root / "smote_augment" / name).read_bytes(), name


@pytest.mark.parametrize("variant", ["smote", "adasyn", "smotetomek", "smote_augment"])
def test_interpolated_rows_lie_between_their_recorded_parents(variant, built, ingested):
    root, _ = built
    train = load_split(root / variant / "train.npz")
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
    train = load_split(root / "augment" / "train.npz")
    source = load_dataset(ingested)["train"]
    position = {row_id: i for i, row_id in enumerate(source.ids)}
    made = np.char.startswith(train.ids, "augment:")
    parents = np.array([position[o] for o in train.origin[made]])
    assert (train.labels[made] == source.labels[parents]).all()
    assert (train.images[made] != source.images[parents]).any(axis=(1, 2)).mean() > 0.9


def test_smote_augment_doubles_the_balanced_classes(built, ingested):
    counts = load_split(built[0] / "smote_augment" / "train.npz").class_counts()
    largest = max(load_dataset(ingested)["train"].class_counts())
    assert counts == [2 * largest] * 7


def test_smote_rows_are_made_as_imblearn_makes_them_on_float32_features():
    from imblearn.over_sampling import SMOTE

    from ferdata.variants.base import as_images
    from ferdata.variants.steps.smote import interpolated_pixels

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (300, 2304), dtype=np.uint8)
    pixels[:40] = pixels[40:80]  # equal parents: the new row is the parent itself
    neighbours = rng.integers(0, 300, (300, 5))
    rows, cols = rng.integers(0, 300, 5000), rng.integers(0, 5, 5000)
    steps = rng.uniform(size=(5000, 1))
    features = pixels.astype(np.float32)
    reference = SMOTE()._generate_samples(features, features, neighbours, rows, cols, steps)
    made = interpolated_pixels(pixels, pixels, rows, neighbours[rows, cols], steps)
    assert np.array_equal(made, as_images(reference).reshape(len(rows), -1))
