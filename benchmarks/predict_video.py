"""Benchmark: `ferdata predict`'s video path (decode, detect, classify, annotate, encode) with frames
classified in batches, against the obvious loop that classifies each frame's faces as it comes, in one run.

Usage: python benchmarks/predict_video.py CHECKPOINT [FRAMES]   (default: 240 frames of 640x480, 3 faces each)
Goal: many frames/s on a CPU; the batched path at least as fast as the per-frame loop. Also shown: detection
on frames shrunk to 320 pixels (`--detect-size 320`), since the Haar cascade, not the network, dominates.
"""

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from _measure import machine, measure
from apps import predict as video
from apps.faces import FaceDetector
from apps.inference import FacePredictor
from ferdata.synth import synthesize_scene


def write_clip(path: Path, frames: int) -> None:
    scene, _ = synthesize_scene([3, 5, 0], seed=0, side=150, gap=40)
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[100 : 100 + scene.shape[0], : scene.shape[1]] = scene[:, :640]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (640, 480))
    for i in range(frames):
        writer.write(cv2.cvtColor(np.roll(canvas, i % 40, axis=1), cv2.COLOR_RGB2BGR))
    writer.release()


def run(checkpoint: Path, clip: Path, batch: int, detect_size: int | None) -> int:
    video.FRAME_BATCH = batch
    predictor = FacePredictor(checkpoint, FaceDetector(max_side=detect_size), "cpu")
    with tempfile.TemporaryDirectory() as out:
        entry = video.predict_video(predictor, clip, Path(out), "clip")
    return sum(len(frame["faces"]) for frame in entry["frames"])


def main() -> None:
    print(machine())
    checkpoint = Path(sys.argv[1])
    frames = int(sys.argv[2]) if len(sys.argv) > 2 else 240
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mp4"
        write_clip(clip, frames)
        print(f"{frames} frames of 640x480, {checkpoint}")
        print("| method | frames/s | faces found | peak MiB | vs per-frame |")
        print("| --- | --- | --- | --- | --- |")
        baseline = None
        methods = [
            ("per-frame loop", 1, None),
            (f"batches of {video.FRAME_BATCH}", video.FRAME_BATCH, None),
            (f"batches of {video.FRAME_BATCH}, --detect-size 320", video.FRAME_BATCH, 320),
        ]
        for name, batch, detect_size in methods:
            seconds, peak, faces = measure(run, checkpoint, clip, batch, detect_size)
            rate = frames / seconds
            baseline = baseline or rate
            print(f"| {name} | {rate:.1f} | {faces} | {peak:.0f} | {rate / baseline:.2f}x |")


if __name__ == "__main__":
    main()
