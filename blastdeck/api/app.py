"""The FastAPI application: one thin router per resource over the runtime's services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from blastdeck import __version__
from blastdeck.api.body_size import BodySizeLimit
from blastdeck.api.errors import install_error_handlers
from blastdeck.api.metrics_export import HttpMetrics, JobsCollector, make_registry
from blastdeck.api.openapi_doc import install_openapi
from blastdeck.api.routers import (
    audit,
    clusters,
    databases,
    ebi,
    health,
    job_import,
    job_taxonomy,
    jobs,
    limits,
    metrics,
    ncbi,
    notifications,
    programs,
    results,
    session,
    shared,
    shares,
    taxonomy,
    tokens,
    usage,
    users,
)
from blastdeck.api.security import SecurityHeaders
from blastdeck.api.stream import render_job
from blastdeck.api.web import install_docs, install_web_app
from blastdeck.config import Settings
from blastdeck.job_watch import JobWatcher
from blastdeck.runtime import Runtime
from blastdeck.store.job_stats import JobStats

ROUTERS = (
    job_import,
    jobs,
    results,
    job_taxonomy,
    shares,
    notifications,
    shared,
    databases,
    clusters,
    programs,
    limits,
    health,
    session,
    ncbi,
    ebi,
    taxonomy,
    metrics,
    users,
    tokens,
    audit,
    usage,
)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime(settings)
    # One watcher for all of this process's job streams; on PostgreSQL it also LISTENs for
    # the changes other processes (workers, a CLI) make.
    engine = runtime.db_engine
    job_watcher = JobWatcher(
        runtime.jobs, render_job, engine if engine.dialect.name == "postgresql" else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        job_watcher.start()
        try:
            yield
        finally:
            job_watcher.stop()
            runtime.stop()

    app = FastAPI(
        docs_url=None,  # served below from packaged assets: no CDN, works offline
        redoc_url=None,
        title="BlastDeck",
        version=__version__,
        description="Submit BLAST+ searches, watch every step, browse and download results.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.job_watcher = job_watcher
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.metrics:
        collector = JobsCollector(
            JobStats(runtime.sessions).by_phase,
            runtime.jobs.cluster_load,
            runtime.metrics.observations,
        )
        app.state.metrics_registry, http_histogram = make_registry(collector)
        app.add_middleware(HttpMetrics, histogram=http_histogram)  # outermost: times it all
    for module in ROUTERS:
        app.include_router(module.router)
    install_openapi(app)
    install_docs(app)
    install_web_app(app)
    return app
