"""The JSON shapes of jobs, steps, events, hits, databases and clusters.

One serializer per resource, used by the REST API and by the CLI when it works on the local
data dir, so both always say the same thing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from blastdeck.database_files import missing_files_reason
from blastdeck.databases import scope_of
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import ErrorCode, category_of
from blastdeck.domain.pipeline_model import STEP_LABELS, Phase, Step, poll_after_ms, status_of
from blastdeck.store.models import BlastDatabase, Job, JobEvent


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_payload(job: Job) -> dict[str, Any]:
    phase = Phase(job.phase)
    code = ErrorCode(job.error_code) if job.error_code else None
    return {
        "id": job.id,
        "title": job.title,
        "program": job.program,
        "database": job.database,
        "cluster": job.cluster,
        "namespace": job.namespace,
        "options": job.options or {},
        "status": status_of(phase).value,
        "phase": phase.value,
        "error_code": code.value if code else None,
        "error_category": category_of(code).value if code else None,
        "error": job.error,
        "waiting_for": job.waiting_for,
        "steps": [
            {
                "key": row.key,
                "label": STEP_LABELS[Step(row.key)],
                "status": row.status,
                "started_at": _iso(row.started_at),
                "completed_at": _iso(row.completed_at),
                "duration_ms": row.duration_ms,
                "skip_reason": row.skip_reason,
                "error": row.error,
            }
            for row in job.steps
        ],
        "progress": {"batches_done": job.batches_done, "batches_total": job.batches_total},
        "query_count": job.query_count,
        "query_letters": job.query_letters,
        "hits_total": job.hits_total,
        "hsps_total": job.hsps_total,
        "poll_after_ms": poll_after_ms(phase),
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "finished_at": _iso(job.finished_at),
    }


def event_payload(event: JobEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _iso(event.at),
        "kind": event.kind,
        "phase": event.phase,
        "step": event.step,
        "error_code": event.error_code,
        "message": event.message,
    }


def database_payload(db: BlastDatabase) -> dict[str, Any]:
    # `name` is the qualified name (scoped: `nt`, `alice/x`, `@lab/x`); `available` is false,
    # with `unavailable_reason`, when its files are gone (jobs on it fail in Prepare).
    reason = missing_files_reason(Path(db.path))
    return {
        "name": db.name,
        "scope": scope_of(db),
        "available": reason is None,
        "unavailable_reason": reason,
        "title": db.title,
        "molecule": db.molecule,
        "sequences": db.sequences,
        "letters": db.letters,
        "path": db.path,
        "source": db.source,
        "owner_id": db.owner_id,
        "visibility": db.visibility,
        "group": db.share_group,
        "created_at": _iso(db.created_at),
    }


def cluster_payload(
    cluster: Cluster,
    slots: list[dict[str, Any]] | None = None,
    queue_depth: int | None = None,
) -> dict[str, Any]:
    return {
        "name": cluster.name,
        "engine": cluster.engine,
        "namespace": cluster.namespace,
        "namespaces": list(cluster.namespaces),
        "slots": cluster.slots,
        "settings": cluster.settings,
        "submit_slots": slots or [],
        "queue_depth": queue_depth or 0,
    }
