"""A job's run lease kept alive while the process that claimed it runs it."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError

from blastdeck.store.jobs import JobStore

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    """Renews a job's lease while it runs; notes when the lease was lost."""

    def __init__(self, jobs: JobStore, job_id: str, owner: str, lease_s: int) -> None:
        self._jobs, self._job_id, self._owner, self._lease_s = jobs, job_id, owner, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="lease-heartbeat")
        self.lost = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self._lease_s / 3):
            try:
                if not self._jobs.renew_claim(self._job_id, self._owner, self._lease_s):
                    self.lost = True
                    return
            except OperationalError:
                log.warning("could not renew the lease of job %s", self._job_id)
