"""Expressions of the faces in photos and video frames, from a ferdata checkpoint.

Faces are found (ferdata.faces) frame by frame, then the faces of a whole batch of frames are classified in
one pass through the network, on the GPU when there is one.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from apps.faces import MARGIN, FaceDetector, crop_faces, to_gray, whole_image_box
from ferdata.device import pick_device
from ferdata.labels import CLASS_NAMES
from trainer.checkpoint import load_checkpoint
from trainer.forward import logits_of


@dataclass(frozen=True)
class FacePrediction:
    box: tuple[int, int, int, int]  # x, y, width, height in the photo's pixels
    probabilities: np.ndarray  # (7,) in CLASS_NAMES order

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(CLASS_NAMES[i], float(self.probabilities[i])) for i in order]

    def as_json(self) -> dict:
        x, y, width, height = self.box
        return {
            "box": {"x": x, "y": y, "width": width, "height": height},
            "top3": [{"label": label, "probability": round(p, 4)} for label, p in self.top(3)],
            "probabilities": {
                name: round(float(p), 4) for name, p in zip(CLASS_NAMES, self.probabilities, strict=True)
            },
        }


class FacePredictor:
    """A checkpoint ready to predict, with the face detector it uses by default (None: each photo is one face,
    as with `--no-detect`)."""

    def __init__(
        self,
        checkpoint: Path,
        detector: FaceDetector | None = None,
        device_name: str = "auto",
        ten_crop: bool | None = None,
    ):
        self.checkpoint = checkpoint
        self.device = pick_device(device_name)
        self.model, config = load_checkpoint(checkpoint, self.device)
        self.config = config if ten_crop is None else config.model_copy(update={"ten_crop": ten_crop})
        self.detector = detector
        self._lock = threading.Lock()  # OpenCV's cascade and the model are used by one thread at a time

    def probabilities(self, faces: np.ndarray) -> np.ndarray:
        """(K, 48, 48) uint8 faces -> (K, 7) class probabilities."""
        logits = logits_of(self.model, torch.as_tensor(faces, device=self.device), self.config)
        return torch.softmax(logits, dim=1).cpu().numpy()

    def predict(self, frames: Sequence[np.ndarray], detect: bool = True) -> list[list[FacePrediction]]:
        """Per RGB frame (H, W, 3) uint8, its faces in reading order (`detect=False`: the whole frame)."""
        with self._lock:
            return self._predict(frames, self.detector if detect else None)

    def _predict(self, frames: Sequence[np.ndarray], detector: FaceDetector | None) -> list[list[FacePrediction]]:
        grays = [to_gray(frame) for frame in frames]
        if detector is None:  # the photo is the face crop: no margin to add
            boxes, margin = [whole_image_box(gray) for gray in grays], 0.0
        else:
            boxes, margin = [detector.detect(gray) for gray in grays], MARGIN
        crops = [crop_faces(gray, box, margin) for gray, box in zip(grays, boxes, strict=True)]
        probabilities = self.probabilities(np.concatenate(crops)) if crops else np.zeros((0, len(CLASS_NAMES)))
        ends = np.cumsum([len(b) for b in boxes])
        return [
            [FacePrediction(tuple(map(int, box)), p) for box, p in zip(frame_boxes, frame_probs, strict=True)]
            for frame_boxes, frame_probs in zip(boxes, np.split(probabilities, ends[:-1]), strict=True)
        ]
