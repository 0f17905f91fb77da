import json
import re

import numpy as np
import pytest
from pydantic import ValidationError

from conftest import REPO_PARAMS, run_cli
from ferdata.build import build_variant
from ferdata.errors import FerdataError
from ferdata.params import load_params
from ferdata.store import Split, concat, load_dataset
from ferdata.variants.base import Step
from ferdata.variants.registry import VariantParams
from ferdata.variants.section import BuildParams


def _params_file(tmp_path, ingested, extra: str = "") -> None:
    # No leakage demonstration or ensembles: they would name variants these tests replace.
    (tmp_path / "params.yaml").write_text(
        "leakdemo: {enabled: false}\ncompare: {ensembles: {}}\n"
        f"build:\n  data: {ingested}\n  out: {tmp_path / 'variants'}\n{extra}"
    )


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["--variant", "smoot"], "", "unknown variant 'smoot' (known: adasyn, augment, class_weight, enn, none, ros,"),
        (
            ["--variant", "x"],
            "  variants:\n    x: {steps: [smote], smote: {k_neighbours: 3}}\n  pipeline: [x]\n",
            "build.variants.x.smote.k_neighbours: unknown key",
        ),
        (
            ["--variant", "x"],
            "  variants:\n    x: {steps: [smote, smoot]}\n  pipeline: [x]\n",
            "build.variants.x: unknown step 'smoot' (known: adasyn, augment,",
        ),
        (
            ["--variant", "x"],
            "  variants:\n    x: {steps: [smote], tomek: {sampling_strategy: auto}}\n  pipeline: [x]\n",
            "build.variants.x: params for 'tomek', which none of the steps ['smote'] uses",
        ),
        (
            ["--variant", "x"],
            "  variants:\n    x: {steps: [smote], smote: {k_neighbors: 60}}\n  pipeline: [x]\n",
            "smote: class 'disgust' has 10 training images, k_neighbors=60 needs at least 61",
        ),
        (["--variant", "smote", "--data", "nowhere"], "", "nowhere: not a directory"),
        (["--variant", "ros", "--data", "."], "", "train.npz: no such split file"),
    ],
)
def test_bad_builds_fail_in_one_line_and_write_nothing(tmp_path, ingested, args, extra, message):
    _params_file(tmp_path, ingested, extra)
    result = run_cli("build", *args, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "variants").exists()


def test_list_shows_every_variant_with_its_steps_and_every_step(tmp_path):
    result = run_cli("build", "--list", "--params", REPO_PARAMS, cwd=tmp_path)
    assert result.returncode == 0
    for variant in load_params(REPO_PARAMS).build.variants:
        assert re.search(rf"^{re.escape(variant)} ", result.stdout, re.MULTILINE)
    assert "smote + augment" in result.stdout
    # the steps table: each step with its kind and its params' defaults
    assert re.search(r"smotetomek +│ combined +│ SMOTE, then remove Tomek links", result.stdout)
    assert re.search(r"enn +│ cleaning .*│ sampling_strategy \[all\], n_neighbors", result.stdout)


def test_cli_build_writes_the_card_and_warns_loudly(tmp_path, ingested):
    _params_file(tmp_path, ingested)
    result = run_cli("build", "--variant", "smoteenn", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "variants" / "smoteenn"
    card = json.loads((out / "card.json").read_text())
    assert card["warnings"] and "WARNING: enn removed" in result.stdout
    assert card["steps"] == ["smote", "enn"] and card["rows_removed"] > 0
    assert set(card["params"]["steps"]) == {"smote", "enn"}  # a composite step records both parts' params
    assert (
        card["history"][1]["removed"] == np.subtract(card["history"][0]["counts_after"], card["counts_after"]).tolist()
    )
    assert "(smote " in result.stdout and " s, enn " in result.stdout  # step times, printed not written
    assert not (out / "timings.json").exists()
    assert "![class counts](class_counts.png)" in (out / "card.md").read_text()


def test_restricting_enn_to_chosen_classes_spares_the_others(tmp_path, ingested):
    variant = VariantParams(steps=["smoteenn"], enn={"sampling_strategy": ["disgust", "fear"]})
    params = BuildParams(variants={"smoteenn": variant}, pipeline=[])
    card, _ = build_variant("smoteenn", ingested, tmp_path / "v", params, seed=0)
    removed = dict(zip(card["class_names"], card["history"][1]["removed"], strict=True))
    assert {name for name, n in removed.items() if n} <= {"disgust", "fear"}


@pytest.mark.parametrize("variant", ["smotetomek", "smoteenn"])
def test_the_sketch_and_brute_force_searches_build_byte_identical_variants(tmp_path, ingested, variant):
    """Both exact searches break ties by row, so the search changes the speed and never the data or the card."""
    built = {}
    for backend in ("sketch", "torch"):
        params = BuildParams(neighbors={"backend": backend})
        card, _ = build_variant(variant, ingested, tmp_path / backend, params, seed=0)
        built[backend] = (card["params"], (tmp_path / backend / "train.npz").read_bytes())
    assert built["sketch"] == built["torch"]


def test_class_weight_records_balanced_weights(tmp_path, ingested):
    card, _ = build_variant("class_weight", ingested, tmp_path / "v", BuildParams(), seed=0)
    counts = np.array(card["counts_after"])
    np.testing.assert_allclose(card["class_weights"], counts.sum() / (7 * counts), rtol=1e-5)


def test_a_variant_sets_its_own_step_params(tmp_path, ingested):
    aug3 = VariantParams(steps=["augment"], augment={"mode": "multiply", "multiplier": 3})
    card, _ = build_variant("aug3", ingested, tmp_path / "v", BuildParams(variants={"aug3": aug3}, pipeline=[]), 0)
    assert card["counts_after"] == [3 * c for c in card["counts_before"]]
    assert card["params"]["steps"]["augment"]["multiplier"] == 3  # the card records what ran
    with pytest.raises(ValidationError, match=r"augment.multiplier"):
        VariantParams(steps=["augment"], augment={"multiplier": 0.5})
    with pytest.raises(ValidationError, match="list each step once"):
        VariantParams(steps=["ros", "ros"])


class _CopiesATestImage(Step):
    """A broken step: adds a copy of a held-out image, naming it as its parent."""

    name = "copies_test"
    kind = "over"

    def _fit_resample(self, train: Split, rng: np.random.Generator) -> Split:
        test = self.held_out.take(np.array([0]))
        return concat([train, Split(test.images, test.labels, np.array(["copy:0"]), test.ids)])


def test_a_row_derived_from_a_held_out_image_is_refused(ingested):
    dataset = load_dataset(ingested)
    held_out = concat([dataset["val"], dataset["test"]])
    with pytest.raises(FerdataError, match=f"derive from held-out images, e.g. {held_out.ids[0]}"):
        _CopiesATestImage().fit_resample(dataset["train"], np.random.default_rng(0), held_out)


def test_each_step_runs_inside_the_callers_progress_context(ingested, tmp_path):
    from contextlib import contextmanager

    events = []

    @contextmanager
    def during(step):
        events.append(f"start {step}")
        yield
        events.append(f"end {step}")

    params = BuildParams(variants={"two": VariantParams(steps=["ros", "augment"])})
    _, seconds = build_variant("two", ingested, tmp_path / "two", params, seed=0, during=during)
    assert events == ["start ros", "end ros", "start augment", "end augment"]
    assert list(seconds) == ["ros", "augment"]
