"""Talking to a SLURM controller: client commands with timeouts, sbatch, a shared squeue view,
and the job-completion log. A controller that does not answer is `slurm_unavailable`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from blastdeck.blast_tools import tail
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines import slurm_cluster as sc

COMMAND_TIMEOUT_S = 60.0
SQUEUE_MIN_INTERVAL_S = 1.0  # squeue costs the controller an RPC: at most this often per job


class CommandTimeout(BlastDeckError):
    """A SLURM command got no answer in time (the controller is busy or down)."""


class SlurmClient:
    def __init__(self, cluster: str, slurm_conf: str | None, bin_dir: Path | None = None) -> None:
        self.cluster = cluster
        self._slurm_conf = slurm_conf
        self._bin_dir = bin_dir  # SLURM's client commands, when not on PATH
        self._squeue: tuple[float, dict[str, Any]] | None = None
        self._jobcomp_loc: str | None = None
        self._jobcomp_looked_up = False

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self._slurm_conf:
            env["SLURM_CONF"] = self._slurm_conf
        return env

    def submit_env(self) -> dict[str, str]:
        """sbatch's whole environment, which a job exports (`--export=ALL`): PATH (to find
        BLAST on the node as here) and where SLURM's configuration is; never BlastDeck's own
        settings. Exporting ALL of a clean environment, not a list of names: with a list (or
        NONE, NIL) slurmd builds each task's environment on the node, measured +0.15 s per task
        and the second task of an array launched ~1 s after the first."""
        env = {"PATH": os.environ.get("PATH", os.defpath)}
        if self._slurm_conf:
            env["SLURM_CONF"] = self._slurm_conf
        return env

    def command(
        self,
        argv: list[str],
        timeout_s: float = COMMAND_TIMEOUT_S,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command; the controller not answering is `slurm_unavailable`."""
        if self._bin_dir is not None:
            argv = [str(self._bin_dir / argv[0]), *argv[1:]]
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=env if env is not None else self.env(),
                timeout=timeout_s,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE,
                f"SLURM's {argv[0]} is not installed on this host (cluster {self.cluster}); "
                "BlastDeck must run where SLURM's client commands work.",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise CommandTimeout(
                ErrorCode.SLURM_UNAVAILABLE,
                f"{argv[0]} got no answer from the SLURM controller of cluster "
                f"{self.cluster} in {timeout_s:g} s.",
            ) from exc

    def sbatch(self, options: list[str], script: Path, timeout_s: float) -> int:
        try:
            argv = ["sbatch", "--parsable", *options, str(script)]
            proc = self.command(argv, timeout_s, env=self.submit_env())
        except CommandTimeout as exc:
            # The job may still have reached the controller: a retry adopts it by its name.
            raise BlastDeckError(
                ErrorCode.SUBMIT_TIMEOUT,
                f"sbatch did not return within {timeout_s:.0f} s (the submit timeout) on cluster "
                f"{self.cluster}; the submit is tried again (a job that did reach SLURM is "
                "adopted, never submitted twice).",
            ) from exc
        said = tail(proc.stderr + proc.stdout, 800)
        if proc.returncode != 0:
            if sc.looks_unavailable(said):
                raise BlastDeckError(
                    ErrorCode.SLURM_UNAVAILABLE,
                    f"The SLURM controller of cluster {self.cluster} did not answer: {said}",
                )
            raise BlastDeckError(
                ErrorCode.SLURM_SUBMIT_REJECTED,
                f"SLURM refused the job on cluster {self.cluster}: {said or 'no message'}",
            )
        try:
            return sc.sbatch_job_id(proc.stdout)
        except ValueError as exc:
            raise BlastDeckError(ErrorCode.SLURM_SUBMIT_REJECTED, str(exc)) from exc

    def squeue_doc(
        self, fresh: bool = False, timeout_s: float = COMMAND_TIMEOUT_S
    ) -> dict[str, Any]:
        """`squeue --json` (22.05 ignores -j with --json: callers filter), shared by every job
        of this cluster in this process for a second."""
        now = time.monotonic()
        if not fresh and self._squeue and now - self._squeue[0] < SQUEUE_MIN_INTERVAL_S:
            return self._squeue[1]
        proc = self.command(["squeue", "--json"], timeout_s)
        if proc.returncode != 0:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE,
                f"squeue failed on cluster {self.cluster}: {tail(proc.stderr, 500)}",
            )
        try:
            doc = json.loads(proc.stdout)
        except ValueError as exc:
            raise BlastDeckError(
                ErrorCode.SLURM_UNAVAILABLE, f"squeue printed no JSON: {proc.stdout[:200]!r}"
            ) from exc
        self._squeue = (time.monotonic(), doc)
        return doc

    def jobcomp_text(self) -> str:
        """The tail of the controller's job-completion log, when this host can read it."""
        if not self._jobcomp_looked_up:
            self._jobcomp_looked_up = True
            with contextlib.suppress(BlastDeckError):
                proc = self.command(["scontrol", "show", "config"])
                if proc.returncode == 0 and "jobcomp/filetxt" in proc.stdout:
                    self._jobcomp_loc = sc.config_value(proc.stdout, "JobCompLoc")
        if not self._jobcomp_loc:
            return ""
        try:
            with open(self._jobcomp_loc, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - (8 << 20)))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
