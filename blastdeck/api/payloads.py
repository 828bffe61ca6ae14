"""Store rows -> the API's answers (the models of `api/schemas`).

One builder per resource, used by the REST API and by the CLI when it works on the local data
dir, so both always say the same thing. The `*_payload` functions give the CLI plain JSON-ready
dicts of the same models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from blastdeck import submit_slots as slots_
from blastdeck.api.schemas.clusters import (
    Cluster,
    ClusterHealth,
    ClusterPause,
    EngineInfo,
    SubmitSlot,
)
from blastdeck.api.schemas.clusters import SlotJob as SlotJobModel
from blastdeck.api.schemas.databases import Database, DatabaseTaxonomy, Organism, StagedCopy
from blastdeck.api.schemas.jobs import Job, JobEvent, JobProgress, JobStep, JobTaxonFilter
from blastdeck.api.schemas.results import Alignment
from blastdeck.config import ClusterChanges, ClusterConfig
from blastdeck.database_files import database_files, missing_files_reason
from blastdeck.database_staging import ClusterCopy
from blastdeck.databases import scope_of
from blastdeck.domain import clusters
from blastdeck.domain.clusters import HIDDEN_SETTING, Pause
from blastdeck.domain.errors import ErrorCode, category_of
from blastdeck.domain.pipeline_model import (
    STEP_LABELS,
    JobSource,
    Phase,
    Step,
    poll_after_ms,
    status_of,
)
from blastdeck.engines.base import EngineHealth
from blastdeck.engines.registry import engine_kind, engine_names
from blastdeck.store import models
from blastdeck.store.cluster_jobs import SlotJob
from blastdeck.store.models import utcnow
from blastdeck.submit_slots import ClusterSlots


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_model(job: models.Job) -> Job:
    phase = Phase(job.phase)
    code = ErrorCode(job.error_code) if job.error_code else None
    return Job(
        id=job.id,
        title=job.title,
        program=job.program,
        database=job.database,
        databases=job.database_names,
        cluster=job.cluster,
        namespace=job.namespace,
        source=JobSource(job.source or JobSource.SEARCH),
        options=job.options or {},
        status=status_of(phase),
        phase=phase,
        error_code=code,
        error_category=category_of(code) if code else None,
        error=job.error,
        waiting_for=job.waiting_for,
        steps=[
            JobStep(
                key=row.key,
                label=STEP_LABELS[Step(row.key)],
                status=row.status,
                started_at=_iso(row.started_at),
                completed_at=_iso(row.completed_at),
                duration_ms=row.duration_ms,
                skip_reason=row.skip_reason,
                error=row.error,
            )
            for row in job.steps
        ],
        progress=JobProgress(batches_done=job.batches_done, batches_total=job.batches_total),
        owner=job.owner.name if job.owner_id and job.owner else None,
        query_count=job.query_count,
        query_letters=job.query_letters,
        hits_total=job.hits_total,
        hsps_total=job.hsps_total,
        poll_after_ms=poll_after_ms(phase),
        created_at=_iso(job.created_at),
        updated_at=_iso(job.updated_at),
        finished_at=_iso(job.finished_at),
        taxon_filter=JobTaxonFilter(**job.taxon_filter) if job.taxon_filter else None,
    )


def job_payload(job: models.Job) -> dict[str, Any]:
    return job_model(job).model_dump(mode="json")


def event_model(event: models.JobEvent) -> JobEvent:
    return JobEvent(
        id=event.id,
        at=_iso(event.at),
        kind=event.kind,
        phase=event.phase,
        step=event.step,
        error_code=event.error_code,
        message=event.message,
    )


def alignment_model(row: dict[str, Any]) -> Alignment:
    # Built from BLAST's JSON, whose keys depend on the program: absent keys stay absent
    # (the route dumps with exclude_unset).
    return Alignment.model_validate(row)


def database_model(db: models.BlastDatabase, staged: Sequence[ClusterCopy] = ()) -> Database:
    # `name` is the qualified name (scoped: `nt`, `alice/x`, `@lab/x`); `available` is false,
    # with `unavailable_reason`, when its files are gone (jobs on it fail in Prepare).
    reason = missing_files_reason(Path(db.path))
    return Database(
        name=db.name,
        scope=scope_of(db),
        available=reason is None,
        unavailable_reason=reason,
        title=db.title,
        molecule=db.molecule,
        sequences=db.sequences,
        letters=db.letters,
        path=db.path,
        source=db.source,
        owner_id=db.owner_id,
        visibility=db.visibility,
        group=db.share_group,
        created_at=_iso(db.created_at),
        taxonomy=_database_taxonomy(db),
        size_bytes=None if reason else _size_on_disk(Path(db.path)),
        staged=[StagedCopy(**asdict(copy)) for copy in staged],
    )


def _size_on_disk(prefix: Path) -> int | None:
    """The bytes of the database's files (every volume of an alias), None when unreadable."""
    try:
        return sum(path.stat().st_size for path in database_files(prefix))
    except OSError:
        return None


