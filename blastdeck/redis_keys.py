"""Every Redis key BlastDeck reads or writes, in one place.

The broker's own keys are listed too: the reconcile reads them to tell which jobs still have a
message (they are kombu's Redis transport layout, not ours to change).
"""

from __future__ import annotations

# The submit lock: "{prefix}:{cluster}:{namespace}" (locks.submit_lock_key), per the
# specification; the prefix is configurable (BLASTDECK_LOCK_PREFIX).
SUBMIT_LOCK_PREFIX = "elb:blast:elastic-blast-submit"

# kombu keeps a queue's messages in a list named after the queue, and one list per priority
# step with this separator; messages delivered but not yet acknowledged sit in one hash.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
BROKER_UNACKED_HASH = "unacked"


def broker_queue_lists(queue: str) -> list[str]:
    """The Redis lists that hold a queue's waiting messages."""
    return [queue, *(f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS)]


def maintenance_key(queue: str, task: str) -> str:
    """Taken (SET NX with an expiry) by the one worker of a deployment that runs `task` this
    period; a deployment is identified by its queue."""
    return f"blastdeck:{queue}:maintenance:{task}"


def metrics_key(queue: str, metric: str) -> str:
    """One hash per metric that workers add their observations to (`metrics.py`); a
    deployment is identified by its queue."""
    return f"blastdeck:{queue}:metrics:{metric}"
