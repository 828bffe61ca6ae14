"""Bounds of a listed page, the same for the API's query parameters and the CLI's options
(which, on the data dir, reach the store without the API's checks)."""

from __future__ import annotations

MAX_OFFSET = 1_000_000_000  # no list is this long; well within any database's integer
MAX_LIST_PAGE = 500  # a list's page (?limit=): jobs, audit
MAX_SEARCH_CHARS = 200  # GET /api/jobs?q=
