"""`ferdata serve` under 8 concurrent worst-case uploads: 7000x7000 JPEGs of about 750 KB each.

Reports the server's peak resident memory (the kernel's high-water mark, VmHWM) above what it held before the
uploads, the time to answer all 8, and the slowest answer to GET / sent while they were being decoded (the
event loop must stay free). Baseline, in the same run: one full-resolution decode of the same JPEG, as the
server did before it reduced JPEGs in the DCT and bounded concurrent decodes (8 of those at once need 8x).

    python benchmarks/serve_memory.py
"""

import http.client
import io
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine, measure
from ferdata.labels import CLASS_NAMES
from ferdata.recipe import PROFILES
from ferdata.sources.images import read_rgb
from trainer.models import build_model

UPLOADS = 8
SIDE = 7000


def worst_case_jpeg() -> bytes:
    """A 7000x7000 photo-like JPEG (smooth shading with grain) of roughly 750 KB."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) / SIDE
    base = (127 + 90 * np.sin(6 * x) * np.cos(4 * y)).astype(np.float32)
    pixels = np.clip(base[..., None] + rng.normal(0, 2, (SIDE, SIDE, 1)).astype(np.float32), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(pixels, 3, axis=2)).save(buffer, "JPEG", quality=35)
    return buffer.getvalue()


def checkpoint(path: Path) -> None:
    """An untrained cpu-smoke network in ferdata's checkpoint format (memory, not accuracy, is measured)."""
    config = PROFILES["cpu-smoke"]
    model = build_model(config.model, config.width, config.dropout, config.crop)
    torch.save({"model": model.state_dict(), "config": config.model_dump(), "class_names": list(CLASS_NAMES)}, path)


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise KeyError(field)


def post(port: int, body: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", "/api/predict", body, {"Content-Type": "image/jpeg"})
    status = connection.getresponse().status
    connection.close()
    return status, time.perf_counter() - start


def page_latency(port: int) -> float:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("GET", "/")
    connection.getresponse().read()
    connection.close()
    return time.perf_counter() - start


def main() -> None:
    print(machine())
    body = worst_case_jpeg()
    print(f"upload: {SIDE}x{SIDE} JPEG, {len(body) / 1024:.0f} KiB, {UPLOADS} at once")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "photo.jpg").write_bytes(body)
        full_seconds, full_mib, _ = measure(read_rgb, Path(tmp) / "photo.jpg")
        checkpoint(Path(tmp) / "model.pt")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [sys.executable, "-m", "ferdata", "serve", "--model", f"{tmp}/model.pt", "--port", str(port)]
        server = subprocess.Popen([*command, "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    page_latency(port)
                    break
                except OSError:
                    time.sleep(0.2)
            before = memory_kib(server.pid, "VmRSS")
            start = time.perf_counter()
            with ThreadPoolExecutor(UPLOADS + 1) as pool:
                uploads = [pool.submit(post, port, body) for _ in range(UPLOADS)]
                latencies = []
                while not all(u.done() for u in uploads):
                    latencies.append(page_latency(port))
                    time.sleep(0.05)
                answers = [u.result() for u in uploads]
            seconds = time.perf_counter() - start
            peak = memory_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert all(status == 200 for status, _ in answers), answers
    print(
        f"baseline, one full-resolution decode: {full_seconds:.2f} s, peak +{full_mib:.0f} MiB "
        f"(8 at once: ~{8 * full_mib:.0f} MiB)"
    )
    print(
        f"server, {UPLOADS} concurrent uploads: all answered in {seconds:.2f} s, "
        f"peak +{(peak - before) / 1024:.0f} MiB over {before / 1024:.0f} MiB "
        f"({8 * full_mib / max((peak - before) / 1024, 1):.1f}x less than 8 full decodes)"
    )
    print(f"GET / while decoding: {len(latencies)} requests, slowest {max(latencies) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
