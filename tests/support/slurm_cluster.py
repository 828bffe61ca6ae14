"""A private single-node SLURM cluster (munged, slurmctld, slurmd) under one temp dir.

No systemd, nothing in /etc: its own munge key and socket, its own ports, state and logs, and
every daemon stopped by the PID it wrote. Used by tests/test_slurm.py and bench/slurm.py.
Memory is a consumable (CR_Core_Memory) and jobacct_gather kills a task over its --mem, so
"out of memory" is real without cgroups; every job gets DefMemPerCPU unless it asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
START_TIMEOUT_S = 30.0
REPO = Path(__file__).resolve().parents[2]


class SlurmUnavailable(RuntimeError):
    """The packages are missing or a daemon would not start: says which and why."""


def _free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each socket stays bound until all are picked (one at a time,
    the kernel handed the same port twice: slurmctld's and slurmd's, "slurmctld is talking with
    itself", in a CI run)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def ensure_installed() -> None:
    """Install the packages with scripts/ensure-slurm (apt, as root) when any is missing."""
    if all(shutil.which(tool) for tool in (*DAEMONS, "sbatch", "squeue", "scancel")):
        return
    script = REPO / "scripts" / "ensure-slurm"
    proc = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SlurmUnavailable(f"SLURM is not installed: {proc.stderr.strip()[-500:]}")


class PrivateSlurm:
    def __init__(self, root: Path, partition: str = "debug") -> None:
        self.root = root
        self.partition = partition
        self.conf = root / "slurm.conf"
        self.jobcomp = root / "jobcomp.txt"
        self.node = socket.gethostname().split(".")[0]
        self._pid_files = {
            "munged": root / "munge" / "munged.pid",
            "slurmctld": root / "slurmctld.pid",
            "slurmd": root / "slurmd.pid",
        }

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def start(self) -> PrivateSlurm:
        ensure_installed()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        munge = self.root / "munge"
        munge.mkdir(parents=True)
        munge.chmod(0o755)  # clients must reach the socket; the key stays 0400
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        socket_path = munge / "munge.sock"
        self._run(
            "munged",
            [
                "munged",
                "--force",
                f"--socket={socket_path}",
                f"--key-file={key}",
                f"--pid-file={self._pid_files['munged']}",
                f"--log-file={munge / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
        )
        for name in ("state", "spool", "log"):
            (self.root / name).mkdir()
        self.conf.write_text(self._slurm_conf(socket_path))
        self._run("slurmctld", ["slurmctld", "-c", "-f", str(self.conf)])
        self._run("slurmd", ["slurmd", "-N", self.node, "-f", str(self.conf)])
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%t"],
                capture_output=True,
                text=True,
                env=self.env,
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip() == "idle":
                return
            time.sleep(0.2)
        raise SlurmUnavailable(f"the SLURM node did not become idle:\n{self.log_tail()}")

    def _slurm_conf(self, munge_socket: Path) -> str:
        cpus = subprocess.run(
            ["slurmd", "-C"], capture_output=True, text=True, check=True
        ).stdout.splitlines()[0]
        # The node line from `slurmd -C`, renamed to the name slurmd is started with.
        hardware = " ".join(f for f in cpus.split() if not f.startswith("NodeName="))
        r = self.root
        controller_port, node_port = _free_ports(2)
        return f"""ClusterName=bd{os.getpid() % 100000}
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={controller_port}
SlurmdPort={node_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={r / "state"}
SlurmdSpoolDir={r / "spool"}
SlurmctldPidFile={self._pid_files["slurmctld"]}
SlurmdPidFile={self._pid_files["slurmd"]}
SlurmctldLogFile={r / "log" / "slurmctld.log"}
SlurmdLogFile={r / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
MailProg=/bin/true
SchedulerParameters=sched_interval=1
MinJobAge=30
KillWait=2
InactiveLimit=0
ReturnToService=2
NodeName={self.node} NodeAddr=127.0.0.1 {hardware}
PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

    def _run(self, name: str, argv: list[str]) -> None:
        """Start a daemon (each forks into the background and writes its PID file)."""
        env = self.env
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise SlurmUnavailable(
                f"{name} did not start ({proc.returncode}): {proc.stderr.strip()[-800:]}\n"
                f"{self.log_tail()}"
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._pid(name):
            if time.monotonic() > deadline:
                raise SlurmUnavailable(f"{name} wrote no PID file:\n{self.log_tail()}")
            time.sleep(0.05)

    def _pid(self, name: str) -> int | None:
        try:
            return int(self._pid_files[name].read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons by PID (slurmd, slurmctld, munged)."""
        if self._pid("slurmctld"):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["scancel", "--full", "--user=root"], env=self.env, timeout=10, check=False
                )
        for name in reversed(DAEMONS):
            pid = self._pid(name)
            if pid is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def squeue(self) -> list[dict]:
        out = subprocess.run(
            ["squeue", "--json"], capture_output=True, text=True, env=self.env, check=True
        )
        return json.loads(out.stdout)["jobs"]

    def active_jobs(self, name_prefix: str = "") -> list[str]:
        """Plain `squeue` (pending, running, completing jobs), optionally only those whose
        name starts with `name_prefix`: empty when nothing is left."""
        out = subprocess.run(
            ["squeue", "-h", "-o", "%i %T %j"],
            capture_output=True,
            text=True,
            env=self.env,
            check=True,
        )
        rows = [line.split(" ", 2) for line in out.stdout.splitlines() if line.strip()]
        return [f"{r[0]} {r[1]}" for r in rows if len(r) == 3 and r[2].startswith(name_prefix)]

    def log_tail(self, lines: int = 15) -> str:
        parts = []
        for path in sorted(self.root.glob("**/*.log")):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"== {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


def _alive(pid: int) -> bool:
    """Running, and not a zombie its (re)parent has yet to reap."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
