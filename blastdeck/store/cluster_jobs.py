"""Unfinished jobs per (cluster, namespace) as the Clusters page lists them: those waiting for
the submit slot (or for a paused cluster) in the order they began to wait, and those in flight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.domain.pipeline_model import SUBMIT_WAIT_PHASES, Phase
from blastdeck.store.models import Job

# Past the submit slot: the cluster is running the job's batches (or ending them).
IN_FLIGHT_PHASES = frozenset(
    {Phase.SUBMITTING, Phase.RUNNING, Phase.EXPORTING_RESULTS, Phase.CANCELLING}
)
_LISTED = sorted(p.value for p in SUBMIT_WAIT_PHASES | IN_FLIGHT_PHASES)
MAX_LISTED = 2000  # more than any page shows; a runaway queue still answers fast


@dataclass(frozen=True)
class SlotJob:
    id: str
    cluster: str
    namespace: str
    phase: Phase
    since: datetime  # waiting: when its wait began; in flight: when it was created
    waiting: bool


def slot_jobs(sessions: sessionmaker[Session]) -> list[SlotJob]:
    """Waiting and in-flight jobs, waiting ones first in the order they began to wait."""
    with sessions() as s:
        rows = s.execute(
            select(
                Job.id, Job.cluster, Job.namespace, Job.phase, Job.wait_started_at, Job.created_at
            )
            .where(Job.phase.in_(_LISTED))
            .order_by(Job.created_at)
            .limit(MAX_LISTED)
        ).all()
    jobs = [
        SlotJob(
            id=job_id,
            cluster=cluster,
            namespace=ns,
            phase=Phase(phase),
            since=(waited or created) if Phase(phase) in SUBMIT_WAIT_PHASES else created,
            waiting=Phase(phase) in SUBMIT_WAIT_PHASES,
        )
        for job_id, cluster, ns, phase, waited, created in rows
    ]
    return sorted(jobs, key=lambda j: (not j.waiting, j.since))
