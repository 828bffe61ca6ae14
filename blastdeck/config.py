"""Settings: `BLASTDECK_*` environment variables, optionally one TOML file, then defaults.

The TOML file is `BLASTDECK_CONFIG` or `<data dir>/blastdeck.toml` when present. Clusters
listed there (`[[clusters]]`) join the built-in `local` cluster; clusters added at run time
(`blastdeck cluster add`, `POST /api/clusters`) live in the database.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from blastdeck.domain.clusters import MAX_SLOTS
from blastdeck.domain.fasta import QueryLimits
from blastdeck.redis_keys import SUBMIT_LOCK_PREFIX


class ClusterConfig(BaseModel):
    name: str
    engine: str = "local"
    namespace: str = "default"
    slots: int | None = Field(
        default=None, ge=1, le=MAX_SLOTS, description="parallel BLAST batches; all cores"
    )
    settings: dict[str, str] = Field(default_factory=dict)


class ClusterChanges(BaseModel):
    """An edit of a cluster added at run time (`PATCH /api/clusters/{cluster}`, `cluster
    edit`): only the fields given change. `settings` is merged key by key: a value sets that
    setting, null removes it, "(hidden)" keeps a secret as it is. The name and engine of a
    cluster are fixed (given, they must be the current ones)."""

    name: str | None = None
    engine: str | None = None
    namespace: str | None = None
    slots: int | None = Field(
        default=None, ge=1, le=MAX_SLOTS, description="parallel BLAST batches; null: all cores"
    )
    settings: dict[str, str | None] | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BLASTDECK_", extra="ignore")

    data_dir: Path = Path(".blastdeck")
    database_url: str | None = None  # default: SQLite under data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=2, ge=1, description="jobs run at once by the embedded executor")

    max_nucleotide_letters: int = 1_000_000
    max_protein_letters: int = 100_000
    max_defline_chars: int = 10_000
    max_sequences: int = 10_000
    max_upload_bytes: int = 64 * 1024 * 1024
    max_query_letters: int = 10_000_000  # all sequences of one job together
    max_active_jobs_per_user: int = 20  # started and not yet ended
    max_queued_jobs_per_user: int = 200  # not yet started
    max_hits_per_query: int = Field(default=5000, ge=1, description="BLAST max_target_seqs cap")
    # Whole-file downloads (XML, JSON, text, ASN.1, zips) being made at once by one process; a
    # render runs blast_formatter on two batches at a time, so this bounds the cores and disk
    # that first downloads can take, however many clients ask. More wait their turn.
    max_export_renders: int = Field(default=2, ge=1)
    # Submits per signed-in user: a burst, then this many a minute; 0: off. (Auth off: no limit.)
    submit_rate_per_minute: float = Field(default=60, ge=0)
    submit_burst: int = Field(default=20, ge=1)
    # Share-link requests (/api/shared/...) per client address: a burst, then this many a
    # minute; 0: off. A result page opens with a handful of them.
    share_rate_per_minute: float = Field(default=600, ge=0)
    share_burst: int = Field(default=120, ge=1)

    lock_prefix: str = SUBMIT_LOCK_PREFIX
    lock_ttl_s: int = 900
    submit_timeout_s: int = 600
    submit_wait_deadline_s: int = 1800
    submit_backoff_max_s: float = 5.0

    # Distributed mode: set a broker URL (redis://...) and a PostgreSQL database_url.
    broker_url: str | None = None
    redis_url: str | None = None  # for the submit lock; default: the broker URL
    queue: str = "blastdeck"
    worker_concurrency: int = Field(default=2, ge=1)
    redis_socket_timeout_s: float = 5.0
    # A job is run by one process at a time: it holds a lease in the database, renewed while
    # it runs. A dead runner's lease expires and the reconcile hands the job to another.
    lease_s: int = Field(default=30, ge=2)
    # Every worker runs the reconcile this often (one worker of the deployment per period),
    # so a job a dead worker held resumes within lease_s + reconcile_interval_s.
    reconcile_interval_s: float = Field(default=25.0, gt=0)
    visibility_timeout_s: int = 3600
    max_attempts: int = Field(default=3, ge=1, description="tries for transient failures")
    retry_backoff_s: float = 2.0
    plugins: str = ""  # comma-separated modules imported at start (extra engines)

    # GET /metrics (Prometheus text format); behind an admin token when auth is on.
    metrics: bool = False

    # Tokens are required when "on"; "auto" turns them on whenever the server listens beyond
    # this machine (the embedded single-user default on 127.0.0.1 needs none).
    auth: Literal["auto", "on", "off"] = "auto"

    # Blast.cgi CMD=Get for a job still running waits this long for it before answering WAITING
    # (clients such as Biopython then poll again only 20-60 s later).
    ncbi_get_wait_s: float = 10.0

    # Finished jobs (rows, hits, files) are purged this long after they ended; 0 keeps them.
    retention_days: float = Field(default=30, ge=0)
    purge_interval_s: float = 3600.0

    # The NCBI Taxonomy: an NCBI taxdump directory (names.dmp, nodes.dmp, merged.dmp) used
    # instead of the embedded snapshot, and where its derived index is cached (default: the
    # user's cache, shared by every data dir on the machine; see taxonomy/shared.py).
    taxonomy_dir: Path | None = None
    taxonomy_cache_dir: Path | None = None

    # Notifications of a job's end (docs/notifications.md). Links in them start with
    # public_url (default: http://host:port). E-mail goes through this SMTP server; tls:
    # "starttls", "ssl" or "off". Webhooks may reach loopback/private/link-local addresses only
    # when webhook_allow_private is on. A delivery is tried notify_max_attempts times, waiting
    # notify_backoff_s, then twice as long each time (at most notify_backoff_max_s).
    public_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "blastdeck@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["off", "starttls", "ssl"] = "off"
    webhook_allow_private: bool = False
    notify_timeout_s: float = Field(default=10.0, gt=0)
    notify_max_attempts: int = Field(default=6, ge=1)
    notify_backoff_s: float = Field(default=5.0, gt=0)
    notify_backoff_max_s: float = Field(default=600.0, gt=0)
    notify_poll_s: float = Field(default=0.5, gt=0)  # how often a delivery loop looks for work

    demo_databases: bool = True
    clusters: list[ClusterConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _submit_timeout_below_lock_ttl(self) -> Settings:
        # A submit that outlives its lock could overlap the next holder's submit.
        if self.submit_timeout_s >= self.lock_ttl_s:
            raise ValueError(
                f"submit_timeout_s ({self.submit_timeout_s}) must be below lock_ttl_s "
                f"({self.lock_ttl_s}) so a submit never outlives its lock"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        if self.auth == "auto":
            return self.host not in ("127.0.0.1", "localhost", "::1")
        return self.auth == "on"

    @property
    def distributed(self) -> bool:
        return bool(self.broker_url)

    @property
    def lock_redis_url(self) -> str | None:
        return self.redis_url or self.broker_url

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'blastdeck.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            max_nucleotide_letters=self.max_nucleotide_letters,
            max_protein_letters=self.max_protein_letters,
            max_defline_chars=self.max_defline_chars,
            max_sequences=self.max_sequences,
        )

    def limits(self) -> dict[str, float]:
        """What a client may ask for, so it can check before submitting (GET /api/limits)."""
        return {
            "max_nucleotide_letters_per_sequence": self.max_nucleotide_letters,
            "max_protein_letters_per_sequence": self.max_protein_letters,
            "max_query_letters_per_job": self.max_query_letters,
            "max_sequences_per_job": self.max_sequences,
            "max_defline_chars": self.max_defline_chars,
            "max_upload_bytes": self.max_upload_bytes,
            "max_active_jobs_per_user": self.max_active_jobs_per_user,
            "max_queued_jobs_per_user": self.max_queued_jobs_per_user,
            "max_hits_per_query": self.max_hits_per_query,
            "submit_rate_per_minute": self.submit_rate_per_minute,
            "submit_burst": self.submit_burst,
        }

    @property
    def link_base(self) -> str:
        """Where links in notifications point: public_url, else this server's address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def databases_dir(self) -> Path:
        return self.resolved_data_dir / "databases"

    @property
    def jobs_dir(self) -> Path:
        return self.resolved_data_dir / "jobs"

    @property
    def scratch_dir(self) -> Path:
        return self.resolved_data_dir / "scratch"


def _toml_values(data_dir: Path | None) -> dict[str, Any]:
    explicit = os.environ.get("BLASTDECK_CONFIG")
    candidates = [Path(explicit)] if explicit else []
    base = data_dir or Path(os.environ.get("BLASTDECK_DATA_DIR", ".blastdeck"))
    candidates.append(base / "blastdeck.toml")
    for path in candidates:
        if path.is_file():
            with path.open("rb") as fh:
                return tomllib.load(fh)
    return {}


def load_settings(**overrides: Any) -> Settings:
    """Settings from env and the TOML file; explicit overrides (CLI flags) win over both."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    file_values = _toml_values(overrides.get("data_dir"))
    env_set = {name for name in Settings.model_fields if f"BLASTDECK_{name.upper()}" in os.environ}
    init = {k: v for k, v in file_values.items() if k not in env_set}
    init.update(overrides)
    return Settings(**init)
