"""GET /metrics: Prometheus' text format (`api/metrics_export.py`); on with
BLASTDECK_METRICS=on, for admins when auth is on."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from blastdeck.api.deps import AdminDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.metrics_export import CONTENT_TYPE, render
from blastdeck.domain.errors import BlastDeckError, ErrorCode

router = APIRouter(tags=["service"], responses=ERROR_RESPONSES)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
def prometheus_metrics(request: Request, _admin: AdminDep) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        raise BlastDeckError(
            ErrorCode.NOT_FOUND,
            "Metrics are off: the operator turns them on with BLASTDECK_METRICS=on.",
        )
    return Response(render(registry), media_type=CONTENT_TYPE)
