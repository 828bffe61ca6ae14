"""A test double for making a crash happen on purpose: with BLASTDECK_TEST_DIE_BEFORE_ENQUEUE=1
in its environment, the process dies (exit 137, as from SIGKILL) right after the job is stored
and before its message reaches the broker. Loaded with BLASTDECK_PLUGINS."""

from __future__ import annotations

import os

from blastdeck.executors.celery import CeleryExecutor

if os.environ.get("BLASTDECK_TEST_DIE_BEFORE_ENQUEUE") == "1":

    def _die(self: CeleryExecutor, job_id: str, delay_s: float = 0.0) -> None:
        os._exit(137)

    CeleryExecutor.enqueue = _die  # type: ignore[method-assign]
