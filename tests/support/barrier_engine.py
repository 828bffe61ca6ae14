"""A test double for the engine only: the local engine, with a submit step that waits at a barrier.

Loaded with BLASTDECK_PLUGINS=tests.support.barrier_engine. Its submit writes
`<job>.submit-start`, waits until `<job>.release` or `release-all` exists in the cluster's
`barrier_dir`, writes `<job>.submit-end`, then submits for real. The files make "were these
two submits inside the submit step at the same time?" a question with a certain answer.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from blastdeck.engines import local
from blastdeck.engines.base import JobContext
from blastdeck.engines.registry import register

BARRIER_TIMEOUT_S = 120


class BarrierEngine(local.LocalEngine):
    def submit(self, ctx: JobContext, timeout_s: float) -> str:
        barrier = Path(self.cluster.settings["barrier_dir"])
        barrier.mkdir(parents=True, exist_ok=True)
        (barrier / f"{ctx.job_id}.submit-start").write_text(repr(time.time()))
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while time.monotonic() < deadline:
            if (barrier / f"{ctx.job_id}.release").exists() or (barrier / "release-all").exists():
                break
            time.sleep(0.01)
        (barrier / f"{ctx.job_id}.submit-end").write_text(repr(time.time()))
        return super().submit(ctx, timeout_s)


register(
    replace(
        local.KIND,
        name="barrier",
        factory=BarrierEngine,
        settings=local.KIND.settings | {"barrier_dir"},
    )
)
