"""The web page (the built single-page app in blastdeck/static) and the API docs page.

Both are plain files so the Content-Security-Policy can forbid inline scripts and styles. The
page's own routes are listed here so a reload of any deep link (e.g. /jobs/<id>?tab=hits)
gets the app, while unknown paths keep answering the API's JSON 404.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
DOCS_DIR = Path(__file__).resolve().parent / "docs"
SPA_ROUTES = (
    "/",
    "/search",
    "/jobs",
    "/jobs/{job_id}",
    "/databases",
    "/clusters",
    "/admin",
    "/usage",
    # A share link's page (the app says whether the link opens anything), and anything under
    # it, which the app answers as an invalid link.
    "/shared/{token}",
    "/shared/{token}/{rest:path}",
)


def install_docs(app: FastAPI) -> None:
    """Swagger UI from the packaged assets (no CDN), started by a script file, not inline."""
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.mount("/docs-init", StaticFiles(directory=DOCS_DIR), name="docs-init")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(DOCS_DIR / "index.html", media_type="text/html")


def install_web_app(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    index = static_dir / "index.html"
    if not index.is_file():  # not built (e.g. an API-only install): the docs are the page

        @app.get("/", include_in_schema=False)
        def no_web_app() -> RedirectResponse:
            return RedirectResponse("/docs")

        return

    app.mount("/assets", StaticFiles(directory=static_dir / "assets"), name="assets")

    def page() -> Response:
        # The HTML names hashed asset files, so it must never be cached past a new build.
        return FileResponse(index, media_type="text/html", headers={"cache-control": "no-cache"})

    for route in SPA_ROUTES:
        app.add_api_route(route, page, methods=["GET"], include_in_schema=False)
    for extra in static_dir.iterdir():  # favicon and other top-level files of the build
        if extra.is_file() and extra.name != "index.html":
            app.add_api_route(
                f"/{extra.name}",
                _file_route(extra),
                methods=["GET"],
                include_in_schema=False,
            )


def _file_route(path: Path) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(path)

    return serve
