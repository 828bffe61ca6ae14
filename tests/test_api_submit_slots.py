"""GET /api/clusters' submit slots (blastdeck/submit_slots.py): per cluster, one slot per
namespace it names or that unfinished jobs use, with the holder and the jobs waiting on it."""

from __future__ import annotations

from blastdeck.domain.clusters import Cluster
from blastdeck.locks import InProcessSubmitLock, new_lock_token, submit_lock_key
from blastdeck.submit_slots import submit_slots

PREFIX = "test:elb:submit"


def test_holders_and_queue_depths_per_namespace() -> None:
    lock = InProcessSubmitLock()
    key = submit_lock_key("hpc", "team-a", PREFIX)
    assert lock.acquire(key, new_lock_token("job-1"), ttl_s=60)
    clusters = [
        Cluster("local", "local", "default", 2),
        Cluster("hpc", "slurm", "default", 8, namespaces=("team-a",)),
    ]
    # Unfinished jobs: one in a namespace hpc does not list, none on local.
    load = {("hpc", "team-a"): 3, ("hpc", "adhoc"): 1, ("gone", "default"): 7}

    local, hpc = submit_slots(clusters, load, lock, PREFIX)

    assert local.queue_depth == 0
    assert [(s.namespace, s.holder_job_id, s.queue_depth) for s in local.slots] == [
        ("default", None, 0)
    ]
    assert hpc.queue_depth == 4
    assert [(s.namespace, s.holder_job_id, s.queue_depth) for s in hpc.slots] == [
        ("adhoc", None, 1),
        ("default", None, 0),
        ("team-a", "job-1", 3),
    ]
    held = hpc.slots[2]
    assert held.lock_key == f"{PREFIX}:hpc:team-a"
    assert held.ttl_ms is not None and 0 < held.ttl_ms <= 60_000
    assert all(s.ttl_ms is None for s in (*local.slots, *hpc.slots[:2]))
