"""The previous BlastDeck release, which upgrade tests start from (tests/test_upgrade.py).

`PREVIOUS_RELEASE` is the one place that names it: main as of the start of issue 11 (schema
revision 0005). Its code is taken from this repository's own history with `git archive` and
run as it was released: its CLI and its server, on the venv's Python and libraries, with
nothing of this checkout importable (`python -P`, and the extracted tree first on PYTHONPATH).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PREVIOUS_RELEASE = "1972ad9"
REPO = Path(__file__).resolve().parents[2]

# The release's `blastdeck` command: its own cli.main, with sys.argv as a console script has it.
_MAIN = "import sys; sys.argv[0] = 'blastdeck'; from blastdeck.cli import main; main()"
# Several of its commands in one process: the same cli app, each command's output after a
# separator line. A command that does not exit 0 ends the process with its exit code.
_SEPARATOR = "\x1e--- next command ---"
_MANY = f"""
import json, sys
sys.argv[0] = "blastdeck"
from blastdeck.cli import app
for args in json.loads(sys.argv[1]):
    print({_SEPARATOR!r}, flush=True)
    code = app(args, standalone_mode=False)
    sys.stdout.flush()
    if code:
        print(f"blastdeck {{' '.join(args)}} exited {{code}}", file=sys.stderr)
        sys.exit(code)
"""


def extract(destination: Path) -> PreviousRelease:
    """The previous release's tree under `destination`; fails (never skips) without history."""
    found = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "rev-parse",
            "--verify",
            "--quiet",
            f"{PREVIOUS_RELEASE}^{{commit}}",
        ],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        pytest.fail(
            f"The previous release {PREVIOUS_RELEASE} (tests/support/previous_release.py) is "
            f"not in the git history of {REPO}, so upgrades from it cannot be tested. Use a clone "
            "with "
            "full history (git fetch --unshallow, or a CI checkout with fetch-depth: 0). "
            f"git said: {found.stderr.strip() or found.stdout.strip() or 'nothing'}",
            pytrace=False,
        )
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", PREVIOUS_RELEASE],
        capture_output=True,
        check=True,
    )
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    release = PreviousRelease(destination)
    release.check_isolated()
    return release


class PreviousRelease:
    def __init__(self, root: Path) -> None:
        self.root = root

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment where `import blastdeck` is the previous release."""
        env = dict(os.environ if base is None else base)
        env["PYTHONPATH"] = str(self.root)
        return env

    def command(self, *args: str) -> list[str]:
        """The previous release's `blastdeck ARGS...` (-P: the working directory is not
        importable, so nothing of this checkout can take the old code's place)."""
        return [sys.executable, "-P", "-c", _MAIN, *args]

    def python(self, code: str) -> list[str]:
        return [sys.executable, "-P", "-c", code]

    def run(
        self, *args: str, env: dict[str, str], timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run the previous release's CLI to the end; fail the test if it fails."""
        done = subprocess.run(
            self.command(*args),
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if done.returncode != 0:
            pytest.fail(
                f"previous release: blastdeck {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}",
                pytrace=False,
            )
        return done

    def run_many(
        self, commands: list[list[str]], env: dict[str, str], timeout: float = 600
    ) -> list[str]:
        """Several commands of the previous release's CLI, run as `run` runs one but in one
        process (each start-up costs seconds); the output of each, in order."""
        done = subprocess.run(
            [sys.executable, "-P", "-c", _MANY, json.dumps(commands)],
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if done.returncode != 0:
            pytest.fail(
                f"previous release: {done.stderr[-3000:]}\n{done.stdout[-2000:]}", pytrace=False
            )
        outputs = done.stdout.split(_SEPARATOR + "\n")
        assert outputs[0] == "" and len(outputs) == len(commands) + 1, done.stdout[-2000:]
        return outputs[1:]

    def check_isolated(self) -> None:
        """The code the previous release's commands import is the extracted tree's."""
        where = subprocess.run(
            self.python("import blastdeck; print(blastdeck.__file__)"),
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout.strip()
        assert Path(where).resolve().is_relative_to(self.root.resolve()), (
            f"the previous release's commands import {where}, not the extracted release"
        )
