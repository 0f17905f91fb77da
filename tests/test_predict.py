"""Using a trained model: face detection, `ferdata predict` on photos, folders and videos, and its errors."""

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from apps.annotate import CLASS_COLOURS
from apps.faces import FaceDetector, crop_faces, to_gray
from apps.inference import FacePredictor
from conftest import run_cli, run_in_process
from ferdata.errors import FerdataError
from ferdata.labels import CLASS_NAMES
from ferdata.store import load_dataset
from ferdata.synth import synthesize_scene
from trainer.forward import logits_of
from trainer.metrics import softmax

SCENE_LABELS = [3, 5, 0]  # happy, surprise, angry; seed 0 draws three faces the cascade finds


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def write_video(path, frames, fps=10):
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_the_cascade_finds_the_drawn_faces_in_reading_order():
    rgb, truth = synthesize_scene(SCENE_LABELS, seed=0)
    found = FaceDetector().detect(to_gray(rgb))
    assert len(found) == len(truth)
    for box, true_box in zip(found, truth, strict=True):
        assert iou(box, true_box) > 0.5
    assert FaceDetector().detect(np.full((200, 300), 128, np.uint8)).shape == (0, 4)
    shrunk = FaceDetector(max_side=320).detect(to_gray(rgb))  # found at 56% size, boxes in the photo's pixels
    assert [iou(box, true_box) > 0.5 for box, true_box in zip(shrunk, truth, strict=True)] == [True] * 3


def test_crops_are_grown_and_padded_by_the_edge_and_48x48_faces_kept_as_they_are(faces):
    image = faces[0][0]
    whole = crop_faces(image, np.array([[0, 0, 48, 48]]), margin=0.0)
    np.testing.assert_array_equal(whole[0], image)  # a FER2013 face predicts from the very pixels it trained on
    corner = crop_faces(image, np.array([[0, 0, 24, 24]]), margin=0.5)[0]  # grows to -12..36: a third is padding
    np.testing.assert_array_equal(corner[:8, :8], np.full((8, 8), image[0, 0]))
    assert crop_faces(image, np.zeros((0, 4), np.int64)).shape == (0, 48, 48)


def test_no_detect_scores_a_face_photo_exactly_as_evaluation_does(ingested, checkpoint):
    test = load_dataset(ingested)["test"]
    predictor = FacePredictor(checkpoint, None, "cpu")
    expected = softmax(logits_of(predictor.model, torch.as_tensor(test.images[:20]), predictor.config).numpy())
    got = predictor.predict([np.repeat(image[:, :, None], 3, axis=2) for image in test.images[:20]])
    assert [len(faces) for faces in got] == [1] * 20
    assert [faces[0].box for faces in got] == [(0, 0, 48, 48)] * 20
    np.testing.assert_allclose(np.stack([faces[0].probabilities for faces in got]), expected, rtol=1e-5, atol=1e-6)
    ten = FacePredictor(checkpoint, None, "cpu", ten_crop=True)
    averaged = softmax(logits_of(ten.model, torch.as_tensor(test.images[:20]), ten.config).numpy())
    got = ten.predict([np.repeat(image[:, :, None], 3, axis=2) for image in test.images[:20]])
    np.testing.assert_allclose(np.stack([faces[0].probabilities for faces in got]), averaged, rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged, expected)  # ten crops are not the centre crop


def test_predict_a_folder_of_photos_and_a_video(checkpoint, tmp_path):
    rgb, truth = synthesize_scene(SCENE_LABELS, seed=0)
    inputs = tmp_path / "in"
    (inputs / "more").mkdir(parents=True)
    Image.fromarray(rgb).save(inputs / "group.jpg", quality=95)
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(inputs / "more" / "wall.png")  # no face
    (inputs / "notes.txt").write_text("not a photo, and not listed: only photo and video names are read")
    write_video(inputs / "clip.mp4", [np.roll(rgb, 3 * i, axis=1) for i in range(12)])

    result = run_cli("predict", inputs, "--model", checkpoint, "--out", tmp_path / "out", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "no face found" in result.stdout and "36 in 12 frames" in result.stdout
    report = json.loads((tmp_path / "out" / "predictions.json").read_text())
    entries = {entry["file"].removeprefix(f"{inputs}/"): entry for entry in report["inputs"]}
    assert sorted(entries) == ["clip.mp4", "group.jpg", "more/wall.png"]

    group = entries["group.jpg"]
    assert [iou(tuple(f["box"].values()), t) > 0.5 for f, t in zip(group["faces"], truth, strict=True)] == [True] * 3
    for face in group["faces"]:
        probabilities = [t["probability"] for t in face["top3"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(face["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        assert face["top3"][0]["label"] == max(face["probabilities"], key=face["probabilities"].get)
    annotated = np.asarray(Image.open(tmp_path / "out" / group["annotated"]))
    box = group["faces"][0]["box"]
    colour = CLASS_COLOURS[group["faces"][0]["top3"][0]["label"]]
    assert tuple(annotated[box["y"] + box["height"] // 2, box["x"]]) == colour  # the box's left edge
    assert entries["more/wall.png"]["faces"] == []
    assert (tmp_path / "out" / "more" / "wall.annotated.png").is_file()

    clip = entries["clip.mp4"]
    assert [frame["frame"] for frame in clip["frames"]] == list(range(12)) and clip["fps"] == 10
    assert [len(frame["faces"]) for frame in clip["frames"]] == [3] * 12
    assert clip["frames"][11]["faces"][0]["box"]["x"] - clip["frames"][0]["faces"][0]["box"]["x"] in range(28, 39)
    video = cv2.VideoCapture(str(tmp_path / "out" / clip["annotated"]))
    frames = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = video.read()
    assert ok and frames == 12 and first.shape == rgb.shape
    assert not list(tmp_path.glob(".*"))


def test_predict_errors_name_the_file_and_write_nothing(checkpoint, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((60, 60, 3), np.uint8)).save(photos / "a.png")
    (photos / "b.png").write_bytes(b"this is text, not a PNG")
    out = tmp_path / "out"
    status, stderr = run_in_process(
        ["predict", photos, "--model", checkpoint, "--out", out, "--device", "cpu"], tmp_path
    )
    assert status == 1
    assert f"{photos / 'b.png'}: not a readable image" in stderr and len(stderr.splitlines()) == 1
    assert not out.exists()  # a.png was scored, but nothing is written unless every input is

    (tmp_path / "clip.mp4").write_bytes(b"\x00" * 100)
    status, stderr = run_in_process(["predict", tmp_path / "clip.mp4", "--model", checkpoint, "--out", out], tmp_path)
    assert status == 1 and "clip.mp4: not a readable video" in stderr

    status, stderr = run_in_process(["predict", photos / "a.png", "--model", tmp_path / "missing.pt"], tmp_path)
    assert status == 1 and "missing.pt: no such checkpoint" in stderr

    state = torch.load(checkpoint, weights_only=False)
    eight = [*CLASS_NAMES, "contempt"]
    torch.save(state | {"class_names": eight}, tmp_path / "eight.pt")
    with pytest.raises(FerdataError, match=r"eight.pt: a model for 8 classes \(angry, .*, contempt\); ferdata needs"):
        FacePredictor(tmp_path / "eight.pt", None, "cpu")
    status, stderr = run_in_process(["predict", tmp_path / "notes.doc", "--model", checkpoint], tmp_path)
    assert status == 1 and "notes.doc: no such file or folder" in stderr
