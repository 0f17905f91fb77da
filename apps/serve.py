"""A local web page for trying a model: upload a photo or use the webcam, see faces, labels and probabilities.

FastAPI serves one static page (apps/web/index.html, no outside scripts) and one endpoint,
`POST /api/predict`, whose body is the image itself. The body is read into memory up to the size cap and
never written anywhere: nothing is stored. Photos are decoded off the event loop, reduced where the format
allows and capped in pixels, a bounded number at a time (see the constants below). The server binds to
127.0.0.1 unless told otherwise.
"""

import asyncio
import html
import io
from importlib.resources import files
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.requests import ClientDisconnect

from apps.inference import FacePredictor
from ferdata.sources.images import NotAnImage, Unreadable, read_rgb

MAX_UPLOAD_MB = 10.0
IMAGE_KINDS = "JPEG, PNG, BMP, WebP or TIFF"
# A photo is scored with its longer side at most DECODE_SIDE (a JPEG is reduced while it is decoded, in the
# DCT) and refused when it would be decoded at more than UPLOAD_MAX_PIXELS.
DECODE_SIDE = 1600
UPLOAD_MAX_PIXELS = 4096 * 4096
# Decoding and scoring run in worker threads, at most this many photos at once; further uploads wait for a free
# slot, so N large uploads cannot exhaust memory, and the event loop stays free for other requests.
CONCURRENT_DECODES = 2


def create_app(predictor: FacePredictor, max_upload_mb: float = MAX_UPLOAD_MB) -> FastAPI:
    cap = int(max_upload_mb * 2**20)
    app = FastAPI(title="ferdata", docs_url=None, redoc_url=None, openapi_url=None)
    page = files("apps").joinpath("web/index.html").read_text(encoding="utf-8")
    page = page.replace("{{MODEL}}", html.escape(str(predictor.checkpoint))).replace("{{MAX_MB}}", f"{max_upload_mb:g}")

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    decodes = asyncio.Semaphore(CONCURRENT_DECODES)

    @app.post("/api/predict")
    async def predict(request: Request, detect: bool = True) -> Response:
        name = unquote(request.headers.get("x-filename") or "") or "the upload"
        too_large = JSONResponse({"error": f"{name} is over the {max_upload_mb:g} MB upload limit"}, 413)
        length = request.headers.get("content-length") or "0"
        if not length.isascii() or not length.isdigit():
            return JSONResponse({"error": f"{name}: bad Content-Length {length!r}"}, 400)
        if int(length) > cap:
            return too_large
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > cap:
                    return too_large
        except ClientDisconnect:
            return Response(status_code=400)  # the client left mid-upload: nobody reads this
        if not body:
            return JSONResponse({"error": f"{name} is empty: choose a photo ({IMAGE_KINDS})"}, 400)
        async with decodes:
            try:
                rgb = await run_in_threadpool(read_rgb, io.BytesIO(body), DECODE_SIDE, UPLOAD_MAX_PIXELS)
            except NotAnImage:
                return JSONResponse({"error": f"{name}: not an image ({IMAGE_KINDS} expected)"}, 415)
            except Unreadable as exc:
                return JSONResponse({"error": f"{name}: {exc}"}, 415)
            del body
            faces = (await run_in_threadpool(predictor.predict, [rgb], detect))[0]
        return JSONResponse({"width": rgb.shape[1], "height": rgb.shape[0], "faces": [f.as_json() for f in faces]})

    return app


def serve(predictor: FacePredictor, host: str, port: int, max_upload_mb: float = MAX_UPLOAD_MB) -> None:
    import uvicorn

    uvicorn.run(create_app(predictor, max_upload_mb), host=host, port=port, log_level="warning")
