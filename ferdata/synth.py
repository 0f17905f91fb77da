"""The embedded default dataset: procedurally drawn 48x48 faces in FER2013's exact CSV format.

Each face is drawn in a canonical face frame (u right, v down, face radius ~0.7) and then placed with a
random pose, size, lighting and noise. The class shows in the mouth (curve, width, opening, asymmetry), the
brows (height, inner-end tilt), the eyes (opening) and, for disgust, a wrinkled nose. Class parameters
overlap and a share of labels is flipped, as in FER2013, so the task is learnable but not trivial. Every
face is rendered at once with numpy broadcasting: no loop over images.
"""

import cv2
import numpy as np

from ferdata.labels import NUM_CLASSES
from ferdata.sources.fer2013_csv import USAGES
from ferdata.store import IMAGE_SIDE

# FER2013's class shares over all 35,887 rows (Disgust is rare) and usage shares.
CLASS_SHARES = np.array([4953, 547, 5121, 8989, 6077, 4002, 6198]) / 35887
USAGE_SHARES = np.array([28709, 3589, 3589]) / 35887
MIN_TRAINING_ROWS = 8 * NUM_CLASSES
LABEL_NOISE = 0.08  # share of rows whose label is redrawn at random (FER2013 labels are noisy too)
_BLOCK = 512  # faces rendered per batch, bounding memory

# Per class: mouth curve (+ smiles), mouth half-width, mouth opening, mouth asymmetry,
# brow raise, brow inner-end drop (+ frowns), eye opening, nose wrinkle.
_CLASS_PARAMS = np.array(
    [
        # curve width  open  asym  raise  tilt  eyes  wrinkle
        [-0.03, 0.20, 0.00, 0.00, -0.02, 0.45, 0.85, 0.0],  # angry
        [-0.06, 0.20, 0.02, 0.10, -0.03, 0.25, 0.60, 1.0],  # disgust
        [-0.02, 0.25, 0.06, 0.00, 0.06, -0.35, 1.45, 0.0],  # fear
        [0.13, 0.24, 0.04, 0.00, 0.01, 0.00, 0.65, 0.0],  # happy
        [-0.11, 0.19, 0.00, 0.00, 0.03, -0.40, 0.80, 0.0],  # sad
        [0.00, 0.12, 0.15, 0.00, 0.10, 0.00, 1.60, 0.0],  # surprise
        [0.00, 0.20, 0.00, 0.00, 0.00, 0.00, 1.00, 0.0],  # neutral
    ],
    dtype=np.float32,
)
_PARAM_NOISE = np.array([0.04, 0.025, 0.025, 0.04, 0.03, 0.18, 0.25, 0.3], dtype=np.float32)


