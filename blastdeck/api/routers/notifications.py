"""Notifications: a job's deliveries (GET /api/jobs/{id}/notifications) and the signed-in
user's default targets (GET/PUT /api/me/notify)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from blastdeck.api.deps import RuntimeDep, ViewerDep
from blastdeck.api.errors import ERROR_RESPONSES
from blastdeck.api.params import JobId
from blastdeck.api.schemas.notifications import (
    NotificationDelivery,
    NotificationDeliveryList,
    NotificationTarget,
    NotifyDefaults,
    NotifyDefaultsUpdate,
)
from blastdeck.notifications import public_target
from blastdeck.store.notifications import PENDING, Delivery

router = APIRouter(tags=["notifications"], responses=ERROR_RESPONSES)


def _target(target: dict[str, Any]) -> NotificationTarget:
    return NotificationTarget.model_validate(public_target(target))


def delivery_model(d: Delivery) -> NotificationDelivery:
    return NotificationDelivery(
        id=d.id,
        event=d.event,  # type: ignore[arg-type]
        target=_target(d.target),
        status=d.status,  # type: ignore[arg-type]
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at.isoformat() if d.status == PENDING else None,
        last_error=d.last_error,
        created_at=d.created_at.isoformat(),
        delivered_at=d.delivered_at.isoformat() if d.delivered_at else None,
    )


@router.get("/api/jobs/{job_id}/notifications")
def job_notifications(
    runtime: RuntimeDep, viewer: ViewerDep, job_id: JobId
) -> NotificationDeliveryList:
    """The job's notifications (one per target and end event) and how each went."""
    job = runtime.service.get(job_id, viewer)
    return NotificationDeliveryList(
        items=[delivery_model(d) for d in runtime.notifications.of_job(job.id)]
    )


@router.get("/api/me/notify")
def my_notify_defaults(runtime: RuntimeDep, viewer: ViewerDep) -> NotifyDefaults:
    """The targets every job of the signed-in user (of everyone, with auth off) is notified
    to when it is submitted without `notify` of its own."""
    return NotifyDefaults(targets=[_target(t) for t in runtime.notifications.defaults(viewer)])


@router.put("/api/me/notify")
async def set_my_notify_defaults(
    body: NotifyDefaultsUpdate, runtime: RuntimeDep, viewer: ViewerDep
) -> NotifyDefaults:
    """Replace the signed-in user's default targets (a webhook's secret must be sent again)."""
    targets = await run_in_threadpool(runtime.notifications.set_defaults, viewer, body.targets)
    return NotifyDefaults(targets=[_target(t) for t in targets])
