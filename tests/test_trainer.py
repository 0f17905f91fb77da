import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from conftest import tiny_recipe
from ferdata.device import pick_device
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.recipe import AugmentConfig, TrainingParams
from ferdata.store import load_dataset
from trainer.augment import erase, ten_crop, warp
from trainer.checkpoint import load_checkpoint
from trainer.ensemble import ensemble
from trainer.evaluate import evaluate
from trainer.forward import logits_of
from trainer.loop import _loss_weights, _moving_average, fit
from trainer.metrics import classification_text, scores, softmax
from trainer.models import VGG16Transfer, VGGNet, build_model

TINY = tiny_recipe()


def test_class_weights_come_from_a_class_weight_variant(ingested, tmp_path):
    from ferdata.build import build_variant
    from ferdata.variants.section import BuildParams

    card, _ = build_variant("class_weight", ingested, tmp_path / "cw", BuildParams(), seed=0)
    cards = {path: json.loads(path.read_text()) for path in (tmp_path / "cw" / "card.json", ingested / "card.json")}
    weights = _loss_weights(
        cards[tmp_path / "cw" / "card.json"], tmp_path / "cw" / "card.json", torch.device("cpu"), required=False
    )
    assert weights.tolist() == pytest.approx(card["class_weights"])
    assert (
        _loss_weights(cards[ingested / "card.json"], ingested / "card.json", torch.device("cpu"), required=False)
        is None
    )


def test_vggnet_is_usef_kh_s_architecture():
    model = VGGNet()
    assert sum(p.numel() for p in model.parameters()) == 29_890_759
    assert model(torch.zeros(3, 1, 40, 40)).shape == (3, 7)
    assert VGGNet(width=0.25)(torch.zeros(2, 1, 40, 40)).shape == (2, 7)


def test_vgg16_takes_gray_input_and_local_weights(tmp_path):
    model = VGG16Transfer(width=0.125)
    assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 7)
    source = VGG16Transfer(width=0.125)
    torch.save({f"features.{k}": v for k, v in source.features.state_dict().items()}, tmp_path / "w.pt")
    loaded = build_model("vgg16", 0.125, 0.2, 40, tmp_path / "w.pt")
    torch.testing.assert_close(loaded.features[0].weight, source.features[0].weight)
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "bad.pt")
    with pytest.raises(FerdataError, match=r"features\.0\.weight has shape \(3,\), expected"):
        build_model("vgg16", 0.125, 0.2, 40, tmp_path / "bad.pt")


def test_ferdatas_loop_learns(trained):
    """Two epochs of the tiny recipe: the training loss falls and the test split is scored well above chance
    and the majority class's share, which a loop that does not step the optimizer would not reach."""
    out, metrics = trained
    epochs = json.loads((out / "history.json").read_text())["epochs"]
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert metrics["test"]["top1"] > 0.5
    assert metrics["best_epoch"] == max(range(len(epochs)), key=lambda e: (epochs[e]["val_top1"], -e))


def test_metrics_agree_with_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 500)
    logits = rng.normal(size=(500, 7)) + 2 * np.eye(7)[labels] * (rng.random(500) < 0.5)[:, None]
    result = scores(logits, labels, loss=0.5)
    predicted = logits.argmax(1)
    assert result["top1"] == pytest.approx(accuracy_score(labels, predicted))
    for k in (2, 3):
        assert result[f"top{k}"] == pytest.approx(top_k_accuracy_score(labels, logits, k=k, labels=range(7)))
    assert result["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert result["weighted_f1"] == pytest.approx(f1_score(labels, predicted, average="weighted"))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=range(7))
    per_class = list(result["per_class"].values())
    assert [c["precision"] for c in per_class] == pytest.approx(precision)
    assert [c["recall"] for c in per_class] == pytest.approx(recall)
    assert [c["f1"] for c in per_class] == pytest.approx(f1)
    assert [c["support"] for c in per_class] == support.tolist()
    assert result["confusion"] == confusion_matrix(labels, predicted, labels=range(7)).tolist()


@pytest.mark.parametrize("missing", ["none", "a true class", "a predicted class"])
def test_the_classification_text_is_scikit_learns_byte_for_byte(missing):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 7, 300)
    predicted = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 7, 300))
    if missing == "a true class":
        labels[labels == 1] = 0
    if missing == "a predicted class":
        predicted[predicted == 2] = 3
    expected = classification_report(labels, predicted, labels=range(7), target_names=CLASS_NAMES, digits=4,
                                     zero_division=0)  # fmt: skip
    assert classification_text(labels, predicted) == expected


