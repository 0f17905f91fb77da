"""Build one dataset variant: the ingested training split resampled and augmented by the variant's steps.

Only `train.npz` is ever read into a step; `val.npz` and `test.npz` are copied byte for byte. The output is
written atomically: OUT/{train,val,test}.npz, card.json, card.md, class_counts.png and samples.png, the same
bytes on every run with one seed. Wall-clock times are returned, not written there, so they cannot change
the output's bytes.
"""

import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np

from ferdata.card import file_sha256, library_versions, write_json
from ferdata.errors import FerdataError, first_line
from ferdata.labels import CLASS_NAMES
from ferdata.outputs import atomic_dir, atomic_file, claim
from ferdata.plots import class_counts_chart, sample_grid
from ferdata.store import SPLITS, Split, concat, load_dataset, save_split
from ferdata.variants.base import Step
from ferdata.variants.registry import steps_of
from ferdata.variants.section import BuildParams

KIND = "variant"

# Entered around each step with its name: the command line shows a spinner there on a terminal.
During = Callable[[str], AbstractContextManager]


def build_variant(
    variant: str,
    data: Path,
    out: Path,
    params: BuildParams,
    seed: int,
    force: bool = False,
    during: During = lambda step: nullcontext(),
) -> tuple[dict, dict]:
    """Write the variant to `out`; return its card and the seconds each step took."""
    steps = steps_of(variant, params.variants, params.neighbors)
    dataset = load_dataset(data)  # validates all three splits before anything runs
    claim(out, KIND, [data, *(path for step in steps for path in step.inputs())], force)
    try:
        held_out = concat([dataset["val"], dataset["test"]])
        train, history, timings, extras = run_steps(dataset["train"], steps, seed, held_out, during)
    except ValueError as exc:  # imbalanced-learn's word on data it cannot resample (one class, too few rows)
        raise FerdataError(f"{data / 'train.npz'}: variant {variant}: {first_line(exc)}") from None
    warnings = _class_loss_warnings(variant, steps, history, params.warn_class_loss)
    card = {
        "variant": variant,
        "steps": [h["step"] for h in history],
        "seed": seed,
        "params": {
            "variant": params.variants[variant].steps,
            "steps": {step.name: step.params.model_dump() for step in steps if step.params is not None},
            "neighbors": params.neighbors.deciding(),
        },
        "input": {
            name: {"path": str(data / f"{name}.npz"), "sha256": file_sha256(data / f"{name}.npz")} for name in SPLITS
        },
        "counts_before": history[0]["counts_before"],
        "counts_after": train.class_counts(),
        "history": history,
        "rows_added": int(sum(sum(h["added"]) for h in history)),
        "rows_removed": int(sum(sum(h["removed"]) for h in history)),
        **extras,
        "warnings": warnings,
        "class_names": list(CLASS_NAMES),
        "versions": library_versions(),
    }
    with atomic_dir(out, KIND) as tmp:
        save_split(train, tmp / "train.npz")
        for name in ("val", "test"):
            shutil.copyfile(data / f"{name}.npz", tmp / f"{name}.npz")
        write_json(tmp / "card.json", card)
        class_counts_chart(card["counts_before"], card["counts_after"], f"variant {variant}", tmp / "class_counts.png")
        sample_grid(train, tmp / "samples.png")
        with atomic_file(tmp / "card.md") as md:
            md.write_text(card_markdown(card))
    return card, timings


def run_steps(
    train: Split,
    steps: list[Step],
    seed: int,
    held_out: Split | None = None,
    during: During = lambda step: nullcontext(),
) -> tuple[Split, list[dict], dict, dict]:
    """Apply `steps` in order, each with its own seeded generator, none allowed to use a `held_out` row;
    returns the new split, the class counts each step saw and made, the seconds each took, and what the
    steps report for the card."""
    history, timings, extras = [], {}, {}
    seeds = np.random.SeedSequence(seed).spawn(len(steps))
    for step, step_seed in zip(steps, seeds, strict=True):
        before = np.array(train.class_counts())
        ids_before = train.ids
        started = time.perf_counter()
        with during(step.name):
            train = step.fit_resample(train, np.random.default_rng(step_seed), held_out)
        timings[step.name] = round(time.perf_counter() - started, 3)
        after = np.array(train.class_counts())
        new = ~np.isin(train.ids, ids_before)
        added = np.bincount(train.labels[new], minlength=len(CLASS_NAMES))
        history.append(
            {
                "step": step.name,
                "counts_before": before.tolist(),
                "counts_after": after.tolist(),
                "added": added.tolist(),
                "removed": (before + added - after).tolist(),
            }
        )
        extras |= step.report()
    return train, history, timings, extras


def _class_loss_warnings(variant: str, steps: list, history: list[dict], threshold: float) -> list[str]:
    warnings = []
    for step, record in zip(steps, history, strict=True):
        if step.kind != "cleaning":
            continue
        for label, (before, removed) in enumerate(zip(record["counts_before"], record["removed"], strict=True)):
            if before and removed / before >= threshold:
                warnings.append(
                    f"{step.name} removed {removed} of {before} {CLASS_NAMES[label]} images "
                    f"({removed / before:.0%}), leaving {before - removed}; to clean only chosen classes, "
                    f"set build.variants.{variant}.{step.name}.sampling_strategy to a list such as [disgust, fear]"
                )
    return warnings


def card_markdown(card: dict) -> str:
    """The human card: what was done, class counts per step, warnings and the two figures."""
    header = "| step | " + " | ".join(CLASS_NAMES) + " | total |"
    lines = [
        f"# Variant `{card['variant']}`",
        "",
        f"Steps: {', '.join(card['steps'])}. Seed {card['seed']}. Only the training split is resampled; "
        "val and test are copied unchanged.",
        "",
        header,
        "|" + " --- |" * (len(CLASS_NAMES) + 2),
        "| (input) | " + " | ".join(map(str, card["counts_before"])) + f" | {sum(card['counts_before'])} |",
    ]
    for record in card["history"]:
        after = record["counts_after"]
        lines.append(f"| {record['step']} | " + " | ".join(map(str, after)) + f" | {sum(after)} |")
    lines += ["", f"Rows added: {card['rows_added']}; rows removed: {card['rows_removed']}.", ""]
    if card.get("merged"):
        added = card["merged"]["train_rows_added"]
        per_class = ", ".join(map(str, added))
        lines += [f"Training rows added from `{card['merged']['data']}`: {sum(added)} ({per_class}).", ""]
    if card.get("dropped_as_val_test_duplicates"):
        lines += [f"Dropped as duplicates of val/test images: {len(card['dropped_as_val_test_duplicates'])}.", ""]
    if card.get("class_weights"):
        lines += ["Class weights for the loss: " + ", ".join(map(str, card["class_weights"])), ""]
    for warning in card["warnings"]:
        lines.append(f"> **Warning:** {warning}")
    lines += ["", "![class counts](class_counts.png)", "", "![real and synthetic samples](samples.png)", ""]
    return "\n".join(lines)
