"""The closed set of error codes BlastDeck reports, with their category and HTTP status.

`error_code` in every API payload, event and CLI error is one of `ErrorCode`; never free text.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    TRANSIENT = "transient"  # worth retrying as is
    CAPACITY = "capacity"  # wait for a slot or for resources
    PERMANENT = "permanent"  # retrying the same thing will fail again
    CANCELLED = "cancelled"


class ErrorCode(StrEnum):
    # request validation (4xx)
    INVALID_REQUEST = "invalid_request"
    EMPTY_QUERY = "empty_query"
    INVALID_FASTA = "invalid_fasta"
    BINARY_DATA = "binary_data"
    HEADER_TOO_LONG = "header_too_long"
    INVALID_RESIDUES = "invalid_residues"
    QUERY_MOLECULE_MISMATCH = "query_molecule_mismatch"
    # the query is sequence ids (query_ids.py) and a database the user may use lacks one
    QUERY_ID_NOT_FOUND = "query_id_not_found"
    SEQUENCE_TOO_LONG = "sequence_too_long"
    TOO_MANY_SEQUENCES = "too_many_sequences"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNKNOWN_PROGRAM = "unknown_program"
    UNKNOWN_DATABASE = "unknown_database"
    DATABASE_MOLECULE_MISMATCH = "database_molecule_mismatch"
    # several databases in one search (domain/database_list.py)
    EMPTY_DATABASE_LIST = "empty_database_list"  # databases: [] (or only blank names)
    DUPLICATE_DATABASE = "duplicate_database"  # one database named twice in databases
    TOO_MANY_DATABASES = "too_many_databases"  # more than MAX_DATABASES_PER_JOB
    CONFLICTING_DATABASES = "conflicting_databases"  # database and databases name others
    MIXED_DATABASE_MOLECULES = "mixed_database_molecules"  # nucleotide and protein together
    # Databases BLAST+ refuses to search as one: version 4 with 5, or version 5 databases built
    # with -parse_seqids with ones built without
    DATABASES_NOT_SEARCHABLE_TOGETHER = "databases_not_searchable_together"
    OPTION_NOT_ALLOWED = "option_not_allowed"
    INVALID_OPTION_VALUE = "invalid_option_value"
    INVALID_NAME = "invalid_name"
    INVALID_DATABASE_PATH = "invalid_database_path"
    DATABASE_EXISTS = "database_exists"
    AMBIGUOUS_DATABASE = "ambiguous_database"
    FILE_NOT_FOUND = "file_not_found"
    EMPTY_FILE = "empty_file"
    DATABASE_BUILD_FAILED = "database_build_failed"
    UNKNOWN_CLUSTER = "unknown_cluster"
    UNKNOWN_ENGINE = "unknown_engine"
    INVALID_NAMESPACE = "invalid_namespace"
    CLUSTER_EXISTS = "cluster_exists"
    INVALID_CLUSTER_SETTING = "invalid_cluster_setting"
    CLUSTER_IN_USE = "cluster_in_use"  # deleting a cluster an unfinished job runs on
    CLUSTER_NOT_REMOVABLE = "cluster_not_removable"  # built-in `local` or from the config file
    CLUSTER_NOT_EDITABLE = "cluster_not_editable"  # the same two: edit the config file instead
    JOB_NOT_FOUND = "job_not_found"
    JOB_ALREADY_FINISHED = "job_already_finished"
    JOB_STILL_ACTIVE = "job_still_active"
    RESULTS_NOT_READY = "results_not_ready"
    RESULTS_MISSING = "results_missing"  # a completed job's files are gone from the data dir
    UNKNOWN_FORMAT = "unknown_format"
    UNKNOWN_COLUMN = "unknown_column"  # a tabular download's columns= names no known column
    COLUMN_NOT_FOR_PROGRAM = "column_not_for_program"  # qcovus asked of a protein job
    SUBJECTS_NOT_IN_JOB = "subjects_not_in_job"  # a FASTA download names subjects it never hit
    SHARE_NOT_FOUND = "share_not_found"  # a share link unknown, forged, revoked or expired
    # a database upload's build progress (build_progress.py)
    INVALID_UPLOAD_ID = "invalid_upload_id"  # X-Upload-Id / the URL's id is not a UUID
    UPLOAD_ID_IN_USE = "upload_id_in_use"  # another upload in this process has that id
    UNKNOWN_UPLOAD = "unknown_upload"  # unknown, expired, another's, or another API process's
    UNKNOWN_COMMAND = "unknown_command"
    QUERY_TOO_LARGE = "query_too_large"
    QUOTA_EXCEEDED = "quota_exceeded"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    USER_EXISTS = "user_exists"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_TOKEN = "unknown_token"
    USER_OWNS_DATA = "user_owns_data"
    UNSUPPORTED_PARAMETER = "unsupported_parameter"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNKNOWN_TAXON = "unknown_taxon"  # no such taxid or taxon name (with close suggestions)
    AMBIGUOUS_TAXON = "ambiguous_taxon"  # a name several taxa share (homonyms): give the taxid
    INVALID_TAXON_FILTER = "invalid_taxon_filter"  # taxids/negative_taxids malformed or too long
    TAXON_FILTER_CONFLICT = "taxon_filter_conflict"  # one taxon both included and excluded
    TAXON_FILTER_EMPTY = "taxon_filter_empty"  # the exclusions remove everything included
    UNSUPPORTED_ENTREZ_QUERY = "unsupported_entrez_query"  # ENTREZ_QUERY outside our grammar
    TAXONOMY_UNAVAILABLE = "taxonomy_unavailable"  # the operator's taxdump dir is unreadable
    INVALID_TAXID_MAP = "invalid_taxid_map"  # a database's taxid map: bad line, seqid, taxid
    DATABASE_WITHOUT_TAXIDS = "database_without_taxids"  # a taxon filter on a db with no taxids
    DATABASE_IN_USE = "database_in_use"  # deleting a database a queued/running job searches
    # importing a BLAST result made elsewhere (POST /api/jobs/import, job_import.py)
    IMPORT_NOT_BLAST = "import_not_blast"  # neither BLAST XML (-outfmt 5) nor an archive (11)
    IMPORT_MALFORMED = "import_malformed"  # truncated, malformed, entities, nesting too deep
    IMPORT_BLAST_VERSION = "import_blast_version"  # an archive from another BLAST+ version
    IMPORT_DATABASE_UNKNOWN = "import_database_unknown"  # an archive's database is not here
    # an imported job's download that cannot be produced exactly from what was imported
    FORMAT_UNAVAILABLE = "format_unavailable"
    INVALID_NOTIFICATION = "invalid_notification"  # a notify target malformed (type, url, to)
    # a webhook to a loopback/private/link-local address (BLASTDECK_WEBHOOK_ALLOW_PRIVATE off)
    NOTIFICATION_TARGET_FORBIDDEN = "notification_target_forbidden"
    EMAIL_UNAVAILABLE = "email_unavailable"  # an e-mail target on a server with no SMTP set
    # GET /api/usage's period (domain/usage_period.py)
    INVALID_DATE = "invalid_date"  # `from` or `to` is not an ISO date (YYYY-MM-DD)
    PERIOD_REVERSED = "period_reversed"  # `from` after `to`
    PERIOD_TOO_LONG = "period_too_long"  # more days than MAX_PERIOD_DAYS
    # job execution
    DATABASE_FILES_MISSING = "database_files_missing"
    # The old name of database_files_missing: rows stored before it may hold it.
    DATABASE_MISSING = "database_missing"
    BLAST_SEARCH_FAILED = "blast_search_failed"
    BLAST_OUT_OF_MEMORY = "blast_out_of_memory"
    BLAST_TIMEOUT = "blast_timeout"
    BLAST_SUBMIT_LOCK_BUSY = "blast_submit_lock_busy"
    BLAST_SUBMIT_SLOT_WAIT_DEADLINE_EXCEEDED = "blast_submit_slot_wait_deadline_exceeded"
    STAGING_FAILED = "staging_failed"
    EXPORT_FAILED = "export_failed"
    WORKER_LOST = "worker_lost"
    STORAGE_FULL = "storage_full"
    BROKER_UNAVAILABLE = "broker_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    SLURM_SUBMIT_REJECTED = "slurm_submit_rejected"
    SLURM_UNAVAILABLE = "slurm_unavailable"
    SUBMIT_TIMEOUT = "submit_timeout"
    SERVER_STOPPING = "server_stopping"
    CANCELLED = "cancelled"
    INTERNAL_ERROR = "internal_error"
    # the CLI with --server: no BlastDeck answer (no connection, a timeout, or another
    # program's answer such as a proxy's error page); never sent by a server
    SERVER_UNREACHABLE = "server_unreachable"
    # a process that cannot start as configured (the CLI: serve, worker, beat, the data dir)
    INVALID_CONFIGURATION = "invalid_configuration"
    STARTUP_FAILED = "startup_failed"


_CATEGORY: dict[ErrorCode, ErrorCategory] = {
    ErrorCode.BLAST_SUBMIT_LOCK_BUSY: ErrorCategory.CAPACITY,
    ErrorCode.BLAST_SUBMIT_SLOT_WAIT_DEADLINE_EXCEEDED: ErrorCategory.CAPACITY,
    ErrorCode.STORAGE_FULL: ErrorCategory.CAPACITY,
    ErrorCode.QUOTA_EXCEEDED: ErrorCategory.CAPACITY,
    ErrorCode.RATE_LIMITED: ErrorCategory.CAPACITY,
    ErrorCode.BLAST_OUT_OF_MEMORY: ErrorCategory.CAPACITY,
    ErrorCode.WORKER_LOST: ErrorCategory.TRANSIENT,
    ErrorCode.BROKER_UNAVAILABLE: ErrorCategory.TRANSIENT,
    ErrorCode.DATABASE_UNAVAILABLE: ErrorCategory.TRANSIENT,
    ErrorCode.STAGING_FAILED: ErrorCategory.TRANSIENT,
    ErrorCode.SLURM_UNAVAILABLE: ErrorCategory.TRANSIENT,
    ErrorCode.SUBMIT_TIMEOUT: ErrorCategory.TRANSIENT,
    ErrorCode.SERVER_STOPPING: ErrorCategory.TRANSIENT,
    ErrorCode.SERVER_UNREACHABLE: ErrorCategory.TRANSIENT,
    ErrorCode.CANCELLED: ErrorCategory.CANCELLED,
}

_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.JOB_NOT_FOUND: 404,
    ErrorCode.UNKNOWN_DATABASE: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.JOB_ALREADY_FINISHED: 409,
    ErrorCode.JOB_STILL_ACTIVE: 409,
    ErrorCode.RESULTS_NOT_READY: 409,
    ErrorCode.RESULTS_MISSING: 410,
    ErrorCode.DATABASE_EXISTS: 409,
    ErrorCode.AMBIGUOUS_DATABASE: 409,
    ErrorCode.DATABASE_IN_USE: 409,
    ErrorCode.CLUSTER_EXISTS: 409,
    ErrorCode.CLUSTER_IN_USE: 409,
    ErrorCode.CLUSTER_NOT_REMOVABLE: 409,
    ErrorCode.CLUSTER_NOT_EDITABLE: 409,
    ErrorCode.BROKER_UNAVAILABLE: 503,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.STORAGE_FULL: 507,
    ErrorCode.SLURM_UNAVAILABLE: 503,
    ErrorCode.SERVER_STOPPING: 503,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.USER_EXISTS: 409,
    ErrorCode.UNKNOWN_USER: 404,
    ErrorCode.UNKNOWN_TOKEN: 404,
    ErrorCode.SHARE_NOT_FOUND: 404,
    ErrorCode.UNKNOWN_UPLOAD: 404,
    ErrorCode.UPLOAD_ID_IN_USE: 409,
    ErrorCode.UNKNOWN_TAXON: 404,
    # A server-side configuration problem (BLASTDECK_TAXONOMY_DIR), not the request's fault.
    ErrorCode.TAXONOMY_UNAVAILABLE: 503,
    ErrorCode.USER_OWNS_DATA: 409,
    ErrorCode.FORMAT_UNAVAILABLE: 409,
}


def category_of(code: ErrorCode) -> ErrorCategory:
    return _CATEGORY.get(code, ErrorCategory.PERMANENT)


def http_status_of(code: ErrorCode) -> int:
    return _HTTP_STATUS.get(code, 422)


class BlastDeckError(Exception):
    """A failure with a stable code and a message a person can act on.

    `field` names the request field the error concerns, when there is one; `status` overrides
    the code's HTTP status where the same code means another thing (an unknown cluster named
    in a URL path is a 404; named in a request body, a 422).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        detail: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self._status = status
        self.code = code
        self.message = message
        self.field = field
        self.detail = detail or {}

    @property
    def category(self) -> ErrorCategory:
        return category_of(self.code)

    @property
    def http_status(self) -> int:
        return self._status or http_status_of(self.code)
