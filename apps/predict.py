"""Predict the expressions of the faces in photos, videos or a folder of both.

For every input, OUT gets an annotated copy (`NAME.annotated.png` for a photo, `NAME.annotated.mp4` for a
video; a folder's layout is mirrored) and OUT/predictions.json lists, per photo or video frame, each face's
box and top-3 expressions with their probabilities. Video frames are read, classified and written in batches,
so the network sees the faces of many frames at once. OUT is written whole under a temporary name and then
takes the place of an earlier OUT of predictions: a failure leaves OUT as it was.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from apps.annotate import annotate
from apps.inference import FacePredictor
from ferdata.card import write_json
from ferdata.errors import FerdataError
from ferdata.outputs import atomic_dir, claim
from ferdata.sources.images import Unreadable, read_rgb

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
_SUFFIXES = IMAGE_SUFFIXES + VIDEO_SUFFIXES
FRAME_BATCH = 32  # video frames classified in one pass
KIND = "predictions"


def inputs_of(target: Path) -> list[Path]:
    """The photos and videos to predict: `target` itself, or every one under the folder `target`."""
    if target.is_dir():
        found = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        if not found:
            raise FerdataError(f"{target}: no photos or videos ({', '.join(_SUFFIXES)})")
        return found
    if not target.exists():
        raise FerdataError(f"{target}: no such file or folder")
    if target.suffix.lower() not in _SUFFIXES:
        raise FerdataError(f"{target}: not a photo or video by its name (known: {', '.join(_SUFFIXES)})")
    return [target]


def predict_files(
    predictor: FacePredictor,
    target: Path,
    out: Path,
    on_done: Callable[[dict, float], None] | None = None,
    force: bool = False,
) -> list[dict]:
    """Predict every input of `target` into `out`; returns predictions.json's entries. `on_done(entry,
    seconds)` is called after each input (progress for the command line)."""
    inputs = inputs_of(target)
    claim(out, KIND, [target, predictor.checkpoint], force)
    root = target if target.is_dir() else target.parent
    entries = []
    with atomic_dir(out, KIND) as staging:
        for path in inputs:
            name = path.relative_to(root).with_suffix("").as_posix()
            start = time.perf_counter()
            if path.suffix.lower() in VIDEO_SUFFIXES:
                entry = predict_video(predictor, path, staging, name)
            else:
                entry = predict_image(predictor, path, staging, name)
            entries.append(entry)
            if on_done:
                on_done(entry, time.perf_counter() - start)
        write_json(staging / "predictions.json", {"model": str(predictor.checkpoint), "inputs": entries})
    return entries


def predict_image(predictor: FacePredictor, path: Path, staging: Path, name: str) -> dict:
    try:
        rgb = read_rgb(path)
    except Unreadable as exc:
        raise FerdataError(f"{path}: {exc}") from None
    faces = predictor.predict([rgb])[0]
    annotated = f"{name}.annotated.png"
    (staging / annotated).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(annotate(rgb, faces)).save(staging / annotated)
    return {
        "file": str(path),
        "kind": "image",
        "width": rgb.shape[1],
        "height": rgb.shape[0],
        "annotated": annotated,
        "faces": [face.as_json() for face in faces],
    }


def predict_video(predictor: FacePredictor, path: Path, staging: Path, name: str) -> dict:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise FerdataError(f"{path}: not a readable video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    annotated = f"{name}.annotated.mp4"
    (staging / annotated).parent.mkdir(parents=True, exist_ok=True)
    writer, frames = None, []
    try:
        for batch in _frame_batches(capture):
            if writer is None:
                height, width = batch[0].shape[:2]
                writer = cv2.VideoWriter(
                    str(staging / annotated), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height)
                )
                if not writer.isOpened():
                    raise FerdataError(f"{path}: OpenCV cannot write an MP4 video of {width}x{height} at {fps:g} fps")
            for frame, faces in zip(batch, predictor.predict(batch), strict=True):
                writer.write(cv2.cvtColor(annotate(frame, faces), cv2.COLOR_RGB2BGR))
                index = len(frames)
                frames.append({"frame": index, "time": round(index / fps, 3), "faces": [f.as_json() for f in faces]})
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if not frames:
        raise FerdataError(f"{path}: a video with no readable frames")
    return {
        "file": str(path),
        "kind": "video",
        "width": width,
        "height": height,
        "fps": round(fps, 3),
        "annotated": annotated,
        "frames": frames,
    }


def _frame_batches(capture: cv2.VideoCapture) -> Iterator[list[np.ndarray]]:
    """The video's frames as RGB arrays, FRAME_BATCH at a time."""
    batch: list[np.ndarray] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        batch.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        if len(batch) == FRAME_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
