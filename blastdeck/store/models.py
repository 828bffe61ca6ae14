"""SQLAlchemy models: the database is the source of truth for every job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime stored; use blastdeck.store.models.utcnow()")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    program: Mapped[str] = mapped_column(String(16))
    database: Mapped[str] = mapped_column(String(200))  # qualified: nt, alice/x, @lab/x
    # A job of several databases: all of them (qualified), in search order, `database` being
    # the first; None for a job of one database (and every job from before 0011).
    databases: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    cluster: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(63))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The queries as submitted are in `job_queries` (JobQuery), not here: see there why.
    query_count: Mapped[int] = mapped_column(Integer)
    query_letters: Mapped[int] = mapped_column(Integer)

    phase: Mapped[str] = mapped_column(String(32), index=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    engine_handle: Mapped[str | None] = mapped_column(String(200))
    # what the job waits for while in waiting_for_submit_slot (cluster, namespace, holder)
    waiting_for: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    wait_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The one process running the job now, until when (renewed while it runs).
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hsps_total: Mapped[int] = mapped_column(Integer, default=0)
    hits_total: Mapped[int | None] = mapped_column(Integer)  # (query, subject) pairs
    # The `taxids` / `negative_taxids` options as given, resolved and expanded (job_taxa.py);
    # None: no taxon filter.
    taxon_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where to tell of the job's end (domain/notifications.py targets); None: nowhere.
    notify: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The cluster's definition (domain.clusters.Cluster.record) as the job started: it keeps
    # it when an admin edits the cluster meanwhile. None: not started yet.
    cluster_config: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    # Usage figures (store/usage.py), written by the process that runs the job: the submit-slot
    # wait when the slot is taken, the rest when the job ends (queue wait and run time as its
    # steps recorded them). On the row, beside ix_jobs_usage, so a report over 100,000 jobs
    # reads one index and joins no step rows. None: not known (never waited for the slot,
    # never started or ran, still open, or imported).
    queue_wait_ms: Mapped[int | None] = mapped_column(Integer)  # created -> first step started
    submit_wait_ms: Mapped[int | None] = mapped_column(Integer)  # waited for the submit slot
    run_ms: Mapped[int | None] = mapped_column(Integer)  # its completed `running` step
    cpu_seconds: Mapped[float | None] = mapped_column(Float)  # BLAST CPU, all batches

    # search: BLAST ran here; imported: a BLAST result made elsewhere (job_import.py), which
    # never runs (its steps are recorded as the import did them).
    source: Mapped[str] = mapped_column(String(16), default="search", server_default="search")

    # The user who submitted it; None when auth is off (the single-user embedded default).
    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The owner's account, for showing who submitted (no FK: an owner may be removed, and
    # the job stays, owned by no account).
    owner: Mapped[User | None] = relationship(
        primaryjoin="foreign(Job.owner_id) == User.id", viewonly=True, lazy="selectin"
    )
    steps: Mapped[list[JobStep]] = relationship(
        back_populates="job", order_by="JobStep.position", cascade="all, delete-orphan"
    )

    @property
    def database_names(self) -> list[str]:
        """Every database the job searches, in search order."""
        return list(self.databases or [self.database])


# What GET /api/usage reads (store/usage.py), so that a report is index-only: per owner,
# cluster, namespace and database in that order (its GROUP BY walks the index, no sort), and
# per day and phase (a range of created_at).
USAGE_INDEX_COLUMNS = (
    "owner_id",
    "cluster",
    "namespace",
    "database",
    "created_at",
    "cpu_seconds",
    "queue_wait_ms",
    "submit_wait_ms",
    "run_ms",
)
Index("ix_jobs_usage", *(getattr(Job, c) for c in USAGE_INDEX_COLUMNS))
Index("ix_jobs_usage_days", Job.created_at, Job.phase)
# Per timed figure: its values in order within a cluster and namespace, so SQLite finds the
# k-th value of a period (a median, a 95th percentile) by walking an index, not by sorting
# (store/usage_sql.py; PostgreSQL's percentile_cont needs none of them).
USAGE_TIMED = ("queue_wait_ms", "submit_wait_ms", "run_ms")
for _timed in USAGE_TIMED:
    Index(
        f"ix_jobs_{_timed}",
        Job.cluster,
        Job.namespace,
        getattr(Job, _timed),
        Job.created_at,
        Job.owner_id,
    )


class JobQuery(Base):
    """A job's queries as submitted (normalized FASTA), read only by what needs them
    (JobStore.query_fasta). Up to the whole upload (10,000 queries are megabytes), so not in
    the `jobs` row: SQLite rewrites a row whole, overflow pages and all, whenever an update
    changes its size (a phase, a timestamp set), so a 50-query job's ~35 updates each wrote
    its 75 KB of FASTA to the WAL again, and checkpointed it (0018)."""

    __tablename__ = "job_queries"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    fasta: Mapped[str] = mapped_column(Text)


class JobStep(Base):
    __tablename__ = "job_steps"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[Job] = relationship(back_populates="steps")


class JobEvent(Base):
    """The audit log: one row per transition, skip, wait and failure."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")


