"""The HTTP API and web page. `create_app(settings)` builds an app; `stance serve` runs it with uvicorn."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from model import StanceClassifier
from model.modeling import scores_to_dicts
from model.segment import segment

from .batcher import MicroBatcher, QueueFull
from .limits import BodyLimitMiddleware
from .metrics import Metrics
from .schemas import (
    ClassifyRequest,
    ClassifyResponse,
    DocumentRequest,
    DocumentResponse,
    ModelInfo,
    ModelResponse,
    Prediction,
    StatementResult,
)
from .settings import Settings

STATIC = Path(__file__).parent / "static"


def get_batcher(request: Request) -> MicroBatcher:
    batcher: MicroBatcher = request.app.state.batcher
    if batcher.error is not None:
        raise HTTPException(503, f"model failed to load: {batcher.error}")
    if not batcher.ready.is_set():
        raise HTTPException(503, "model is still loading", headers={"Retry-After": "2"})
    return batcher


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def _classify(batcher: MicroBatcher, texts: list[str], settings: Settings):
    try:
        return await batcher.submit(texts)
    except QueueFull:
        raise HTTPException(
            429, f"the model queue is full ({settings.queue_size} texts waiting); retry later",
            headers={"Retry-After": str(settings.retry_after_s)},
        ) from None


def _check_texts(texts: list[str], settings: Settings, allow_long: bool, field: str = "texts"):
    if len(texts) > settings.max_texts:
        raise HTTPException(413, f"{len(texts)} texts in one request; the limit is {settings.max_texts} "
                                 "(STANCE_MAX_TEXTS): split the request")
    for i, t in enumerate(texts):
        if not t.strip():
            raise HTTPException(422, f"{field}[{i}] is empty or only white space")
        if len(t) > settings.max_chars and not allow_long:
            raise HTTPException(413, f"{field}[{i}] has {len(t)} characters; the limit is {settings.max_chars} "
                                     "(STANCE_MAX_CHARS), or send \"allow_long\": true to score it by windows")


def create_app(settings: Settings | None = None, loader=None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    load = loader or (lambda: StanceClassifier.from_pretrained(settings.model, threads=settings.threads))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.batcher.start()
        if settings.jobs_token:
            from .jobs import JobRunner

            app.state.jobs = JobRunner(settings, app.state.batcher)
            app.state.jobs.start()
        yield
        if getattr(app.state, "jobs", None):
            app.state.jobs.stop()
        app.state.batcher.stop()

    app = FastAPI(title="Stance classifier", version="1.0", lifespan=lifespan,
                  description="Classifies press statements as conciliatory, defensive, accusatory or neutral.")
    app.state.settings, app.state.metrics = settings, metrics
    app.state.batcher = MicroBatcher(load, settings, metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, metrics=metrics,
                       streamed={"/v1/jobs/upload": settings.max_upload_bytes})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", []) if p != "body") or "body"
            problems.append(f"{where}: {e.get('msg')}")
        return JSONResponse({"error": "invalid request", "detail": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # never a bare 500 page
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    def model_info(b: MicroBatcher) -> ModelInfo:
        return ModelInfo(name=b.clf.name, version=b.clf.version)

    @app.post("/v1/classify", response_model=ClassifyResponse, response_model_exclude_none=True)
    async def classify(req: ClassifyRequest, batcher: MicroBatcher = Depends(get_batcher),
                       s: Settings = Depends(get_settings)):
        """Label and calibrated scores for each text; `explain` adds the words that drove each label."""
        _check_texts(req.texts, s, req.allow_long)
        probs = await _classify(batcher, req.texts, s)
        results = [Prediction(**d) for d in scores_to_dicts(probs, batcher.clf.labels)]
        if req.explain:
            explanations = await asyncio.gather(*(batcher.submit([t], kind="explain") for t in req.texts))
            for r, e in zip(results, explanations):
                r.explanation = e["words"]
        return ClassifyResponse(model=model_info(batcher), results=results)

    @app.post("/v1/documents", response_model=DocumentResponse)
    async def documents(req: DocumentRequest, batcher: MicroBatcher = Depends(get_batcher),
                        s: Settings = Depends(get_settings)):
        """Split an article into statements, attribute speakers, and classify each statement."""
        if not req.text.strip():
            raise HTTPException(422, "text is empty or only white space")
        if len(req.text) > s.max_chars * 10:
            raise HTTPException(413, f"the article has {len(req.text)} characters; the limit is {s.max_chars * 10}")
        segs = segment(req.text)
        stmts = [x for x in segs if x.is_statement]
        labelled = {}
        if stmts:
            probs = await _classify(batcher, [x.text for x in stmts], s)
            labelled = {x.index: d for x, d in zip(stmts, scores_to_dicts(probs, batcher.clf.labels))}
        explained = {}
        if req.explain and stmts:
            ex = await asyncio.gather(*(batcher.submit([x.text], kind="explain") for x in stmts))
            explained = {x.index: e["words"] for x, e in zip(stmts, ex)}
        out = []
        for x in segs:
            if not x.is_statement and req.skip_non_statements:
                continue
            d = labelled.get(x.index, {})
            out.append(StatementResult(**x.to_dict(), label=d.get("label"), scores=d.get("scores"),
                                       explanation=explained.get(x.index)))
        return DocumentResponse(id=req.id, model=model_info(batcher), statements=out)

    @app.get("/v1/model", response_model=ModelResponse)
    async def model_route(batcher: MicroBatcher = Depends(get_batcher)):
        m = batcher.clf.manifest
        return ModelResponse(name=batcher.clf.name, version=batcher.clf.version, labels=batcher.clf.labels,
                             backbone=m.get("backbone"), temperature=batcher.clf.temperature,
                             metrics=m.get("metrics"), created=m.get("created"))

    @app.get("/healthz")
    async def healthz():
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz(request: Request):
        b: MicroBatcher = request.app.state.batcher
        if b.ready.is_set():
            return {"status": "ready", "model": b.clf.name, "version": b.clf.version}
        detail = f"model failed to load: {b.error}" if b.error else "loading"
        return JSONResponse({"status": "not ready", "detail": detail}, status_code=503)

    @app.get("/metrics")
    async def metrics_route():
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    @app.middleware("http")
    async def observe(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        metrics.observe(getattr(route, "path", "unmatched"), request.method, response.status_code,
                        time.perf_counter() - t0)
        return response

    if settings.jobs_token:
        from .jobs import router as jobs_router

        app.include_router(jobs_router)

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
