"""The HSP index of a job: stored batch by batch while BLAST runs, then browsed (sorted,
filtered, paged, grouped by query) by the hits API and the web page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from blastdeck.results.hsps import Hsp as HspRecord
from blastdeck.store.models import Hsp

# What an HSP list may be ordered by; "query" is input order (the query's index in the job).
HspSort = Literal["evalue", "bitscore", "pident", "qcovhsp", "length", "query", "subject_id"]
_HSP_COLUMNS = [f.name for f in fields(HspRecord)]


@dataclass(frozen=True)
class HspFilter:
    """Which HSPs a list shows; every bound is optional."""

    query_id: str | None = None
    min_pident: float | None = None
    min_qcovhsp: float | None = None
    max_evalue: float | None = None

    def clauses(self) -> list[Any]:
        bounds = (
            (self.query_id, lambda v: Hsp.query_id == v),
            (self.min_pident, lambda v: Hsp.pident >= v),
            (self.min_qcovhsp, lambda v: Hsp.qcovhsp >= v),
            (self.max_evalue, lambda v: Hsp.evalue <= v),
        )
        return [make(value) for value, make in bounds if value is not None]


class HspStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def replace_batch(
        self, job_id: str, first_query: int, query_count: int, hsps: Sequence[HspRecord]
    ) -> None:
        """Store one batch's HSPs, replacing any earlier copy (a batch may be indexed again)."""
        rows = [(job_id, *(getattr(h, c) for c in _HSP_COLUMNS)) for h in hsps]
        with self._sessions.begin() as s:
            s.execute(
                delete(Hsp).where(
                    Hsp.job_id == job_id,
                    Hsp.query_index >= first_query,
                    Hsp.query_index < first_query + query_count,
                )
            )
            if rows:
                # The driver's own executemany: tens of thousands of rows, no per-row ORM work.
                connection = s.connection()
                mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
                columns = ("job_id", *_HSP_COLUMNS)
                connection.exec_driver_sql(
                    f"INSERT INTO {Hsp.__tablename__} ({', '.join(columns)}) "
                    f"VALUES ({', '.join([mark] * len(columns))})",
                    rows,
                )

    def count(self, job_id: str) -> int:
        with self._sessions() as s:
            return s.scalar(select(func.count()).where(Hsp.job_id == job_id)) or 0

    def page(
        self,
        job_id: str,
        *,
        sort: HspSort = "evalue",
        descending: bool = False,
        limit: int = 100,
        offset: int = 0,
        filters: HspFilter | None = None,
    ) -> tuple[Sequence[Hsp], int]:
        column = Hsp.query_index if sort == "query" else getattr(Hsp, sort)
        query = select(Hsp).where(Hsp.job_id == job_id, *(filters or HspFilter()).clauses())
        order = column.desc() if descending else column.asc()
        with self._sessions() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = query.order_by(order, Hsp.id).limit(limit).offset(offset)
            rows = s.scalars(page).all()
        return rows, total

    def queries(self, job_id: str) -> list[tuple[int, str, int, int]]:
        """(query index, query id, query length, HSP count) of every query with HSPs."""
        query = (
            select(Hsp.query_index, Hsp.query_id, func.max(Hsp.qlen), func.count())
            .where(Hsp.job_id == job_id)
            .group_by(Hsp.query_index, Hsp.query_id)
            .order_by(Hsp.query_index)
        )
        with self._sessions() as s:
            return [tuple(row) for row in s.execute(query).all()]  # type: ignore[misc]

    def query_index_of(self, job_id: str, query_id: str) -> int | None:
        """The index in the job of the (first) query with this id that has HSPs."""
        query = select(func.min(Hsp.query_index)).where(
            Hsp.job_id == job_id, Hsp.query_id == query_id
        )
        with self._sessions() as s:
            return s.scalar(query)
