"""What a submit (or an import) hands the job store to create a job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NewJob:
    title: str
    program: str
    database: str
    cluster: str
    namespace: str
    options: dict[str, Any]
    query_fasta: str
    query_count: int
    query_letters: int
    owner_id: str | None = None
    taxon_filter: dict[str, Any] | None = None
    databases: list[str] | None = None  # several databases: all of them (database: the first)
    notify: list[dict[str, Any]] | None = None  # its end's outbox rows: store/notifications.py

    def row_fields(self) -> dict[str, Any]:
        """Its values for the `jobs` row: all but the queries, which are a `JobQuery`'s."""
        return {k: v for k, v in self.__dict__.items() if k != "query_fasta"}

    def created_message(self) -> str:
        """What the job's `created` event says."""
        searched = " + ".join(self.databases or [self.database])
        return (
            f"{self.program} of {self.query_count} quer{'y' if self.query_count == 1 else 'ies'} "
            f"against {searched} on cluster {self.cluster}/{self.namespace}"
        )
