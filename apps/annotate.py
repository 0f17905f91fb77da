"""Draw each face's box and its most likely expression onto a copy of the photo or frame."""

from collections.abc import Sequence

import cv2
import numpy as np

from apps.inference import FacePrediction
from ferdata.labels import CLASS_NAMES

# One colour per class (RGB), the same on the web page.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = dict(
    zip(
        CLASS_NAMES,
        [(220, 50, 47), (93, 160, 40), (130, 70, 200), (240, 170, 0), (38, 110, 210), (0, 170, 170), (140, 140, 140)],
        strict=True,
    )
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(rgb: np.ndarray, faces: Sequence[FacePrediction]) -> np.ndarray:
    """A copy of `rgb` (H, W, 3) with every face's box and "label 87%" above it, in the label's colour."""
    image = np.ascontiguousarray(rgb).copy()
    side = min(image.shape[:2])
    thickness = max(1, side // 240)
    scale = max(0.35, side / 1200)
    for face in faces:
        x, y, width, height = face.box
        label, probability = face.top(1)[0]
        colour = CLASS_COLOURS[label]
        cv2.rectangle(image, (x, y), (x + width, y + height), colour, thickness)
        text = f"{label} {probability:.0%}"
        (text_w, text_h), base = cv2.getTextSize(text, _FONT, scale, thickness)
        top = y - text_h - base - 2 if y - text_h - base - 2 >= 0 else y + height  # below the box at the top edge
        cv2.rectangle(image, (x, top), (x + text_w + 4, top + text_h + base + 2), colour, cv2.FILLED)
        cv2.putText(image, text, (x + 2, top + text_h + 1), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image
