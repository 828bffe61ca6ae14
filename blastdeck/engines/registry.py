"""The engine kinds BlastDeck knows: the built-in ones, and those plugins register.

Each engine module owns its `EngineKind` record (name, factory, settings, checks); this module
only collects them, so adding an engine touches its own module and one line here (or none, for
a plugin: `BLASTDECK_PLUGINS` modules call `register`).
"""

from __future__ import annotations

from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines import local, slurm
from blastdeck.engines.base import EngineKind

_KINDS: dict[str, EngineKind] = {kind.name: kind for kind in (local.KIND, slurm.KIND)}


def register(kind: EngineKind) -> None:
    """Add (or replace) an engine kind; for plugins."""
    _KINDS[kind.name] = kind


def engine_names() -> list[str]:
    return sorted(_KINDS)


def engine_kind(name: str) -> EngineKind:
    kind = _KINDS.get(name)
    if kind is None:
        raise BlastDeckError(
            ErrorCode.UNKNOWN_ENGINE,
            f"Unknown engine {str(name)[:40]!r}; available: {', '.join(sorted(_KINDS))}.",
            field="engine",
        )
    return kind
