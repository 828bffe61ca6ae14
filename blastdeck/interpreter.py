"""How BlastDeck's long-running processes run their Python: what they hold for life is kept
out of the cyclic GC's scans, and a thread that becomes ready gets the GIL sooner.

Only BlastDeck's own long-running processes call these (`blastdeck serve` once started, and
the heap again after its first request; a Celery worker process once it has its runtime):
an app made in another process (a test's) is left alone.

The heap. A serving process holds ~200,000 objects that live as long as it does: its
modules, the routes' pydantic validators and serializers (FastAPI builds a route's on the
first request it matches), SQLAlchemy's mappers. Python's full (generation 2) collection
scans all of them each time: measured 100-165 ms with the GIL held, every 30-40 s while jobs
ran, landing in a job's submit or in its steps before BLAST starts and in every request
meanwhile. Frozen (`gc.freeze`: the permanent generation) they are never scanned again; a
full collection then took 1.4-1.9 ms, and objects made later are collected as before. The
cost: a reference cycle among frozen objects that becomes garbage later is never freed
(reference counting still frees everything else), which for objects kept for the process's
life is nothing.

The GIL. A job's way to BLAST passes between threads (the request's, the pipeline's, its
runners', the event loop's), each running Python for a few milliseconds: a thread made ready
waits until the one holding the GIL releases it, at the latest after the switch interval
(5 ms by default). At 0.5 ms, a job's POST to its running step took 17 ms instead of 19-22
(median of 30 jobs, two alternating pairs); a thread that runs Python for long (an index
build, an export) is interrupted more often, for a few microseconds each time.
"""

from __future__ import annotations

import gc
import sys

GIL_SWITCH_INTERVAL_S = 0.0005


def freeze_startup_heap() -> None:
    """Collect what start-up left behind, then freeze everything still alive."""
    gc.collect()
    gc.freeze()


def hand_over_the_gil_sooner() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def settle_long_running_process() -> None:
    """Both, once the process has started and is about to serve or run jobs."""
    freeze_startup_heap()
    hand_over_the_gil_sooner()