class LegacyHsp(Base):
    """An HSP of a job indexed before HSPs moved to the job's columnar index
    (results/hsp_index.py): read once, to build that job's index, and never written."""

    __tablename__ = "legacy_hsps"
    __table_args__ = (Index("ix_legacy_hsps_job_query", "job_id", "query_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    query_index: Mapped[int] = mapped_column(Integer)
    query_id: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[str] = mapped_column(String(200))
    subject_title: Mapped[str] = mapped_column(Text)
    pident: Mapped[float] = mapped_column(Float)
    length: Mapped[int] = mapped_column(Integer)
    mismatch: Mapped[int] = mapped_column(Integer)
    gapopen: Mapped[int] = mapped_column(Integer)
    qstart: Mapped[int] = mapped_column(Integer)
    qend: Mapped[int] = mapped_column(Integer)
    sstart: Mapped[int] = mapped_column(Integer)
    send: Mapped[int] = mapped_column(Integer)
    evalue: Mapped[float] = mapped_column(Float)
    bitscore: Mapped[float] = mapped_column(Float)
    qlen: Mapped[int] = mapped_column(Integer)
    slen: Mapped[int] = mapped_column(Integer)
    qcovhsp: Mapped[float] = mapped_column(Float)


class BlastDatabase(Base):
    __tablename__ = "databases"

    # Scoped (databases.py): plain when public, <owner>/<name> private, @<group>/<name> group.
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    path: Mapped[str] = mapped_column(Text)  # the BLAST+ database prefix (absolute)
    title: Mapped[str] = mapped_column(Text, default="")
    molecule: Mapped[str] = mapped_column(String(8))
    sequences: Mapped[int] = mapped_column(Integer, default=0)
    letters: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16))  # registered | built | demo
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    owner_id: Mapped[str | None] = mapped_column(String(36))  # None: added with auth off / CLI
    visibility: Mapped[str] = mapped_column(String(16), default="public")  # domain/sharing.py
    share_group: Mapped[str | None] = mapped_column(String(64))  # for visibility "group"
    # Taxonomy coverage (database_taxa.py); None: never read (added before migration 0009).
    taxid_sequences: Mapped[int | None] = mapped_column(Integer)  # sequences with a taxid
    distinct_taxids: Mapped[int | None] = mapped_column(Integer)
    top_organisms: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class ClusterRow(Base):
    """A cluster added at run time (see `domain.clusters` for the other shapes of a cluster)."""

    __tablename__ = "clusters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    engine: Mapped[str] = mapped_column(String(32))
    namespace: Mapped[str] = mapped_column(String(63), default="default")
    slots: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClusterPause(Base):
    """An admin paused a cluster (namespace "": all of it) or one of its namespaces: its new
    submits wait before taking the submit slot until it is resumed (the row deleted)."""

    __tablename__ = "cluster_pauses"

    cluster: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(63), primary_key=True)  # "": the whole cluster
    paused_by: Mapped[str] = mapped_column(String(64))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)  # may use these groups' DBs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A disabled user's tokens are refused (401); their jobs and databases stay.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token: shown once when created, stored only as a SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # public part of the token
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a request last came with it, to the minute (store/users.py: LAST_USED_STEP).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MaintenanceEvent(Base):
    """What the service did on its own (a retention purge), for operators to audit."""

    __tablename__ = "maintenance_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditEvent(Base):
    """What a person did that changes who may do what (users, tokens): who, what, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(64))  # None: auth off (whoever it was)
    action: Mapped[str] = mapped_column(String(64))  # "user.add", "token.revoke", ...
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobShare(Base):
    """A read-only link to one job: its token is shown once when created, stored only as a
    SHA-256 hash (found by it: the hash is unique). Deleted with its job."""

    __tablename__ = "job_shares"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(36))  # a user id; None: auth off
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationDelivery(Base):
    """The outbox: one notification of a job's end to one target, written in the transaction
    that ends the job (store/notifications.py) and sent, at least once, by a delivery loop.
    No foreign key: a delivery outlives its job's deletion (its body is read when sent)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # X-BlastDeck-Delivery
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    event: Mapped[str] = mapped_column(String(16))  # completed | failed | cancelled
    kind: Mapped[str] = mapped_column(String(16))  # webhook | email
    target: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationDefaults(Base):
    """A user's default notification targets, used by every job they submit without its own
    `notify`. `user_key` is the user id, or "" for the one user of a server with auth off."""

    __tablename__ = "notification_defaults"

    user_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# The tables of the job rows written on a job's hot path as Core statements (`job_steps.py`):
# the ORM's bulk UPDATE, which synchronizes the session, costs ~0.5 ms more a statement.
JOB_TABLE, STEP_TABLE, EVENT_TABLE = Job.__table__, JobStep.__table__, JobEvent.__table__
