"""How a command reaches BlastDeck: a running server (`--server`), or the local data dir.

The server side (settings, SQLAlchemy, Alembic, the pipeline) is imported here only when a
command works on the data dir; with `--server` the CLI needs nothing but httpx, so it starts
fast (tests/test_cli_startup.py holds it to that).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blastdeck.cli.output import fail, fail_with
from blastdeck.domain.errors import BlastDeckError, ErrorCode

if TYPE_CHECKING:
    from blastdeck.client import Backend
    from blastdeck.config import Settings
    from blastdeck.runtime import Runtime


def load_settings(**overrides: Any) -> Settings:
    """Settings, or a clear message and exit status 2 when the configuration is invalid."""
    from pydantic import ValidationError

    from blastdeck.config import load_settings as load

    try:
        return load(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_setting_problem(e) for e in exc.errors())
        fail_with(ErrorCode.INVALID_CONFIGURATION, problems)


def _setting_problem(error: Any) -> str:
    """One invalid setting, named as an operator sets it: `BLASTDECK_WORKERS (workers): Input
    should be ...`, or its place in the TOML file (`clusters[0].slots`); a rule across
    settings (no place) says which ones itself. The value is not repeated: it may be secret."""
    message = error["msg"].removeprefix("Value error, ")
    loc = [str(part) for part in error.get("loc", ())]
    if not loc:
        return message
    if len(loc) == 1:
        return f"BLASTDECK_{loc[0].upper()} ({loc[0]}): {message}"
    path = loc[0] + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in loc[1:])
    return f"{path} in the configuration file: {message}"


def backend(server: str | None, data_dir: Path | None, token: str | None = None) -> Backend:
    """The server at `server` over HTTP, else the data dir in this process."""
    if server:
        # httpx imports its own command-line client (click, pygments, rich.progress: ~0.1 s)
        # whenever click is installed; this CLI never runs it, so it is not imported.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
        from blastdeck.client import HttpBackend

        return HttpBackend(server, token)
    from blastdeck.client_local import LocalBackend
    from blastdeck.runtime import StartupError

    try:
        return LocalBackend(load_settings(data_dir=data_dir))
    except StartupError as exc:
        fail_with(ErrorCode.STARTUP_FAILED, str(exc))


@contextmanager
def reaching(server: str | None, data_dir: Path | None, token: str | None) -> Iterator[Backend]:
    """A backend for one command: its errors end the command as `error <code>: message`
    (exit status 2), and it is closed afterwards."""
    reached = backend(server, data_dir, token)
    try:
        yield reached
    except BlastDeckError as exc:
        fail(exc)
    finally:
        reached.close()


@contextmanager
def on_data_dir(data_dir: Path | None) -> Iterator[Runtime]:
    """The data dir's runtime, schema up to date (no demo databases built); errors exit 2."""
    from blastdeck.runtime import Runtime, StartupError

    runtime = Runtime(load_settings(data_dir=data_dir))
    try:
        runtime.migrate()
        yield runtime
    except StartupError as exc:
        fail_with(ErrorCode.STARTUP_FAILED, str(exc))
    except BlastDeckError as exc:
        fail(exc)
    finally:
        runtime.stop()
