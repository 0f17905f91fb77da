import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from ferdata.errors import FerdataError
from trainer.augment import AugmentConfig, erase, ten_crop, warp
from trainer.config import PROFILES, TrainConfig
from trainer.ensemble import ensemble
from trainer.evaluate import evaluate
from trainer.fit import fit, pick_device, recipe
from trainer.metrics import scores
from trainer.models import VGG16Transfer, VGGNet, build_model

TINY = TrainConfig(width=0.125, epochs=2, batch_size=64, lr=0.02, ten_crop=False, channels_last=False)


def test_class_weights_come_from_a_class_weight_variant(ingested, tmp_path):
    from ferdata.build import build_variant
    from ferdata.params import BuildParams
    from trainer.fit import _loss_weights

    card, _ = build_variant("class_weight", ingested, tmp_path / "cw", BuildParams(), seed=0)
    weights = _loss_weights(tmp_path / "cw" / "card.json", torch.device("cpu"), required=False)
    assert weights.tolist() == pytest.approx(card["class_weights"])
    assert _loss_weights(ingested / "card.json", torch.device("cpu"), required=False) is None


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


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = VGGNet(width=0.125)
    x, y = torch.rand(32, 1, 40, 40), torch.randint(0, 7, (32,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    losses = []
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


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


def test_resume_continues_exactly(ingested, tmp_path):
    straight = fit(ingested, tmp_path / "straight", TINY, seed=3, device_name="cpu")
    fit(ingested, tmp_path / "resumed", TINY.model_copy(update={"epochs": 1}), seed=3, device_name="cpu")
    with pytest.raises(FerdataError, match="another config"):
        fit(ingested, tmp_path / "resumed", TINY.model_copy(update={"lr": 0.1}), seed=3, device_name="cpu", resume=True)
    resumed = fit(ingested, tmp_path / "resumed", TINY, seed=3, device_name="cpu", resume=True)
    assert resumed == json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    history = [json.loads((tmp_path / d / "history.json").read_text()) for d in ("straight", "resumed")]
    assert history[0] == history[1]
    assert straight["test"] == resumed["test"]
    val_top1 = [epoch["val_top1"] for epoch in history[0]["epochs"]]
    assert straight["best_epoch"] == resumed["best_epoch"] == val_top1.index(max(val_top1))  # first of any ties
    checkpoint = torch.load(tmp_path / "straight" / "best.pt", weights_only=False)
    assert checkpoint["config"] == TINY.model_dump() and checkpoint["class_names"][6] == "neutral"
    assert len(checkpoint["data_card_sha256"]) == 64


def test_ten_crop_recipe_trains_and_scores(ingested, tmp_path):
    config = TINY.model_copy(update={"epochs": 1, "ten_crop": True, "channels_last": True})
    metrics = fit(ingested, tmp_path / "m", config, seed=0, device_name="cpu")
    assert set(metrics["test"]) >= {"top1", "top2", "top3", "macro_f1", "weighted_f1", "loss", "per_class"}
    assert 0 <= metrics["test"]["top1"] <= metrics["test"]["top2"] <= metrics["test"]["top3"] <= 1


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


def test_evaluate_and_ensemble_score_checkpoints(ingested, tmp_path):
    first = fit(ingested, tmp_path / "a", TINY, seed=1, device_name="cpu")
    fit(ingested, tmp_path / "b", TINY, seed=2, device_name="cpu")
    evaluated = evaluate(tmp_path / "a" / "best.pt", ingested, "cpu")
    for split in ("val", "test"):
        assert evaluated[split]["loss"] == pytest.approx(first[split]["loss"], rel=1e-5)
        assert {**evaluated[split], "loss": 0} == {**first[split], "loss": 0}
    assert evaluate(tmp_path / "a" / "best.pt", ingested, "cpu", ten_crop=True)["ten_crop"] is True
    alone = ensemble([tmp_path / "a" / "best.pt"], ingested, "cpu")
    assert alone["test"]["top1"] == first["test"]["top1"]  # one member: its own ranking
    pair = ensemble([tmp_path / "a" / "best.pt", tmp_path / "b" / "best.pt"], ingested, "cpu")
    assert set(pair["test"]) == set(first["test"]) and 0 <= pair["test"]["top1"] <= 1


def test_foreign_checkpoints_are_refused(ingested, tmp_path):
    fit(ingested, tmp_path / "a", TINY, seed=1, device_name="cpu")
    state = torch.load(tmp_path / "a" / "best.pt", weights_only=False)
    torch.save(state | {"class_names": ["a", "b"]}, tmp_path / "classes.pt")
    with pytest.raises(FerdataError, match=r"a model for 2 classes \(a, b\); ferdata needs FER2013's 7"):
        evaluate(tmp_path / "classes.pt", ingested, "cpu")
    torch.save(state | {"config": TINY.model_copy(update={"width": 0.25}).model_dump()}, tmp_path / "width.pt")
    with pytest.raises(FerdataError, match="weights do not fit a vggnet"):
        evaluate(tmp_path / "width.pt", ingested, "cpu")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(FerdataError, match="not a ferdata checkpoint"):
        ensemble([tmp_path / "junk.pt"], ingested, "cpu")


def test_two_process_ddp_run_keeps_the_single_process_contract(ingested, tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
        "-m", "trainer.fit", "--data", str(ingested), "--out", str(tmp_path / "ddp"),
        "--profile", "cpu-smoke", "--epochs", "1", "--device", "cpu",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test top-1") == 1  # rank 0 reports
    single = fit(ingested, tmp_path / "single", PROFILES["cpu-smoke"].model_copy(update={"epochs": 1}), 0, "cpu")
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert set(ddp) == set(single) and set(ddp["test"]) == set(single["test"])
    files = [sorted(p.name for p in (tmp_path / run).iterdir()) for run in ("ddp", "single")]
    assert files[0] == files[1] and "best.pt" in files[0]


def test_params_yaml_overrides_the_profile():
    assert recipe("cpu-smoke", {"optimizer": "adam", "early_stopping": 3}).optimizer == "adam"
    with pytest.raises(FerdataError, match=r"params\.yaml: train\.optimiser: unknown key"):
        recipe("paper", {"optimiser": "adam"})


def test_bad_requests_fail_clearly(ingested, tmp_path):
    with pytest.raises(FerdataError, match="no checkpoint to resume from"):
        fit(ingested, tmp_path / "none", TINY, seed=0, device_name="cpu", resume=True)
    with pytest.raises(FerdataError, match="not a directory"):
        fit(tmp_path / "missing", tmp_path / "m", TINY, seed=0, device_name="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(FerdataError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(FerdataError, match="no class_weights"):
        fit(ingested, tmp_path / "m", TINY.model_copy(update={"class_weights": True}), seed=0, device_name="cpu")
