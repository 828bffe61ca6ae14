"""Is a SLURM cluster usable from this host: its controller answers and the shared work dir
is writable. Checked when the cluster is added (`probe`) and shown in cluster listings."""

from __future__ import annotations

import os
from pathlib import Path

from blastdeck.blast_tools import tail
from blastdeck.domain.clusters import Cluster
from blastdeck.domain.errors import BlastDeckError, ErrorCode
from blastdeck.engines.base import EngineHealth
from blastdeck.engines.slurm_client import SlurmClient
from blastdeck.engines.slurm_settings import parse_settings

PING_TIMEOUT_S = 15.0


def check_health(cluster: Cluster, scratch_root: Path) -> EngineHealth:
    """The controller answers `scontrol ping` and the shared work dir is writable here."""
    conf = parse_settings(cluster.name, cluster.settings)
    checks: dict[str, object] = {"slurm_conf": conf.slurm_conf, "work_dir": str(conf.work_dir)}
    client = SlurmClient(cluster.name, conf.slurm_conf, conf.slurm_bin_dir)
    try:
        proc = client.command(["scontrol", "ping"], PING_TIMEOUT_S)
    except BlastDeckError as exc:
        return EngineHealth(False, exc.message, checks)
    said = tail(proc.stdout + proc.stderr, 300)
    checks["controller"] = said
    if proc.returncode != 0 or "UP" not in said:
        return EngineHealth(False, f"the SLURM controller does not answer: {said}", checks)
    if conf.work_dir is not None:
        try:
            conf.work_dir.mkdir(parents=True, exist_ok=True)
            writable = os.access(conf.work_dir, os.W_OK)
        except OSError:
            writable = False
        if not writable:
            return EngineHealth(False, f"work_dir {conf.work_dir} is not writable here", checks)
    return EngineHealth(True, said, checks)


def probe(cluster: Cluster, scratch_root: Path) -> None:
    health = check_health(cluster, scratch_root)
    if not health.ok:
        field = "settings.work_dir" if "work_dir" in health.detail else "settings.slurm_conf"
        raise BlastDeckError(
            ErrorCode.INVALID_CLUSTER_SETTING,
            f"Cluster {cluster.name}: {health.detail} (checked with the cluster's "
            f"slurm_conf={health.checks.get('slurm_conf') or 'SLURM default'}).",
            field=field,
        )
