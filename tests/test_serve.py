"""`ferdata serve`: the API's answers and errors, and the page driven end to end in headless Chromium."""

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from apps.faces import FaceDetector
from apps.inference import FacePredictor
from apps.serve import DECODE_SIDE, create_app
from conftest import run_cli
from ferdata.synth import synthesize_scene
from test_predict import SCENE_LABELS

CHROMIUM = Path("/usr/bin/chromium")
# CI installs Chromium and sets this, so the browser test fails there rather than skipping.
BROWSER_REQUIRED = os.environ.get("FERDATA_REQUIRE_BROWSER") == "1"


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(checkpoint):
    return TestClient(create_app(FacePredictor(checkpoint, FaceDetector(), "cpu"), max_upload_mb=0.5))


def test_the_api_finds_and_scores_faces(client):
    rgb, _ = synthesize_scene(SCENE_LABELS, seed=0)
    reply = client.post("/api/predict", content=png_bytes(rgb), headers={"X-Filename": "group%20photo.png"})
    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["width"], answer["height"]) == (rgb.shape[1], rgb.shape[0]) and len(answer["faces"]) == 3
    assert all(len(face["top3"]) == 3 and len(face["probabilities"]) == 7 for face in answer["faces"])
    whole = client.post("/api/predict?detect=false", content=png_bytes(rgb)).json()
    assert [face["box"] for face in whole["faces"]] == [{"x": 0, "y": 0, "width": 576, "height": 224}]
    page = client.get("/").text
    assert "Facial expressions" in page and "up to 0.5 MB" in page and "best.pt" in page


def test_bad_uploads_get_a_clear_message(client):
    reply = client.post("/api/predict", content=b"just some text", headers={"X-Filename": "notes.txt"})
    assert reply.status_code == 415
    assert reply.json() == {"error": "notes.txt: not an image (JPEG, PNG, BMP, WebP or TIFF expected)"}
    huge = np.random.default_rng(0).integers(0, 256, (600, 600, 3), dtype=np.uint8)  # ~1 MB of PNG noise
    reply = client.post("/api/predict", content=png_bytes(huge), headers={"X-Filename": "big.png"})
    assert reply.status_code == 413 and reply.json()["error"] == "big.png is over the 0.5 MB upload limit"
    reply = client.post("/api/predict", content=b"")
    assert reply.status_code == 400 and "the upload is empty" in reply.json()["error"]
    truncated = png_bytes(synthesize_scene([3], seed=0)[0])[:2000]
    reply = client.post("/api/predict", content=truncated, headers={"X-Filename": "cut.png"})
    assert reply.status_code == 415 and reply.json()["error"].startswith("cut.png: corrupt or truncated image")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(checkpoint):
    port = free_port()
    command = [sys.executable, "-m", "ferdata", "serve", "--model", str(checkpoint), "--port", str(port)]
    process = subprocess.Popen([*command, "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, process.stdout.read().decode()
            time.sleep(0.2)
    yield url
    process.terminate()
    output = process.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output and "Exception" not in output, output  # nothing went wrong on the way


@pytest.mark.skipif(not CHROMIUM.exists() and not BROWSER_REQUIRED, reason="Debian's chromium is not installed")
def test_the_page_in_headless_chromium(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    rgb, _ = synthesize_scene(SCENE_LABELS, seed=0)
    Image.fromarray(rgb).save(tmp_path / "group.png")
    (tmp_path / "notes.txt").write_text("not a photo")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]  # a test pattern, no face
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=flags + camera)
        page = browser.new_page()
        page.goto(server)
        expect(page.locator("h1")).to_have_text("Facial expressions")

        page.set_input_files("#photo", tmp_path / "group.png")
        expect(page.locator("#status")).to_have_text("group.png: 3 faces.", timeout=30_000)
        faces = page.locator("#faces .face")
        expect(faces).to_have_count(3)
        expect(faces.nth(0).locator(".row")).to_have_count(7)
        widths = faces.nth(0).locator(".bar").evaluate_all("bars => bars.map(b => parseFloat(b.style.width))")
        assert sum(widths) == pytest.approx(100, abs=0.5)
        labels = faces.nth(0).locator(".row").evaluate_all("rows => rows.map(r => r.dataset.label)")
        assert labels[int(np.argmax(widths))] == faces.nth(0).get_attribute("data-label")  # the title's label
        canvas = page.locator("#view").evaluate("c => [c.width, c.height]")
        assert canvas == [rgb.shape[1], rgb.shape[0]]

        page.set_input_files("#photo", tmp_path / "notes.txt")
        expect(page.locator("#status.error")).to_have_text(
            "notes.txt: not an image (JPEG, PNG, BMP, WebP or TIFF expected)"
        )

        page.click("#camera-start")
        expect(page.locator("#status")).to_have_text(
            'Webcam: no face found. If the photo is a face already, untick "Find faces".', timeout=30_000
        )
        page.click("#camera-stop")
        expect(page.locator("#camera-start")).to_be_enabled()
        browser.close()


def test_serve_refuses_a_missing_model_before_listening(tmp_path):
    result = run_cli("serve", "--model", tmp_path / "nowhere.pt", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.strip() == f"ferdata: error: {tmp_path / 'nowhere.pt'}: no such checkpoint"


def test_huge_photos_are_reduced_or_refused_before_decoding(client):
    flat = Image.new("RGB", (5000, 5000), (90, 120, 150))  # 25 MP of one colour: a tiny PNG, a huge bitmap
    buffer = io.BytesIO()
    flat.save(buffer, "PNG")
    reply = client.post("/api/predict", content=buffer.getvalue(), headers={"X-Filename": "wall.png"})
    assert reply.status_code == 415
    assert reply.json()["error"] == "wall.png: 5000x5000 pixels, over the 16,777,216-pixel limit for photos"
    buffer = io.BytesIO()
    flat.save(buffer, "JPEG", quality=30)  # a JPEG is reduced while it is decoded, then scored
    reply = client.post("/api/predict", content=buffer.getvalue())
    assert reply.status_code == 200 and (reply.json()["width"], reply.json()["height"]) == (DECODE_SIDE, DECODE_SIDE)


def test_a_client_leaving_mid_upload_is_not_an_error(server):
    port = int(server.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"\xff" * 1000)
    time.sleep(0.5)
    with socket.create_connection(("127.0.0.1", port)) as sock:  # the server still answers
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
