"""Notifications of a job's end: the targets (as shown: never a webhook's secret), a job's
deliveries and a user's defaults."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A target as a client sends it: an object (checked by the server, domain/notifications.py).
TARGET_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
NOTIFY_DESCRIPTION = (
    "Where to tell of the job's end: a list of targets, each "
    '{"type": "webhook", "url": "https://...", "secret": "...", "format": "json"|"slack"} or '
    '{"type": "email", "to": "name@example.org"}, with an optional "on": a list of '
    "completed, failed, cancelled (default: all three). Omitted: the user's defaults "
    "(GET /api/me/notify); [] none."
)


class NotificationTarget(BaseModel):
    type: Literal["webhook", "email"]
    on: list[Literal["completed", "failed", "cancelled"]]
    url: str | None = Field(default=None, description="webhook")
    format: Literal["json", "slack"] | None = Field(default=None, description="webhook")
    secret_set: bool | None = Field(default=None, description="webhook: signed with a secret")
    to: str | None = Field(default=None, description="e-mail address")


class NotificationDelivery(BaseModel):
    id: str = Field(description="the X-BlastDeck-Delivery header: the same on every retry")
    event: Literal["completed", "failed", "cancelled"]
    target: NotificationTarget
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None = Field(description="when it is tried next (pending only)")
    last_error: str | None
    created_at: str
    delivered_at: str | None


class NotificationDeliveryList(BaseModel):
    items: list[NotificationDelivery]


class NotifyDefaults(BaseModel):
    targets: list[NotificationTarget]


class NotifyDefaultsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: Any = Field(
        description=NOTIFY_DESCRIPTION,
        json_schema_extra={"type": "array", "items": TARGET_OBJECT},
    )
