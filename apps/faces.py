"""Find faces in photos and video frames and cut them out the way the training faces are framed.

Detection is OpenCV's Haar cascade for frontal faces (`haarcascade_frontalface_default.xml`, shipped with
opencv-python-headless 4.x). A Haar box covers about the middle 83% of a FER2013-style 48x48 face, so each
box is grown by `MARGIN` of its side on every side before cropping; where the grown box leaves the photo,
the crop is padded by repeating the edge. Crops become gray by ITU-R 601-2 luma and are LANCZOS-resized to
48x48, exactly as ingestion does.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ferdata.errors import FerdataError
from ferdata.sources.images import gray48

MARGIN = 0.1
CASCADE = "haarcascade_frontalface_default.xml"


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 -> (H, W) gray uint8 (ITU-R 601-2 luma, as Pillow's convert("L"))."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


@dataclass
class FaceDetector:
    """OpenCV's frontal-face Haar cascade with its usual settings; `min_side` is the smallest face in pixels.
    `max_side`: frames whose longer side is larger are shrunk to it for detection (boxes are scaled back),
    which is several times faster on video but misses faces under `min_side` in the shrunk frame."""

    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_side: int = 24
    max_side: int | None = None
    _cascade: cv2.CascadeClassifier = field(init=False, repr=False)

    def __post_init__(self) -> None:
        path = f"{cv2.data.haarcascades}{CASCADE}"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise FerdataError(f"{path}: OpenCV's Haar cascade is missing (install opencv-python-headless<5)")

    def detect(self, gray: np.ndarray) -> np.ndarray:
        """Face boxes (K, 4) int as x, y, width, height, in reading order (top to bottom, left to right)."""
        scale = min(1.0, self.max_side / max(gray.shape)) if self.max_side else 1.0
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = self._cascade.detectMultiScale(
            cv2.equalizeHist(gray),
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_side, self.min_side),
        )
        boxes = np.rint(np.asarray(found, dtype=np.float64).reshape(-1, 4) / scale).astype(np.int64)
        line = max(int(np.median(boxes[:, 3])), 1) if len(boxes) else 1  # faces on one line: left to right
        rows = (boxes[:, 1] + boxes[:, 3] // 2) // line
        return boxes[np.lexsort((boxes[:, 0], rows))]


def whole_image_box(gray: np.ndarray) -> np.ndarray:
    """The whole image as one face box, for photos that are already face crops (`--no-detect`)."""
    return np.array([[0, 0, gray.shape[1], gray.shape[0]]], dtype=np.int64)


def crop_faces(gray: np.ndarray, boxes: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """The faces in `boxes` (x, y, w, h), each grown by `margin` of its side, as (K, 48, 48) uint8."""
    crops = np.zeros((len(boxes), 48, 48), np.uint8)
    height, width = gray.shape
    for i, (x, y, w, h) in enumerate(boxes):
        dx, dy = round(w * margin), round(h * margin)
        left, top, right, bottom = x - dx, y - dy, x + w + dx, y + h + dy
        pad = ((max(0, -top), max(0, bottom - height)), (max(0, -left), max(0, right - width)))
        crop = gray[max(top, 0) : min(bottom, height), max(left, 0) : min(right, width)]
        crops[i] = gray48(Image.fromarray(np.pad(crop, pad, mode="edge")))
    return crops
