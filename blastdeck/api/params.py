"""Path and query parameters several routes share, each with its bounds.

Every number a client sends has a ceiling in the schema and in the code: past it the request
answers 422 `invalid_request` before any database work (an unbounded offset once reached
SQLite as an integer it cannot hold, a 500).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from pydantic import BeforeValidator

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.domain.paging import MAX_LIST_PAGE, MAX_OFFSET

MAX_EVENT_ID = 2**31 - 1  # event ids are a 32-bit column on PostgreSQL
JOB_ID_CHARS = 36  # a UUID: 8-4-4-4-12 hex digits
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def job_id_path(
    job_id: Annotated[str, Path(max_length=JOB_ID_CHARS, description="a job id (a UUID)")],
) -> str:
    """A job id from the path. One that cannot be a job's id is not found without a database
    read (the same answer as for an id nobody has)."""
    if not _JOB_ID.fullmatch(job_id):
        raise BlastDeckError(ErrorCode.JOB_NOT_FOUND, f"No job with id {job_id!r}.")
    return job_id


# A number in a query string as the schema says it (digits, a sign, a point, an exponent).
# Pydantic alone also reads "5\n", " 5", "5_0" (as 50) and, for a whole number, "5.0": a request
# the schema calls invalid would be answered as if it were valid.
_WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+")
_NUMBER = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


def _written_plainly(pattern: re.Pattern[str], what: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"must be {what}, written without spaces, not {value[:40]!r}")
        return value

    return BeforeValidator(check)


# Put beside the parameter's Query/Path (Annotated[int, Query(...), PLAIN_WHOLE_NUMBER]): an
# Annotated nested inside another would turn the Query's bounds into non-standard schema keys.
PLAIN_WHOLE_NUMBER = _written_plainly(_WHOLE_NUMBER, "a whole number")
PLAIN_NUMBER = _written_plainly(_NUMBER, "a number")

JobId = Annotated[str, Depends(job_id_path)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip"), PLAIN_WHOLE_NUMBER]
AfterEventId = Annotated[
    int,
    Query(ge=0, le=MAX_EVENT_ID, description="only events with a larger id"),
    PLAIN_WHOLE_NUMBER,
]


def page_size(maximum: int) -> Any:
    """A page size from 1 to `maximum` (the `limit` query parameter)."""
    return Query(ge=1, le=maximum, description=f"items per page (at most {maximum})")


PageLimit = Annotated[int, page_size(MAX_LIST_PAGE), PLAIN_WHOLE_NUMBER]  # jobs, audit
RowPageLimit = Annotated[int, page_size(1000), PLAIN_WHOLE_NUMBER]  # a page of hits or HSPs
