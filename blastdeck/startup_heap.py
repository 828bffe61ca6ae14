"""What a long-running process holds from its start on is kept out of the cyclic GC's scans.

A serving process holds ~200,000 objects that live as long as it does: its modules, the
routes' pydantic validators and serializers (FastAPI builds a route's on the first request
it matches), SQLAlchemy's mappers. Python's full (generation 2) collection scans all of them
each time: measured 100-150 ms with the GIL held, every 30-40 s while jobs ran, landing in
a job's submit or in its steps before BLAST starts and in every request meanwhile. Frozen
(`gc.freeze`: the permanent generation) they are never scanned again; a full collection
then took 8-18 ms, and objects made later are collected as before. The cost: a reference
cycle among frozen objects that becomes garbage later is never freed (reference counting
still frees everything else), which for objects kept for the process's life is nothing.

Only BlastDeck's own long-running processes freeze (`blastdeck serve` once started and
after its first request, a Celery worker process once it has its runtime): an app made in
another process (a test's) is left alone, its objects die with it.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect what start-up left behind, then freeze everything still alive."""
    gc.collect()
    gc.freeze()