def test_resume_continues_exactly(learnable, trained, tmp_path):
    straight_dir, straight = trained
    fit(learnable, tmp_path / "resumed", TINY.model_copy(update={"epochs": 1}), seed=0, device_name="cpu")
    with pytest.raises(FerdataError, match="another config"):
        changed = TINY.model_copy(update={"lr": 0.1})
        fit(learnable, tmp_path / "resumed", changed, seed=0, device_name="cpu", resume=True)
    resumed = fit(learnable, tmp_path / "resumed", TINY, seed=0, device_name="cpu", resume=True)
    assert resumed == json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    history = [json.loads((d / "history.json").read_text()) for d in (straight_dir, tmp_path / "resumed")]
    assert history[0] == history[1]
    assert straight["test"] == resumed["test"]
    val_top1 = [epoch["val_top1"] for epoch in history[0]["epochs"]]
    assert straight["best_epoch"] == resumed["best_epoch"] == val_top1.index(max(val_top1))  # first of any ties
    checkpoint = torch.load(straight_dir / "best.pt", weights_only=False)
    assert checkpoint["config"] == TINY.model_dump() and checkpoint["class_names"][6] == "neutral"
    assert len(checkpoint["data_card_sha256"]) == 64


def test_ten_crop_scores_do_not_see_a_mirror(ingested):
    """The ten crops are the corners and centre with their mirrors, so their mean cannot tell an image from its
    mirror image; one centre crop of an asymmetric model (a random linear map of the crop's pixels) can."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(TINY.crop**2, 7))
    images = torch.as_tensor(load_dataset(ingested)["test"].images[:64])
    mirrored = images.flip(-1)
    ten = TINY.model_copy(update={"ten_crop": True})
    torch.testing.assert_close(logits_of(model, images, ten), logits_of(model, mirrored, ten), atol=1e-4, rtol=1e-4)
    centre = (logits_of(model, images, TINY) - logits_of(model, mirrored, TINY)).abs().max()
    assert centre > 0.1


def test_the_ten_crop_recipe_trains(learnable, tmp_path):
    config = TINY.model_copy(update={"epochs": 1, "ten_crop": True, "channels_last": True})
    metrics = fit(learnable, tmp_path / "m", config, seed=0, device_name="cpu")
    assert metrics["test"] == evaluate(tmp_path / "m" / "best.pt", learnable, "cpu")["test"]


def test_identity_warp_keeps_the_image_and_crops_are_ten():
    images = torch.randint(0, 256, (4, 48, 48), dtype=torch.uint8)
    still = AugmentConfig(scale=(1, 1), ratio=(1, 1), translate_p=0, hflip_p=0, rotate_p=0)
    warped = warp(images, still, torch.Generator().manual_seed(0))
    torch.testing.assert_close(warped[:, 0] * 255, images.float(), atol=1e-3, rtol=0)
    crops = ten_crop(warped, 40)
    assert crops.shape == (40, 1, 40, 40)
    torch.testing.assert_close(crops[5], crops[0].flip(-1))
    erased = erase(crops, AugmentConfig(erase_p=1.0), torch.Generator().manual_seed(0))
    assert ((erased == 0) & (crops != 0)).flatten(1).any(1).all()


def test_evaluate_rescores_the_training_runs_best_epoch(learnable, trained):
    out, metrics = trained
    evaluated = evaluate(out / "best.pt", learnable, "cpu")
    for split in ("val", "test"):
        assert evaluated[split]["loss"] == pytest.approx(metrics[split]["loss"], rel=1e-5)
        assert {**evaluated[split], "loss": 0} == {**metrics[split], "loss": 0}
    assert evaluate(out / "best.pt", learnable, "cpu", ten_crop=True)["ten_crop"] is True


def test_an_ensemble_scores_the_mean_of_its_members_probabilities(learnable, trained, tmp_path):
    fit(learnable, tmp_path / "b", TINY.model_copy(update={"epochs": 1}), seed=2, device_name="cpu")
    members = [trained[0] / "best.pt", tmp_path / "b" / "best.pt"]
    test = load_dataset(learnable)["test"]
    probabilities = []
    for path in members:
        model, config = load_checkpoint(path, torch.device("cpu"))
        probabilities.append(softmax(logits_of(model, torch.as_tensor(test.images), config).numpy()))
    mean = (probabilities[0] + probabilities[1]) / 2
    pair = ensemble(members, learnable, "cpu")
    assert pair["test"]["top1"] == pytest.approx((mean.argmax(1) == test.labels).mean())
    assert pair["test"]["loss"] == pytest.approx(-np.log(mean[np.arange(len(test)), test.labels]).mean(), rel=1e-5)
    twice = ensemble([members[0], members[0]], learnable, "cpu")
    assert {**twice["test"], "loss": 0} == {**trained[1]["test"], "loss": 0}  # a model with itself: itself


def test_foreign_checkpoints_are_refused(ingested, checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=False)
    torch.save(state | {"class_names": ["a", "b"]}, tmp_path / "classes.pt")
    with pytest.raises(FerdataError, match=r"a model for 2 classes \(a, b\); ferdata needs FER2013's 7"):
        evaluate(tmp_path / "classes.pt", ingested, "cpu")
    torch.save(state | {"config": TINY.model_copy(update={"width": 0.25}).model_dump()}, tmp_path / "width.pt")
    with pytest.raises(FerdataError, match="weights do not fit a vggnet"):
        evaluate(tmp_path / "width.pt", ingested, "cpu")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(FerdataError, match="not a ferdata checkpoint"):
        ensemble([tmp_path / "junk.pt"], ingested, "cpu")


def test_two_process_ddp_run_keeps_the_single_process_contract(learnable, tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
        "-m", "trainer.fit", "--data", str(learnable), "--out", str(tmp_path / "ddp"),
        "--profile", "cpu-smoke", "--epochs", "1", "--device", "cpu",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test top-1") == 1  # rank 0 reports
    # Rank 0 wrote the metrics of the checkpoint it saved, scored on the whole test split by both ranks' model.
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert ddp["test"] == evaluate(tmp_path / "ddp" / "best.pt", learnable, "cpu")["test"]
    assert ddp["train_rows"] == len(load_dataset(learnable)["train"]) and ddp["epochs_run"] == 1
    assert not (tmp_path / "ddp" / ".ferdata-work").exists()


def test_params_yaml_overrides_the_profile():
    params = TrainingParams(profile="cpu-smoke", train={"recipe": {"optimizer": "adam", "early_stopping": 3}})
    assert params.recipe().optimizer == "adam" and params.recipe().width == 0.125
    assert params.train.seeds == [0]
    with pytest.raises(ValueError, match=r"train\.recipe\.optimiser: unknown key"):
        TrainingParams(profile="paper", train={"recipe": {"optimiser": "adam"}})
    with pytest.raises(ValueError, match=r"seeds \[1, 1\] repeat a seed"):
        TrainingParams(train={"seeds": [1, 1]})
    with pytest.raises(ValueError, match="'papers' is not a profile"):
        TrainingParams(profile="papers")


def test_bad_requests_fail_clearly(learnable, tmp_path):
    with pytest.raises(FerdataError, match="no checkpoint to resume from"):
        fit(learnable, tmp_path / "none", TINY, seed=0, device_name="cpu", resume=True)
    with pytest.raises(FerdataError, match="not a directory"):
        fit(tmp_path / "missing", tmp_path / "m", TINY, seed=0, device_name="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(FerdataError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(FerdataError, match="no class_weights"):
        fit(learnable, tmp_path / "m", TINY.model_copy(update={"class_weights": True}), seed=0, device_name="cpu")


def test_the_moving_average_warms_up_and_is_what_a_run_validates_scores_and_resumes(learnable, tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    average = _moving_average(model, decay=0.9)
    first = [p.detach().clone() for p in model.parameters()]
    average.update_parameters(model)  # the first update copies
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    average.update_parameters(model)  # the second keeps min(0.9, (1 + 1) / (10 + 1)) of the average
    kept = 2 / 11
    for averaged, before, now in zip(average.module.parameters(), first, model.parameters(), strict=True):
        torch.testing.assert_close(averaged, kept * before + (1 - kept) * now)

    recipe = TINY.model_copy(update={"ema_decay": 0.99, "epochs": 2})
    straight = fit(learnable, tmp_path / "straight", recipe, seed=0, device_name="cpu")
    state = torch.load(tmp_path / "straight" / "best.pt", weights_only=False)
    assert any(not torch.equal(state["model"][k], state["trained_model"][k]) for k in state["model"])
    assert straight["test"] == evaluate(tmp_path / "straight" / "best.pt", learnable, "cpu")["test"]
    fit(learnable, tmp_path / "resumed", recipe.model_copy(update={"epochs": 1}), seed=0, device_name="cpu")
    with pytest.raises(FerdataError, match="another config"):  # the average's decay is part of the recipe
        fit(
            learnable,
            tmp_path / "resumed",
            TINY.model_copy(update={"epochs": 2}),
            seed=0,
            device_name="cpu",
            resume=True,
        )
    resumed = fit(learnable, tmp_path / "resumed", recipe, seed=0, device_name="cpu", resume=True)
    assert resumed["test"] == straight["test"]
    history = [json.loads((tmp_path / d / "history.json").read_text()) for d in ("straight", "resumed")]
    assert history[0] == history[1]


def test_training_runs_without_dvclive(learnable, tmp_path, monkeypatch):
    """DVCLive comes with the `pipeline` extra: without it a run writes everything but its DVCLive log."""
    monkeypatch.setitem(sys.modules, "dvclive", None)  # `import dvclive` now raises ImportError
    metrics = fit(learnable, tmp_path / "run", TINY.model_copy(update={"epochs": 1}), seed=0, device_name="cpu")
    assert metrics["epochs_run"] == 1
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"best.pt", "metrics.json", "history.json"}
    assert not (tmp_path / "run" / "dvclive").exists()