def synthesize(n_rows: int, seed: int, test_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`n_rows` faces as (images uint8 (N,48,48), labels int8 (N,), usage str (N,)), FER2013 row order.
    PublicTest and PrivateTest get `test_rows` rows each, or FER2013's usage shares when None."""
    usage_counts = usage_sizes(n_rows, test_rows)
    rng = np.random.default_rng(seed)
    labels, usage = _labels_and_usage(usage_counts, rng)
    drawn = labels.copy()
    noisy = rng.random(n_rows) < LABEL_NOISE
    labels[noisy] = rng.integers(0, NUM_CLASSES, noisy.sum())
    images = np.concatenate([_render(drawn[i : i + _BLOCK], rng) for i in range(0, n_rows, _BLOCK)])
    return images, labels.astype(np.int8), usage


def usage_sizes(n_rows: int, test_rows: int | None) -> np.ndarray:
    """Rows of Training, PublicTest and PrivateTest: FER2013's shares, or `test_rows` for each held-out usage."""
    if test_rows is None:
        sizes = _largest_remainder(n_rows, USAGE_SHARES)
    else:
        sizes = np.array([n_rows - 2 * test_rows, test_rows, test_rows])
    if n_rows < 10 * NUM_CLASSES or sizes[0] < MIN_TRAINING_ROWS or sizes.min() < 0:
        raise ValueError(
            f"synth needs at least {10 * NUM_CLASSES} rows, {MIN_TRAINING_ROWS} of them for training; "
            f"{n_rows} rows with test_rows {test_rows} leave {sizes[0]} for training"
        )
    return sizes


def _labels_and_usage(usage_counts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class counts in FER2013's shares, spread over the usages in proportion to their sizes (each count
    rounded so that both every class's and every usage's total come out exact)."""
    per_class = _largest_remainder(int(usage_counts.sum()), CLASS_SHARES)
    table = _rounded_table(np.outer(per_class, usage_counts) / usage_counts.sum(), per_class, usage_counts)
    labels_all = np.repeat(np.tile(np.arange(NUM_CLASSES), len(USAGES)), table.T.ravel())
    usage_all = np.repeat(np.arange(len(USAGES)), usage_counts)
    order = np.lexsort((rng.random(len(labels_all)), usage_all))  # by usage, shuffled within
    return labels_all[order], np.array(USAGES)[usage_all[order]]


def _rounded_table(exact: np.ndarray, row_sums: np.ndarray, column_sums: np.ndarray) -> np.ndarray:
    """`exact` rounded to integers with the given row and column sums: floors, then +1 where a row and a column
    both still need one, largest remainders first (a second pass where one pass left both short)."""
    table = np.floor(exact).astype(np.int64)
    cells = [np.unravel_index(cell, table.shape) for cell in np.argsort(table - exact, axis=None, kind="stable")]
    while (table.sum(axis=1) < row_sums).any():  # the two deficits sum to the same, so both reach zero
        for row, column in cells:
            if table[row].sum() < row_sums[row] and table[:, column].sum() < column_sums[column]:
                table[row, column] += 1
    return table


def _largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    exact = total * shares
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact)[: total - counts.sum()]] += 1
    return counts


def _render(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(labels)
    col = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731 - per-face scalar to (n,1,1)
    params = _CLASS_PARAMS[labels] + _PARAM_NOISE * rng.standard_normal((n, 8)).astype(np.float32)
    curve, width, opening, asym, raise_, tilt, eyes, wrinkle = (col(params[:, i]) for i in range(8))
    width, opening, eyes = np.maximum(width, 0.08), np.maximum(opening, 0.0), np.maximum(eyes, 0.3)

    # Pose: the pixel grid mapped into each face's canonical frame.
    axis = np.linspace(-1, 1, IMAGE_SIDE, dtype=np.float32)
    y, x = axis[None, :, None], axis[None, None, :]
    cx, cy = col(rng.normal(0, 0.05, n)), col(rng.normal(0.02, 0.05, n))
    scale = col(rng.uniform(0.9, 1.1, n))
    angle = col(np.deg2rad(rng.normal(0, 6, n)))
    cos, sin = np.cos(angle), np.sin(angle)
    u = (cos * (x - cx) + sin * (y - cy)) / scale
    v = (-sin * (x - cx) + cos * (y - cy)) / scale
    au = np.abs(u)

    skin = col(rng.uniform(120, 215, n))
    background = col(rng.uniform(15, 235, n))
    ink = skin - col(rng.uniform(70, 110, n))
    face = _soft(1 - (u / 0.66) ** 2 - (v / 0.84) ** 2, 0.08)
    image = background + (skin - background) * face

    eye_mask = _soft(1 - ((au - 0.26) / 0.1) ** 2 - ((v + 0.14) / (0.045 * eyes)) ** 2, 0.25)
    brow_v = -0.32 - raise_ + tilt * (0.26 - au) * 0.5
    brow_mask = _soft(0.028 - np.abs(v - brow_v), 0.012) * _soft(0.14 - np.abs(au - 0.26), 0.02)
    nose_mask = 0.5 * _soft(0.018 - np.abs(u), 0.01) * _soft(0.1 - np.abs(v - 0.08), 0.02)
    wrinkle_mask = wrinkle * 0.7 * _soft(0.015 - np.abs(v - 0.0), 0.01) * _soft(0.05 - np.abs(au - 0.08), 0.02)
    mouth_v = 0.42 - curve * (u / width) ** 2 + curve * 0.5 + asym * u
    inside = _soft(1 - (au / width) ** 2, 0.1)
    lips = _soft(0.03 - np.abs(v - mouth_v) + opening * 0.5, 0.012) * inside
    features = np.clip(eye_mask + brow_mask + nose_mask + wrinkle_mask + lips, 0, 1) * face
    image = image + (ink - skin) * features

    # Lighting: a linear gradient in a random direction, global contrast, sensor noise.
    light = col(rng.normal(0, 25, n)) * x + col(rng.normal(0, 25, n)) * y
    image = (image + light - 128) * col(rng.uniform(0.7, 1.2, n)) + 128
    image = _blur3(image) + col(rng.uniform(3, 12, n)) * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _soft(signed: np.ndarray, edge: float) -> np.ndarray:
    """A smooth 0..1 mask from a signed distance-like value (positive inside)."""
    return np.clip(signed / edge + 0.5, 0.0, 1.0)


def _blur3(image: np.ndarray) -> np.ndarray:
    """A 3x3 box blur with edge replication, as a camera's soft focus."""
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)), mode="edge")
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    return (rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]) / 9


def synthesize_scene(labels: list[int], seed: int, side: int = 128, gap: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A photo of one synthetic face per label, in a row on a plain wall, for trying face detection and
    `ferdata predict`: RGB (H, W, 3) uint8 and each face's true box (K, 4) as x, y, width, height."""
    rng = np.random.default_rng(seed)
    faces = _render(np.asarray(labels), rng)
    # Each face exposed for the camera (contrast stretched), then enlarged smoothly.
    tiles = [cv2.resize(cv2.normalize(face, None, 0, 255, cv2.NORM_MINMAX), (side, side)) for face in faces]
    height, width = side + 2 * gap, len(labels) * (side + gap) + gap
    wall = np.full((height, width), rng.uniform(90, 170), np.float32)
    boxes = np.array([[gap + i * (side + gap), gap, side, side] for i in range(len(labels))], dtype=np.int64)
    for (x, y, _, _), tile in zip(boxes, tiles, strict=True):
        wall[y : y + side, x : x + side] = tile
    tint = rng.uniform(0.85, 1.15, 3).astype(np.float32)  # a warm or cool cast, so the photo is in colour
    return np.clip(wall[:, :, None] * tint, 0, 255).astype(np.uint8), boxes
