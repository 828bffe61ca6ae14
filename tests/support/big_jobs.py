"""A finished job whose downloads are big enough to be read while they are made, or while a
delete lands (the download race tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import fasta, wait_for_job

# Every hit the demo database has for a query: a 16-query JSON is over 12 MB.
OPTIONS = {"evalue": 10, "max_target_seqs": 200}


def run_job(
    get: Callable[[str], dict[str, Any]], post: Callable[..., Any], queries: list[tuple[str, str]]
) -> dict[str, Any]:
    """Submit `queries` against demo-16s with `OPTIONS` and wait for the job to complete."""
    body = {"program": "blastn", "database": "demo-16s", "query": fasta(queries)}
    response = post("/api/jobs", json=body | {"options": OPTIONS})
    assert response.status_code == 202, response.text
    done = wait_for_job(get, response.json()["id"], timeout=180)
    assert done["phase"] == "completed", done
    return done
