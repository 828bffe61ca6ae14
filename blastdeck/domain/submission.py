"""What a client asks for when it submits a search (the API, Blast.cgi and the CLI build one).

Its own small module so the CLI can build one over HTTP without importing the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SubmitRequest:
    program: str
    database: str | None  # one database; or None with `databases`
    query: str | bytes
    title: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    options: dict[str, Any] | None = None
    # NCBI's ENTREZ_QUERY organism filter (Blast.cgi), instead of options taxids/negative_taxids
    entrez_query: str | None = None
    # several databases searched as one (their union, as `blastn -db "a b"`); `database` may
    # be given too only when it names the same one (domain/database_list.py)
    databases: list[str] | None = None
    # where to tell of the job's end (domain/notifications.py); None: the user's defaults
    notify: list[Any] | None = None