def _database_taxonomy(db: models.BlastDatabase) -> DatabaseTaxonomy | None:
    if db.taxid_sequences is None or db.distinct_taxids is None:
        return None
    return DatabaseTaxonomy(
        taxid_sequences=db.taxid_sequences,
        distinct_taxids=db.distinct_taxids,
        top_organisms=[Organism(**item) for item in db.top_organisms or []],
    )


def database_payload(db: models.BlastDatabase) -> dict[str, Any]:
    return database_model(db).model_dump(mode="json")


# A setting whose name says it is a secret (a plugin engine's API token, say) is never shown.
_SECRET_SETTING = re.compile(r"token|password|passwd|secret|credential|private_key", re.I)
HIDDEN = HIDDEN_SETTING


def shown_settings(settings: dict[str, str]) -> dict[str, str]:
    return {k: HIDDEN if _SECRET_SETTING.search(k) else v for k, v in settings.items()}


def changes_record(changes: ClusterChanges | ClusterConfig) -> dict[str, Any]:
    """A cluster added or edited as the audit log keeps it: the fields given but the name
    (the entry's target), secrets hidden."""
    record = changes.model_dump(exclude_unset=True, exclude={"name"})
    if record.get("settings"):
        record["settings"] = shown_settings(record["settings"])
    return record


def pause_model(pause: Pause | None) -> ClusterPause | None:
    if pause is None:
        return None
    return ClusterPause(
        namespace=pause.namespace,
        paused_by=pause.paused_by,
        paused_at=pause.paused_at,
        message=pause.message(),
    )


def _slot_job(job: SlotJob, now: datetime) -> SlotJobModel:
    waited = int((now - job.since).total_seconds() * 1000) if job.waiting else None
    return SlotJobModel(job_id=job.id, phase=job.phase.value, since=job.since, waited_ms=waited)


def _slot_model(slot: slots_.SubmitSlot, now: datetime) -> SubmitSlot:
    return SubmitSlot(
        namespace=slot.namespace,
        lock_key=slot.lock_key,
        holder_job_id=slot.holder_job_id,
        ttl_ms=slot.ttl_ms,
        queue_depth=slot.queue_depth,
        paused=pause_model(slot.paused),
        waiting_jobs=[_slot_job(j, now) for j in slot.waiting],
        running_jobs=[_slot_job(j, now) for j in slot.running],
    )


def cluster_model(
    cluster: clusters.Cluster,
    slots: ClusterSlots | None = None,
    health: EngineHealth | None = None,
) -> Cluster:
    now = utcnow()
    return Cluster(
        name=cluster.name,
        engine=cluster.engine,
        namespace=cluster.namespace,
        namespaces=list(cluster.namespaces),
        slots=cluster.slots,
        settings=shown_settings(cluster.settings),
        submit_slots=[_slot_model(slot, now) for slot in slots.slots] if slots else [],
        queue_depth=slots.queue_depth if slots else 0,
        health=ClusterHealth(ok=health.ok, detail=health.detail) if health else None,
        paused=pause_model(slots.paused) if slots else None,
    )


def engine_models() -> list[EngineInfo]:
    """The engine kinds a cluster can use, each with its settings and a line on each."""
    models_ = []
    for name in engine_names():
        kind = engine_kind(name)
        settings = sorted(kind.settings)
        help_lines = {key: kind.setting_help.get(key, "") for key in settings}
        models_.append(EngineInfo(name=name, settings=settings, setting_help=help_lines))
    return models_


def cluster_payload(
    cluster: clusters.Cluster,
    slots: ClusterSlots | None = None,
    health: EngineHealth | None = None,
) -> dict[str, Any]:
    return cluster_model(cluster, slots, health).model_dump(mode="json")
