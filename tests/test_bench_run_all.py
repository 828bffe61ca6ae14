"""bench/run_all.py passes `--data DIR` only to the scripts that take it: any other script would
stop at once on an unknown option, and `make bench` would count it as one that could not run."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def run_all(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import run_all as module

    return module


def _script(path: Path, option: str) -> Path:
    path.write_text(
        "import argparse\n"
        "parser = argparse.ArgumentParser()\n"
        f"parser.add_argument({option!r})\n"
        "parser.parse_args()\n"
    )
    return path


@pytest.mark.parametrize(
    ("option", "takes"),
    [("--data", True), ("--data-root", False), ("--database", False), ("--rounds", False)],
)
def test_data_goes_only_to_scripts_that_take_it(
    run_all, tmp_path: Path, option: str, takes: bool
) -> None:
    assert run_all.takes_data(_script(tmp_path / "bench_x.py", option)) is takes


def test_the_repositorys_scripts_that_take_no_data_are_told_none(run_all) -> None:
    """job_overhead.py reads its sets from --data-root: `run_all --data` used to stop it."""
    assert run_all.takes_data(BENCH / "job_overhead.py") is False
    assert run_all.takes_data(BENCH / "foundation.py") is True
