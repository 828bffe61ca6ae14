"""A job, its steps and its events (GET /api/jobs, /api/jobs/{id}, /api/jobs/{id}/events)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from blastdeck.api.schemas.notifications import NOTIFY_DESCRIPTION, TARGET_OBJECT
from blastdeck.domain.errors import ErrorCategory, ErrorCode
from blastdeck.domain.job_titles import MAX_TITLE_CHARS
from blastdeck.domain.pipeline_model import JobSource, JobStatus, Phase, Step, StepStatus
from blastdeck.domain.programs import Program


class JobCreate(BaseModel):
    """The JSON body of POST /api/jobs (multipart form data carries the same fields)."""

    program: str = Field(examples=["blastn"])
    database: str | None = Field(
        default=None,
        examples=["demo-16s"],
        description="the database to search; or give databases",
    )
    databases: list[str] | None = Field(
        default=None,
        examples=[["demo-16s", "alice/16s-extra"]],
        description="several databases of one molecule type, searched as one (their union: "
        'E-values as BLAST computes them with -db "a b"); at most 16. With database too, '
        "both must name the same one database",
    )
    query: str = Field(
        description=(
            "FASTA text, one bare sequence, or sequence ids (accessions or GIs, one a line or "
            "comma-separated), read from the databases you can use"
        )
    )
    # Documented here, refused by the job service (with its own message and field).
    title: str | None = Field(default=None, json_schema_extra={"maxLength": MAX_TITLE_CHARS})
    cluster: str | None = Field(default=None, description="default: local")
    namespace: str | None = Field(default=None, description="default: the cluster's")
    options: dict[str, Any] | None = Field(
        default=None,
        description="BLAST options from the allow-list, e.g. {evalue, max_target_seqs, word_size,"
        " task, matrix, gapopen, gapextend, perc_identity, qcov_hsp_perc}; and the taxon "
        "filter: taxids (search only within these taxa and their descendants) or "
        "negative_taxids (everything but them), each a list or a comma-separated string of "
        "taxids or scientific names",
    )
    # Any: checked by the job service, so every bad value answers `invalid_notification`.
    notify: Any = Field(
        default=None,
        description=NOTIFY_DESCRIPTION,
        json_schema_extra={"type": "array", "items": TARGET_OBJECT},
    )


class JobStep(BaseModel):
    key: Step
    label: str
    status: StepStatus
    started_at: str | None
    completed_at: str | None
    duration_ms: int | None
    skip_reason: str | None
    error: str | None


class WaitingFor(BaseModel):
    """What a job in `waiting_for_submit_slot` (`what`: submit_slot) or `paused` (`what`:
    paused) waits for."""

    model_config = ConfigDict(extra="allow")  # stored JSON: keep whatever the pipeline wrote

    what: str
    cluster: str
    namespace: str
    lock_key: str
    holder_job_id: str | None
    scope: str | None = Field(default=None, description="paused: `cluster` or `namespace`")
    paused_by: str | None = Field(default=None, description="paused: the admin who paused it")
    paused_since: str | None = Field(default=None, description="paused: when (ISO 8601)")
    message: str | None = Field(
        default=None, description="paused: cluster X / namespace Y is paused by <admin> since …"
    )


class JobProgress(BaseModel):
    batches_done: int
    batches_total: int


OptionValue = str | int | float | bool  # what domain/options.py validates an option to


class JobTaxonFilter(BaseModel):
    """The job's taxon filter as given, and what it became for its database."""

    taxids: list[str] = Field(description="the taxa included, as given")
    negative_taxids: list[str] = Field(description="the taxa excluded, as given")
    entrez_query: str | None = Field(
        default=None, description="the ENTREZ_QUERY it came from (NCBI's URL API), as given"
    )
    include_taxa: list[int] = Field(description="the included taxa, resolved to taxids")
    exclude_taxa: list[int] = Field(description="the excluded taxa, resolved to taxids")
    include_names: list[str] | None = Field(
        default=None,
        description="the included taxa's scientific names, in include_taxa's order (null: a "
        "job submitted before BlastDeck kept them)",
    )
    exclude_names: list[str] | None = Field(
        default=None, description="the excluded taxa's scientific names, as include_names"
    )
    expanded_taxids: int = Field(description="taxids after adding every taxon's descendants")
    database_taxids: int = Field(
        description="of those, the taxids the database has: the lines of the list BLAST reads"
    )
    blast_option: Literal["-taxidlist", "-negative_taxidlist"] | None = Field(
        description="how BLAST gets the list; null when the filter leaves BLAST nothing to "
        "drop (excluded taxa the database does not have)"
    )
    searched_sequences: int | None = Field(
        default=None,
        description="the database's sequences BLAST searches with the filter (null: not "
        "known, for a database added before BlastDeck counted its sequences per taxid)",
    )
    database_sequences: int | None = Field(
        default=None, description="the database's sequences in all (every searched database's)"
    )


class Job(BaseModel):
    id: str
    title: str | None
    program: Program
    database: str = Field(description="the (first) database searched")
    databases: list[str] = Field(description="every database searched, in search order")
    cluster: str
    namespace: str
    source: JobSource = Field(
        default=JobSource.SEARCH,
        description="search: BLAST ran here; imported: a BLAST result made elsewhere "
        "(POST /api/jobs/import), whose BLAST steps are skipped",
    )
    options: dict[str, OptionValue] = Field(description="the validated BLAST options")
    status: JobStatus
    phase: Phase
    error_code: ErrorCode | None
    error_category: ErrorCategory | None
    error: str | None
    waiting_for: WaitingFor | None
    steps: list[JobStep]
    progress: JobProgress
    owner: str | None = Field(description="who submitted it (a user name); null with auth off")
    query_count: int
    query_letters: int
    hits_total: int | None = Field(description="hits (query-subject pairs) once it has completed")
    hsps_total: int = Field(description="HSPs indexed so far")
    poll_after_ms: int | None = Field(description="ask again after this long; null: ended")
    created_at: str
    updated_at: str
    finished_at: str | None
    taxon_filter: JobTaxonFilter | None = Field(
        default=None, description="the options taxids / negative_taxids; null: none"
    )


class JobPage(BaseModel):
    items: list[Job]
    total: int
    limit: int
    offset: int


class JobEvent(BaseModel):
    id: int
    at: str
    kind: str
    phase: Phase | None
    step: Step | None
    error_code: ErrorCode | None
    message: str


class JobEventList(BaseModel):
    items: list[JobEvent]
